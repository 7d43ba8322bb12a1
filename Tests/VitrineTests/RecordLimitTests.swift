// Every record and key fits FoundationDB's limits at the configured maxima (issue 15, "Why" 7):
// values < 100,000 bytes, keys < 10,000 bytes. Each record is built with every text at its
// longest, every list full, every integer at its widest varint (Int64.min: 10 bytes zigzagged),
// and every optional field present.

import Testing

@testable import Vitrine

@Suite struct RecordLimitTests {
    static let valueLimit = 100_000
    static let keyLimit = 10_000

    /// `bytes` bytes of UTF-8 (three-byte characters, then ASCII to make up the rest).
    static func text(_ bytes: Int) -> String {
        String(repeating: "面", count: bytes / 3) + String(repeating: "x", count: bytes % 3)
    }
    static let id = text(maxIdentifierBytes)
    static let requestID = text(Limits.requestIDBytes)
    static let category = text(Limits.categoryBytes)
    static let wide: Int64 = .min
    static let time = Timestamp(millisecondsSinceEpoch: .min)

    /// An order of `lines` lines with every field at its longest.
    static func largestOrder(lines: Int) -> Order {
        let line = OrderLine(
            product: ProductID(id), partner: PartnerID(id), recommendation: RecommendationID(id), expert: ExpertID(id),
            quantity: wide, unitPriceFen: wide, lineTotalFen: wide, commissionBasisPoints: wide, commissionFen: wide,
            title: text(Limits.textBytes))
        return Order(
            id: OrderID(id), user: UserID(id), lines: Array(repeating: line, count: lines), totalFen: wide, commissionFen: wide,
            idempotencyKey: requestID, placedAt: time, status: .cancelled, statusChangedAt: time)
    }

    /// The largest order the default configuration and the largest allowed one can place fits one value.
    @Test(arguments: [Configuration.standard.maxCartLines, Configuration.maxCartLinesUpperBound])
    func largestOrderFitsOneValue(lines: Int) {
        let bytes = Self.largestOrder(lines: lines).recordBytes.count
        #expect(bytes < Self.valueLimit, "a \(lines)-line order at the maxima is \(bytes) bytes")
    }

    /// Every other record kind, at its maxima (reasons at the largest allowed reason length).
    @Test func everyRecordKindFitsOneValue() {
        let id = Self.id, wide = Self.wide, time = Self.time
        let categories = Array(repeating: Self.category, count: Limits.listCount)
        var product = Product(
            id: ProductID(id), partner: PartnerID(id), link: Self.text(Limits.linkBytes), title: Self.text(Limits.textBytes),
            priceFen: wide, merchant: Self.text(Limits.textBytes), category: Self.category, initialStock: wide,
            reservationHoldSeconds: wide)
        (product.stock, product.restocked, product.sold) = (wide, wide, wide)
        let reasonBytes = Configuration.maxReasonLengthUpperBound * 4
        let records: [(String, [UInt8])] = [
            ("meta", MetaRecord(formatVersion: .max, createdAt: time).recordBytes),
            (
                "partner",
                Partner(
                    id: PartnerID(id), name: Self.text(Limits.textBytes),
                    domains: Array(repeating: Self.text(Limits.domainBytes), count: Limits.listCount)
                ).recordBytes
            ),
            ("product", product.recordBytes),
            (
                "expert",
                Expert(
                    id: ExpertID(id), displayName: Self.text(Limits.textBytes), categories: categories,
                    commissionBasisPoints: wide
                ).recordBytes
            ),
            ("user", User(id: UserID(id), displayName: Self.text(Limits.textBytes), interests: categories).recordBytes),
            (
                "rec",
                Recommendation(
                    id: RecommendationID(id), expert: ExpertID(id), product: ProductID(id), category: Self.category,
                    reason: String(repeating: "😀", count: reasonBytes / 4), offeredQuantity: wide, quantity: wide,
                    createdAt: time, status: .withdrawn, withdrawnAt: time
                ).recordBytes
            ),
            ("fav", Favourite(user: UserID(id), product: ProductID(id), addedAt: time).recordBytes),
            (
                "cart",
                CartLine(
                    product: ProductID(id), recommendation: RecommendationID(id), quantity: wide, unitPriceFen: wide,
                    addedAt: time, lastRequestID: Self.requestID, holdsGranted: .max
                ).recordBytes
            ),
            (
                "hold",
                Hold(
                    owner: .guest(Self.requestID), product: ProductID(id), recommendation: RecommendationID(id),
                    quantity: wide, expiresAt: time
                ).recordBytes
            ),
            ("idem", IdempotencyRecord(order: OrderID(id)).recordBytes),
            (
                "earn",
                OrderEarning(
                    expert: ExpertID(id), order: OrderID(id), commissionFen: wide, status: .cancelled,
                    placedAt: time
                ).recordBytes
            ),
            ("restock", RestockRecord(product: ProductID(id), units: wide, at: time).recordBytes),
            ("guest", Guest(id: Self.requestID, createdAt: time).recordBytes),
        ]
        for (kind, bytes) in records {
            #expect(bytes.count < Self.valueLimit, "\(kind) at the maxima is \(bytes.count) bytes")
        }
    }

    /// Every key at its longest.
    @Test func everyKeyFits() {
        let (user, product, expert) = (UserID(Self.id), ProductID(Self.id), ExpertID(Self.id))
        let rec = RecommendationID(Self.id)
        let owner = CartOwner.guest(Self.requestID)
        let hold = Hold(owner: owner, product: product, recommendation: rec, quantity: 1, expiresAt: Self.time)
        let recommendation = Recommendation(
            id: rec, expert: expert, product: product, category: Self.category, reason: "r", offeredQuantity: 1, quantity: 1,
            createdAt: Self.time)
        var keys: [[UInt8]] = [
            Keys.meta, Keys.partner(PartnerID(Self.id)), Keys.product(product), Keys.expert(expert), Keys.user(user),
            Keys.recommendation(rec), Keys.favourite(user, product),
            Keys.favouriteByTime(Favourite(user: user, product: product, addedAt: Self.time)),
            Keys.cartLine(owner, product, rec), Keys.hold(hold), Keys.holdExpiry(hold), Keys.order(OrderID(Self.id)),
            Keys.orderOfUser(Self.largestOrder(lines: 1)), Keys.idempotency(user, Self.requestID),
            Keys.earning(expert, OrderID(Self.id)), Keys.pendingTotal(expert), Keys.settledTotal(expert),
            Keys.restock(product, Self.requestID), Keys.guest(Self.requestID),
        ]
        keys += Keys.indexEntries(of: recommendation)
        keys += Keys.productIndexEntries(
            of: Product(
                id: product, partner: PartnerID(Self.id), link: "https://detail.tmall.com/", title: "t", priceFen: 1,
                merchant: Self.text(Limits.textBytes), category: Self.category, initialStock: 1))
        for key in keys {
            #expect(key.count < Self.keyLimit, "\(Tuple.describe(key).prefix(40)) is \(key.count) bytes")
        }
    }

    /// A configuration past the bounds is refused, with the field named.
    @Test func absurdLimitsAreRefused() throws {
        for (field, adjust) in [
            ("maxCartLines", { (c: inout Configuration) in c.maxCartLines = 1_000_000 }),
            ("maxCartLines", { (c: inout Configuration) in c.maxCartLines = Int.max }),
            ("maxReasonLength", { (c: inout Configuration) in c.maxReasonLength = Int.max }),
        ] as [(String, (inout Configuration) -> Void)] {
            #expect {
                _ = try makeStore(adjust)
            } throws: { error in
                guard case VitrineError.invalidArgument(let f, _) = error else { return false }
                return f == field
            }
        }
        // The bounds themselves are fine.
        _ = try makeStore {
            $0.maxCartLines = Configuration.maxCartLinesUpperBound
            $0.maxReasonLength = Configuration.maxReasonLengthUpperBound
        }
    }

    /// A cart filled under a larger limit is not bought as one oversized order.
    @Test func checkoutRefusesMoreLinesThanTheLimit() throws {
        let f = try Fixture { $0.maxCartLines = 3 }
        for p in f.products { try f.store.addToCart(.user("u"), product: p.id) }
        var smaller = f.store.configuration
        smaller.maxCartLines = 2
        let store = try Store(backend: f.store.backend, configuration: smaller)
        #expect(throws: VitrineError.cartFull(limit: 2)) { try store.checkout(user: "u", idempotencyKey: "k") }
        #expect(try store.orders(of: "u").items.isEmpty)
    }
}
