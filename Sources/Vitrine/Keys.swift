// The key layout: every table and index, as tuples (see Coding/Tuple.swift for the encoding).
// formats/records.md is the authoritative description; this is its implementation.
//
//   ("meta", "format")                                  -> Meta record
//   ("partner", partnerID)                              -> Partner
//   ("product", productID)                              -> Product
//   ("expert", expertID)                                -> Expert
//   ("user", userID)                                    -> User
//   ("rec", recommendationID)                           -> Recommendation
//   ("showcase", expertID, createdAt, recID)            -> empty   (active recommendations only)
//   ("showcase_cat", expertID, category, createdAt, recID) -> empty
//   ("feed", category, createdAt, recID)                -> empty
//   ("fav", userID, productID)                          -> Favourite
//   ("fav_time", userID, addedAt, productID)            -> empty
//   ("cart", ownerKind, ownerID, productID, recID|null) -> CartLine
//   ("hold", productID, recID|null, ownerKind, ownerID) -> Hold
//   ("hold_exp", expiresAt, productID, recID|null, ownerKind, ownerID) -> empty
//   ("order", orderID)                                  -> Order
//   ("order_user", userID, placedAt, orderID)           -> empty
//   ("idem", userID, idempotencyKey)                    -> Idempotency record
//   ("idem_time", placedAt, userID, idempotencyKey)     -> empty   (the retention sweep's index)
//   ("earn", expertID, orderID)                         -> Earning record
//   ("earn_total", expertID, "pending" | "settled")     -> 8-byte little-endian Int64 (atomicAdd)
//   ("restock", productID, restockKey)                  -> Restock record
//   ("guest", guestID)                                  -> Guest record
//   ("guest_time", lastActivity, guestID)               -> empty   (the idle-guest sweep's index)
//   ("order_due", paymentDueAt, orderID)                -> empty   (orders awaiting payment)
//   ("pay", orderID, partnerID)                         -> Payment record (a confirmed sub-order)
//   ("pay_ref", partnerID, reference, orderID)          -> empty   (one order per partner reference)
//   ("prod_cat", category, productID)                   -> empty   (products by category)
//   ("prod_merch", merchantHash, productID)             -> empty   (products by merchant)
//   ("prod_partner", partnerID, productID)              -> empty   (products by partner)
//
// Times are integers (ms since the epoch); ownerKind is 1 (user) or 2 (guest); recID|null is the
// recommendation id or the tuple null when the line did not come from a recommendation.
// Every id is at most 128 bytes, idempotency keys too, and categories at most 64 bytes, so no key
// comes near 10 KB. Every string in a key is written as the caller's UTF-8 bytes, never
// normalized; the operations accept only key strings in one byte form (NFC, no control or
// invisible characters: `keyTextProblem` in Model/Identifiers.swift), and compare them in memory
// by those same bytes.

enum Keys {
    static func rec(_ id: RecommendationID?) -> TupleElement {
        id.map { .string($0.rawValue) } ?? .null
    }

    static func owner(_ o: CartOwner) -> [TupleElement] {
        [.int(Int64(o.kindCode)), .string(o.idString)]
    }

    static let meta: [UInt8] = Tuple(["meta", "format"]).packed

    static func partner(_ id: PartnerID) -> [UInt8] { Tuple(["partner", .string(id.rawValue)]).packed }
    static let partners: Tuple = ["partner"]

    static func product(_ id: ProductID) -> [UInt8] { Tuple(["product", .string(id.rawValue)]).packed }
    static let products: Tuple = ["product"]

    static func expert(_ id: ExpertID) -> [UInt8] { Tuple(["expert", .string(id.rawValue)]).packed }
    static let experts: Tuple = ["expert"]

    static func user(_ id: UserID) -> [UInt8] { Tuple(["user", .string(id.rawValue)]).packed }
    static let users: Tuple = ["user"]

    static func recommendation(_ id: RecommendationID) -> [UInt8] { Tuple(["rec", .string(id.rawValue)]).packed }
    static let recommendations: Tuple = ["rec"]

    static func showcase(_ expert: ExpertID) -> Tuple { ["showcase", .string(expert.rawValue)] }
    static func showcase(_ expert: ExpertID, category: String) -> Tuple {
        ["showcase_cat", .string(expert.rawValue), .string(category)]
    }
    static func feed(_ category: String) -> Tuple { ["feed", .string(category)] }

    /// The showcase and feed entries of one recommendation.
    static func indexEntries(of r: Recommendation) -> [[UInt8]] {
        let tail: [TupleElement] = [.int(r.createdAt.millisecondsSinceEpoch), .string(r.id.rawValue)]
        return [
            Tuple(showcase(r.expert).elements + tail).packed,
            Tuple(showcase(r.expert, category: r.category).elements + tail).packed,
            Tuple(feed(r.category).elements + tail).packed,
        ]
    }
    static let showcaseAll: Tuple = ["showcase"]
    static let showcaseCategoryAll: Tuple = ["showcase_cat"]
    static let feedAll: Tuple = ["feed"]

    static func favourite(_ user: UserID, _ product: ProductID) -> [UInt8] {
        Tuple(["fav", .string(user.rawValue), .string(product.rawValue)]).packed
    }
    static func favouritesByTime(_ user: UserID) -> Tuple { ["fav_time", .string(user.rawValue)] }
    static func favouriteByTime(_ f: Favourite) -> [UInt8] {
        favouritesByTime(f.user).appending(.int(f.addedAt.millisecondsSinceEpoch)).appending(.string(f.product.rawValue)).packed
    }
    static let favourites: Tuple = ["fav"]

    static func cart(_ owner: CartOwner) -> Tuple { Tuple(["cart"] + Keys.owner(owner)) }
    static func cartLine(_ owner: CartOwner, _ product: ProductID, _ recommendation: RecommendationID?) -> [UInt8] {
        cart(owner).appending(.string(product.rawValue)).appending(rec(recommendation)).packed
    }
    /// One owner's lines of one product (one per recommendation).
    static func cartLines(_ owner: CartOwner, _ product: ProductID) -> Tuple { cart(owner).appending(.string(product.rawValue)) }
    static let carts: Tuple = ["cart"]

    static func holds(_ product: ProductID) -> Tuple { ["hold", .string(product.rawValue)] }
    static func hold(_ h: Hold) -> [UInt8] {
        hold(h.product, h.recommendation, h.owner)
    }
    static func hold(_ product: ProductID, _ recommendation: RecommendationID?, _ owner: CartOwner) -> [UInt8] {
        Tuple(holds(product).elements + [rec(recommendation)] + Keys.owner(owner)).packed
    }
    static func holdExpiry(_ h: Hold) -> [UInt8] {
        Tuple(
            ["hold_exp", .int(h.expiresAt.millisecondsSinceEpoch), .string(h.product.rawValue), rec(h.recommendation)]
                + Keys.owner(h.owner)
        ).packed
    }
    /// Expiry entries with `expiresAt <= now`.
    static func holdExpiries(upTo now: Timestamp) -> (begin: [UInt8], end: [UInt8]) {
        let all = Tuple(["hold_exp"]).range
        let (next, overflow) = now.millisecondsSinceEpoch.addingReportingOverflow(1)
        return (all.begin, overflow ? all.end : Tuple(["hold_exp", .int(next)]).packed)
    }
    static let allHolds: Tuple = ["hold"]

    static func order(_ id: OrderID) -> [UInt8] { Tuple(["order", .string(id.rawValue)]).packed }
    static let orders: Tuple = ["order"]
    static func ordersOfUser(_ user: UserID) -> Tuple { ["order_user", .string(user.rawValue)] }
    static func orderOfUser(_ o: Order) -> [UInt8] {
        ordersOfUser(o.user).appending(.int(o.placedAt.millisecondsSinceEpoch)).appending(.string(o.id.rawValue)).packed
    }

    static func idempotency(_ user: UserID, _ key: String) -> [UInt8] {
        Tuple(["idem", .string(user.rawValue), .string(key)]).packed
    }
    static func idempotencyByTime(_ placedAt: Timestamp, _ user: UserID, _ key: String) -> [UInt8] {
        Tuple(["idem_time", .int(placedAt.millisecondsSinceEpoch), .string(user.rawValue), .string(key)]).packed
    }
    /// Index entries of keys whose order was placed at or before `cutoff`.
    static func idempotencyByTime(upTo cutoff: Timestamp) -> (begin: [UInt8], end: [UInt8]) {
        let all = Tuple(["idem_time"]).range
        let (next, overflow) = cutoff.millisecondsSinceEpoch.addingReportingOverflow(1)
        return (all.begin, overflow ? all.end : Tuple(["idem_time", .int(next)]).packed)
    }

    static func earnings(_ expert: ExpertID) -> Tuple { ["earn", .string(expert.rawValue)] }
    static func earning(_ expert: ExpertID, _ order: OrderID) -> [UInt8] {
        earnings(expert).appending(.string(order.rawValue)).packed
    }
    static let allEarnings: Tuple = ["earn"]
    static func pendingTotal(_ expert: ExpertID) -> [UInt8] { Tuple(["earn_total", .string(expert.rawValue), "pending"]).packed }
    static func settledTotal(_ expert: ExpertID) -> [UInt8] { Tuple(["earn_total", .string(expert.rawValue), "settled"]).packed }

    static func guest(_ id: String) -> [UInt8] { Tuple(["guest", .string(id)]).packed }
    static let guests: Tuple = ["guest"]
    /// The idle-guest sweep's index entry of a guest: at its last activity.
    static func guestActivity(_ g: Guest) -> [UInt8] {
        Tuple(["guest_time", .int(g.lastActivity.millisecondsSinceEpoch), .string(g.id)]).packed
    }
    static let guestActivities: Tuple = ["guest_time"]
    /// Index entries of guests last active at or before `cutoff`.
    static func guestActivities(upTo cutoff: Timestamp) -> (begin: [UInt8], end: [UInt8]) {
        let all = guestActivities.range
        let (next, overflow) = cutoff.millisecondsSinceEpoch.addingReportingOverflow(1)
        return (all.begin, overflow ? all.end : Tuple(["guest_time", .int(next)]).packed)
    }

    static func restock(_ product: ProductID, _ key: String) -> [UInt8] {
        Tuple(["restock", .string(product.rawValue), .string(key)]).packed
    }

    // The purchase flow (Store+Payment.swift).
    static let ordersDue: Tuple = ["order_due"]
    static func orderDue(_ o: Order) -> [UInt8]? {
        o.paymentDueAt.map { Tuple(["order_due", .int($0.millisecondsSinceEpoch), .string(o.id.rawValue)]).packed }
    }
    /// Due entries with `paymentDueAt <= now`.
    static func ordersDue(upTo now: Timestamp) -> (begin: [UInt8], end: [UInt8]) {
        let all = ordersDue.range
        let (next, overflow) = now.millisecondsSinceEpoch.addingReportingOverflow(1)
        return (all.begin, overflow ? all.end : Tuple(["order_due", .int(next)]).packed)
    }
    static func payments(_ order: OrderID) -> Tuple { ["pay", .string(order.rawValue)] }
    static func payment(_ order: OrderID, _ partner: PartnerID) -> [UInt8] {
        payments(order).appending(.string(partner.rawValue)).packed
    }
    static let allPayments: Tuple = ["pay"]
    static func paymentReferences(_ partner: PartnerID, _ reference: String) -> Tuple {
        ["pay_ref", .string(partner.rawValue), .string(reference)]
    }
    static func paymentReference(_ p: Payment) -> [UInt8] {
        paymentReferences(p.partner, p.reference).appending(.string(p.order.rawValue)).packed
    }
    static let allPaymentReferences: Tuple = ["pay_ref"]

    // Discovery (Store+Discovery.swift): products by category, merchant and partner, by product id.
    static func productsInCategory(_ category: String) -> Tuple { ["prod_cat", .string(category)] }
    static func productsOfMerchant(_ merchant: String) -> Tuple { ["prod_merch", .int(merchantHash(merchant))] }
    static func productsOfPartner(_ partner: PartnerID) -> Tuple { ["prod_partner", .string(partner.rawValue)] }
    static let productIndexTables: [Tuple] = [["prod_cat"], ["prod_merch"], ["prod_partner"]]

    /// The three discovery entries of a product.
    static func productIndexEntries(of p: Product) -> [[UInt8]] {
        [productsInCategory(p.category), productsOfMerchant(p.merchant), productsOfPartner(p.partner)]
            .map { $0.appending(.string(p.id.rawValue)).packed }
    }

    /// The merchant's place in `prod_merch`: 64-bit FNV-1a of its UTF-8 bytes, as a signed
    /// integer. A merchant name may be 1024 bytes, as long as a whole key may be, so the index
    /// holds this hash; readers compare the product's merchant bytes to skip a collision.
    static func merchantHash(_ merchant: String) -> Int64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in merchant.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: h)
    }
}
