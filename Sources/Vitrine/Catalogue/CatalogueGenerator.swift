// A deterministic catalogue generator: the same seed and size always give the same catalogue,
// byte for byte, on every platform. Every item is a pure function of (seed, kind, index), so a
// catalogue of millions of products can be produced in pieces (`product(at:)`, or
// `catalogue(size, products: range)`) without holding it all in memory.
//
// Shape: products cycle through the categories (product i is in category i mod 8); expert e's
// first category is category e mod 8, and each of their recommendations is of a product in one
// of their categories. Ids are zero-padded: "exp-0007", "prd-000042", "rec-000042", "user-0003".
// Times start at 2015-06-01T00:00:00Z (the article's season) and move forward with the index.
//
// The random source is SplitMix64, specified here so a second implementation can reproduce it:
//   state += 0x9E3779B97F4A7C15; z = state;
//   z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
//   return z ^ (z >> 31)                     (all arithmetic wrapping, on UInt64)
// seeded per item with seed ^ (kind << 56) ^ index * 0x9E3779B97F4A7C15.

/// How big a generated catalogue is.
public struct CatalogueSize: Hashable, Sendable, Codable {
    /// Experts (at least 1).
    public var experts: Int
    /// Products (at least 1).
    public var products: Int
    /// Recommendations, spread over the experts.
    public var recommendations: Int
    /// Users.
    public var users: Int
    /// The most favourites each user has.
    public var favouritesPerUser: Int

    /// A size; counts below their minimum are raised to it (negative counts to 0).
    public init(experts: Int, products: Int, recommendations: Int, users: Int, favouritesPerUser: Int = 5) {
        self.experts = max(1, experts)
        self.products = max(1, products)
        self.recommendations = max(0, recommendations)
        self.users = max(0, users)
        self.favouritesPerUser = max(0, favouritesPerUser)
    }

    /// The checked-in demo: 36 experts, 320 products, 480 recommendations, 24 users.
    public static let demo = CatalogueSize(experts: 36, products: 320, recommendations: 480, users: 24)

    /// `products` products with proportionate experts, recommendations and users.
    public static func scaled(products: Int) -> CatalogueSize {
        CatalogueSize(
            experts: max(8, products / 10), products: products, recommendations: products + products / 2,
            users: max(4, products / 12))
    }
}

/// Makes deterministic demo catalogues of any size from a seed.
public struct CatalogueGenerator: Sendable {
    /// The seed every item is derived from: the same seed and size give the same catalogue.
    public let seed: UInt64

    /// A generator for `seed` (the checked-in demo uses 20150601).
    public init(seed: UInt64) { self.seed = seed }

    /// 2015-06-01T00:00:00Z.
    public static let epoch = Timestamp(millisecondsSinceEpoch: 1_433_116_800_000)

    /// The whole catalogue of `size` (or only `products` of it, with everything else whole).
    public func catalogue(_ size: CatalogueSize, products: Range<Int>? = nil) -> Catalogue {
        let productRange = products ?? 0..<size.products
        var allFavourites: [Favourite] = []
        for u in 0..<size.users {
            var seen = Set<ProductID>()
            for f in favourites(ofUser: u, size) where seen.insert(f.product).inserted { allFavourites.append(f) }
        }
        return Catalogue(
            partners: Partner.defaults,
            experts: (0..<size.experts).map { expert(at: $0) },
            products: productRange.clamped(to: 0..<size.products).map { product(at: $0) },
            recommendations: (0..<size.recommendations).map { recommendation(at: $0, size) },
            users: (0..<size.users).map { user(at: $0) },
            favourites: allFavourites)
    }

    // MARK: Items

    /// The categories generated items belong to.
    public static let categories = ["beauty", "fashion", "food", "home", "digital", "baby", "outdoor", "books"]

    /// The `i`th expert (the same for the same seed, whatever the size).
    public func expert(at i: Int) -> Expert {
        var rng = random(.expert, i)
        let primary = Self.slot(i)
        var categories = [Self.categories[primary]]
        let extra = Self.categories[Int(rng.below(UInt64(Self.categories.count)))]
        if extra != categories[0] && rng.below(2) == 0 { categories.append(extra) }
        let name = pick(Flavour.expertNames[primary], &rng)
        return Expert(
            id: ExpertID(String(format6: i, width: 4, prefix: "exp-")),
            displayName: "\(name)\(i / Self.categories.count &+ 1)",
            categories: categories,
            commissionBasisPoints: Int64(300 + 50 * rng.below(35)))
    }

    /// The `i`th product (the same for the same seed, whatever the size).
    public func product(at i: Int) -> Catalogue.ProductEntry {
        var rng = random(.product, i)
        let c = Self.slot(i)
        let item = pick(Flavour.items[c], &rng)
        let adjective = pick(Flavour.adjectives, &rng)
        let partnerIndex = Int(rng.below(10)) // 5 Tmall, 3 Taobao, 2 Weimai
        let itemNumber = 520_000_000_000 &+ UInt64(truncatingIfNeeded: i) &* 7 &+ rng.below(7)
        let brand = pick(Flavour.brands, &rng)
        let (partner, link, merchant): (PartnerID, String, String)
        switch partnerIndex {
        case 0..<5: (partner, link, merchant) = ("tmall", "https://detail.tmall.com/item.htm?id=\(itemNumber)", "\(brand)官方旗舰店")
        case 5..<8: (partner, link, merchant) = ("taobao", "https://item.taobao.com/item.htm?id=\(itemNumber)", "\(brand)的小店")
        default: (partner, link, merchant) = ("weimai", "https://weimai.com/item/\(itemNumber)", "\(brand)微卖小铺")
        }
        let band = Flavour.priceBands[c]
        let yuan = band.lowerBound + Int64(rng.below(UInt64(band.upperBound - band.lowerBound + 1)))
        return Catalogue.ProductEntry(
            id: ProductID(String(format6: i, width: 6, prefix: "prd-")),
            partner: partner, link: link, title: "\(brand) \(adjective)\(item)", priceFen: yuan * 100 - 10,
            merchant: merchant, category: Self.categories[c], initialStock: Int64(20 + rng.below(481)))
    }

    /// The `i`th recommendation of a catalogue of `size` (its expert and product are chosen within it).
    public func recommendation(at i: Int, _ size: CatalogueSize) -> Catalogue.RecommendationEntry {
        var rng = random(.recommendation, i)
        let e = Int(rng.below(UInt64(size.experts)))
        let expert = expert(at: e)
        let category = Self.categories.firstIndex(of: expert.categories[Int(rng.below(UInt64(expert.categories.count)))]) ?? 0
        // A product index in that category: c, c + 8, c + 16, ...
        let perCategory = max(1, (size.products - category + Self.categories.count - 1) / Self.categories.count)
        var p = category + Self.categories.count * Int(rng.below(UInt64(perCategory)))
        if p >= size.products { p = min(size.products - 1, category) }
        let product = product(at: p)
        let english = rng.below(3) == 0
        let reason: String
        if english {
            reason = "\(pick(Flavour.openingsEN, &rng)) \(pick(Flavour.detailsEN[category], &rng)) \(pick(Flavour.closingsEN, &rng))"
        } else {
            reason = "\(pick(Flavour.openingsZH, &rng))\(pick(Flavour.detailsZH[category], &rng))\(pick(Flavour.closingsZH, &rng))"
        }
        return Catalogue.RecommendationEntry(
            id: RecommendationID(String(format6: i, width: 6, prefix: "rec-")),
            expert: expert.id, product: product.id, reason: reason,
            quantity: Int64(5 + rng.below(96)),
            createdAt: Self.epoch.adding(milliseconds: Int64(truncatingIfNeeded: i) &* 1_800_000 &+ Int64(rng.below(1_800_000))))
    }

    /// The `i`th user.
    public func user(at i: Int) -> User {
        var rng = random(.user, i)
        let first = Self.categories[Int(rng.below(UInt64(Self.categories.count)))]
        var interests = [first]
        let second = Self.categories[Int(rng.below(UInt64(Self.categories.count)))]
        if second != first { interests.append(second) }
        return User(
            id: UserID(String(format6: i, width: 4, prefix: "user-")),
            displayName: pick(Flavour.userNames, &rng) + String(i &+ 1), interests: interests)
    }

    /// The favourites of user `u` in a catalogue of `size` (products within it, each at most once).
    public func favourites(ofUser u: Int, _ size: CatalogueSize) -> [Favourite] {
        var rng = random(.favourite, u)
        let user = user(at: u)
        return (0..<size.favouritesPerUser).map { k in
            Favourite(
                user: user.id, product: product(at: Int(rng.below(UInt64(size.products)))).id,
                addedAt: Self.epoch.adding(milliseconds: 86_400_000 * 30 &+ Int64(truncatingIfNeeded: u) &* 3_600_000 &+ Int64(k) &* 60_000)
            )
        }
    }

    /// The category slot of index `i` (0..<8, also for negative `i`).
    static func slot(_ i: Int) -> Int {
        let n = categories.count
        return ((i % n) + n) % n
    }

    // MARK: Randomness

    enum Kind: UInt64 {
        case expert = 1
        case product, recommendation, user, favourite
    }

    func random(_ kind: Kind, _ index: Int) -> SplitMix64 {
        SplitMix64(state: seed ^ (kind.rawValue << 56) ^ (UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15))
    }

    func pick(_ list: [String], _ rng: inout SplitMix64) -> String {
        list[Int(rng.below(UInt64(list.count)))]
    }
}

/// SplitMix64 (see the top of this file).
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A value in 0..<bound (bound > 0), by modulo: simple, reproducible, bias irrelevant here.
    mutating func below(_ bound: UInt64) -> UInt64 {
        bound <= 1 ? 0 : next() % bound
    }
}

extension String {
    /// `prefix` followed by `value` zero-padded to `width` digits.
    init(format6 value: Int, width: Int, prefix: String) {
        let digits = String(value)
        self = prefix + String(repeating: "0", count: Swift.max(0, width - digits.count)) + digits
    }
}
