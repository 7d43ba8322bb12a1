// The demo/import catalogue: a JSON document (seeds/README.md describes it field by field).
//
//   { "format": "vitrine-catalogue", "version": 1,
//     "partners": [...], "experts": [...], "products": [...], "recommendations": [...],
//     "users": [...], "favourites": [...] }
//
// Every list is optional (missing means empty). Money is integer fen, times integer milliseconds
// since the epoch. Loading rejects malformed JSON, a wrong format or version, and duplicate ids
// with `VitrineError.invalidCatalogue` naming where; importing applies every domain check.

import Foundation

/// A catalogue to import: partners, experts, products, recommendations, users and favourites.
public struct Catalogue: Hashable, Sendable, Codable {
    /// The `format` every catalogue file carries: "vitrine-catalogue".
    public static let formatName = "vitrine-catalogue"
    /// The catalogue format version this library reads and writes.
    public static let currentVersion = 1

    /// A product as listed in a catalogue: its stock ledger starts at `initialStock`.
    public struct ProductEntry: Hashable, Sendable, Codable {
        /// The product's id.
        public var id: ProductID
        /// The partner platform that sells it (a registered partner).
        public var partner: PartnerID
        /// The `https` link on the partner platform; it must pass the partner link policy.
        public var link: String
        /// The product's title.
        public var title: String
        /// Unit price in fen (1 yuan = 100 fen).
        public var priceFen: Int64
        /// The merchant (shop) on the partner platform.
        public var merchant: String
        /// The product's category.
        public var category: String
        /// Whether the product is on sale; absent means on sale.
        public var onSale: Bool?
        /// The units the product starts with (its stock ledger's `initialStock`).
        public var initialStock: Int64
        /// How long add-to-cart holds units of this product, in seconds; absent uses the store's configuration.
        public var reservationHoldSeconds: Int64?

        /// A product entry; `onSale` nil means on sale, `reservationHoldSeconds` nil the store's default.
        public init(
            id: ProductID, partner: PartnerID, link: String, title: String, priceFen: Int64, merchant: String,
            category: String, onSale: Bool? = nil, initialStock: Int64, reservationHoldSeconds: Int64? = nil
        ) {
            self.id = id
            self.partner = partner
            self.link = link
            self.title = title
            self.priceFen = priceFen
            self.merchant = merchant
            self.category = category
            self.onSale = onSale
            self.initialStock = initialStock
            self.reservationHoldSeconds = reservationHoldSeconds
        }

        /// The product record this entry creates.
        public var product: Product {
            Product(
                id: id, partner: partner, link: link, title: title, priceFen: priceFen, merchant: merchant,
                category: category, isOnSale: onSale ?? true, initialStock: initialStock,
                reservationHoldSeconds: reservationHoldSeconds)
        }
    }

    /// A recommendation as listed in a catalogue.
    public struct RecommendationEntry: Hashable, Sendable, Codable {
        /// The recommendation's id.
        public var id: RecommendationID
        /// The recommending expert.
        public var expert: ExpertID
        /// The recommended product.
        public var product: ProductID
        /// Why the expert recommends it (at most the configured reason length).
        public var reason: String
        /// Units offered through the recommendation (at least 1).
        public var quantity: Int64
        /// When it was posted (it orders showcases and feeds, newest first).
        public var createdAt: Timestamp

        /// A recommendation entry.
        public init(id: RecommendationID, expert: ExpertID, product: ProductID, reason: String, quantity: Int64, createdAt: Timestamp) {
            self.id = id
            self.expert = expert
            self.product = product
            self.reason = reason
            self.quantity = quantity
            self.createdAt = createdAt
        }
    }

    /// Always ``Catalogue/formatName``; a file with another value is refused.
    public var format: String
    /// The format version, ``Catalogue/currentVersion``.
    public var version: Int
    /// Partner platforms whose links the catalogue uses.
    public var partners: [Partner]
    /// The experts (达人).
    public var experts: [Expert]
    /// The products, with their starting stock.
    public var products: [ProductEntry]
    /// The experts' recommendations.
    public var recommendations: [RecommendationEntry]
    /// Signed-in users and their interests.
    public var users: [User]
    /// Users' favourite products.
    public var favourites: [Favourite]

    /// A catalogue of the current format and version with these lists.
    public init(
        partners: [Partner] = [], experts: [Expert] = [], products: [ProductEntry] = [],
        recommendations: [RecommendationEntry] = [], users: [User] = [], favourites: [Favourite] = []
    ) {
        self.format = Self.formatName
        self.version = Self.currentVersion
        self.partners = partners
        self.experts = experts
        self.products = products
        self.recommendations = recommendations
        self.users = users
        self.favourites = favourites
    }

    enum CodingKeys: String, CodingKey {
        case format, version, partners, experts, products, recommendations, users, favourites
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        format = try c.decode(String.self, forKey: .format)
        version = try c.decode(Int.self, forKey: .version)
        partners = try c.decodeIfPresent([Partner].self, forKey: .partners) ?? []
        experts = try c.decodeIfPresent([Expert].self, forKey: .experts) ?? []
        products = try c.decodeIfPresent([ProductEntry].self, forKey: .products) ?? []
        recommendations = try c.decodeIfPresent([RecommendationEntry].self, forKey: .recommendations) ?? []
        users = try c.decodeIfPresent([User].self, forKey: .users) ?? []
        favourites = try c.decodeIfPresent([Favourite].self, forKey: .favourites) ?? []
    }

    /// Reads a catalogue from JSON.
    /// - Throws: ``VitrineError/invalidCatalogue(_:)`` naming the place and the problem: malformed
    ///   JSON, a missing or mistyped field, another format or version, a duplicate id.
    public init(json: Data) throws {
        do {
            self = try JSONDecoder().decode(Catalogue.self, from: json)
        } catch let error as DecodingError {
            throw VitrineError.invalidCatalogue(Self.describe(error))
        } catch {
            throw VitrineError.invalidCatalogue("not valid JSON: \(error)")
        }
        guard format == Self.formatName else {
            throw VitrineError.invalidCatalogue("format is \"\(format)\", expected \"\(Self.formatName)\"")
        }
        guard version == Self.currentVersion else {
            throw VitrineError.invalidCatalogue("version \(version) is not supported (this library reads \(Self.currentVersion))")
        }
        try Self.checkUnique(partners.map(\.id.rawValue), "partners")
        try Self.checkUnique(experts.map(\.id.rawValue), "experts")
        try Self.checkUnique(products.map(\.id.rawValue), "products")
        try Self.checkUnique(recommendations.map(\.id.rawValue), "recommendations")
        try Self.checkUnique(users.map(\.id.rawValue), "users")
        try Self.checkUnique(favourites.map { "\($0.user.rawValue) → \($0.product.rawValue)" }, "favourites")
    }

    /// Reads a catalogue from a JSON file.
    /// - Throws: ``VitrineError/invalidCatalogue(_:)``, or the file system's error when it cannot be read.
    public init(contentsOf url: URL) throws {
        try self.init(json: try Data(contentsOf: url))
    }

    /// The catalogue as JSON: sorted keys, pretty-printed, so that equal catalogues give equal bytes.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    private static func checkUnique(_ ids: [String], _ list: String) throws {
        var seen = Set<String>()
        for (i, id) in ids.enumerated() where !seen.insert(id).inserted {
            throw VitrineError.invalidCatalogue("\(list)[\(i)]: duplicate id \"\(id)\"")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            let p = keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return p.isEmpty ? "top level" : String(p.drop { $0 == "." })
        }
        switch error {
        case .dataCorrupted(let c):
            return "\(path(c.codingPath)): \(c.debugDescription)\(c.underlyingError.map { " (\($0))" } ?? "")"
        case .keyNotFound(let key, let c):
            return "\(path(c.codingPath + [key])): missing"
        case .typeMismatch(let type, let c):
            return "\(path(c.codingPath)): expected \(type)"
        case .valueNotFound(let type, let c):
            return "\(path(c.codingPath)): expected \(type), found null"
        @unknown default:
            return "\(error)"
        }
    }
}

/// What an import wrote.
public struct ImportSummary: Hashable, Sendable {
    /// Partners written.
    public var partners = 0
    /// Experts written.
    public var experts = 0
    /// Products written.
    public var products = 0
    /// Recommendations written.
    public var recommendations = 0
    /// Users written.
    public var users = 0
    /// Favourites written.
    public var favourites = 0
}

extension Store {
    /// Imports a catalogue, in transactions of at most `batchSize` records each, in dependency
    /// order (partners, experts, products, users, recommendations, favourites).
    ///
    /// Partners are the whitelist, changed only by the administrative ``upsertPartner(_:)`` (and
    /// the configuration), never by an import. A partner the catalogue lists must be registered
    /// already with the same name and domains (listing it only documents what the catalogue's links
    /// rely on); one that is not registered is refused, unless `addingPartners` is true: then it is
    /// validated as ``upsertPartner(_:)`` would and added. Either way, every partner is checked
    /// before anything is written.
    ///
    /// Safe to repeat: products keep their ledger, recommendations and favourites that exist are
    /// left as they are. Not atomic as a whole: a failure leaves the batches before it imported.
    ///
    /// - Throws: ``VitrineError/invalidCatalogue(_:)`` for a partner that differs from the
    ///   registered one, or is new while `addingPartners` is false; whatever the single operations
    ///   throw for an entry (``VitrineError/unknownPartner(_:)``,
    ///   ``VitrineError/linkHostNotAllowed(host:partner:allowedDomains:)``, ``VitrineError/reasonTooLong(length:limit:)``,
    ///   ``VitrineError/invalidArgument(field:reason:)``, ...); backend errors.
    @discardableResult
    public func importCatalogue(_ catalogue: Catalogue, batchSize: Int = 256, addingPartners: Bool = false) throws -> ImportSummary {
        guard batchSize >= 1 else { throw VitrineError.invalidArgument(field: "batchSize", reason: "must be positive") }
        var summary = ImportSummary()
        for p in catalogue.partners { try Self.validate(p) }
        let newPartners = try backend.read { tx in try Self.newPartners(in: catalogue.partners, tx) }
        if !newPartners.isEmpty && !addingPartners {
            let (i, p) = newPartners[0]
            throw VitrineError.invalidCatalogue(
                "partners[\(i)]: partner \"\(p.id)\" is not registered; partners are added by the administrative upsertPartner (or an import that allows adding partners)"
            )
        }
        try batches(newPartners.map(\.partner), batchSize) { tx, p in
            // Checked again inside the write: a partner registered meanwhile is never replaced.
            guard try tx.load(Partner.self, Keys.partner(p.id)) == nil else { return }
            try tx.store(p, Keys.partner(p.id))
        }
        summary.partners = catalogue.partners.count

        for e in catalogue.experts { try Self.validateFields(of: e) }
        try batches(catalogue.experts, batchSize) { tx, e in try tx.store(e, Keys.expert(e.id)) }
        summary.experts = catalogue.experts.count

        let products = catalogue.products.map(\.product)
        for p in products { try Self.validateFields(of: p) }
        try batches(products, batchSize) { tx, p in _ = try Self.writeProduct(tx, p) }
        summary.products = products.count

        for u in catalogue.users { try Self.validateFields(of: u) }
        try batches(catalogue.users, batchSize) { tx, u in try tx.store(u, Keys.user(u.id)) }
        summary.users = catalogue.users.count

        for r in catalogue.recommendations {
            try r.id.validate()
            try r.expert.validate()
            try r.product.validate()
            try validateReason(r.reason)
            guard r.quantity >= 1 else { throw VitrineError.quantityOutOfRange(r.quantity, allowed: 1...Int64.max) }
        }
        try batches(catalogue.recommendations, batchSize) { tx, r in
            _ = try Self.writeRecommendation(
                tx, id: r.id, expert: r.expert, product: r.product, reason: r.reason, quantity: r.quantity, createdAt: r.createdAt)
        }
        summary.recommendations = catalogue.recommendations.count

        for f in catalogue.favourites {
            try f.user.validate()
            try f.product.validate()
        }
        try batches(catalogue.favourites, batchSize) { tx, f in
            _ = try Self.writeFavourite(tx, user: f.user, product: f.product, addedAt: f.addedAt)
        }
        summary.favourites = catalogue.favourites.count
        return summary
    }

    /// The listed partners not registered yet, with their index in the list.
    /// - Throws: ``VitrineError/invalidCatalogue(_:)`` for a listed partner that differs from the
    ///   registered one.
    private static func newPartners<R: OrderedKeyValueReader>(in partners: [Partner], _ tx: R) throws -> [(index: Int, partner: Partner)] {
        var new: [(index: Int, partner: Partner)] = []
        for (i, p) in partners.enumerated() {
            guard let stored = try tx.load(Partner.self, Keys.partner(p.id)) else {
                new.append((i, p))
                continue
            }
            guard stored.name == p.name, Set(stored.domains) == Set(p.domains) else {
                throw VitrineError.invalidCatalogue(
                    "partners[\(i)]: partner \"\(p.id)\" differs from the registered one (name \"\(stored.name)\", "
                        + "domains \(stored.domains.joined(separator: ", "))); a catalogue never changes a partner, upsertPartner does")
            }
        }
        return new
    }

    private func batches<T>(_ items: [T], _ size: Int, _ body: (Backend.Writer, T) throws -> Void) throws {
        var start = 0
        while start < items.count {
            let end = min(items.count, start + size)
            try backend.write { tx in
                for item in items[start..<end] { try body(tx, item) }
            }
            start = end
        }
    }
}
