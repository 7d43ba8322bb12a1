// Order record and its companions.
//
// Order: record kind 10. Fields: 1 id (text), 2 user (text), 3 lines (message, repeated),
// 4 totalFen (sint), 5 commissionFen (sint), 6 idempotencyKey (text), 7 placedAt (sint, ms),
// 8 status (varint: 1 placed = awaiting payment, 2 settled, 3 cancelled, 4 paid, 5 expired),
// 9 statusChangedAt (sint, ms, optional), 10 paymentDueAt (sint, ms, optional: absent on orders
// placed before the purchase flow), 11 paidAt (sint, ms, optional).
// OrderLine message: 1 product (text), 2 partner (text), 3 recommendation (text, optional),
// 4 expert (text, optional), 5 quantity (sint), 6 unitPriceFen (sint), 7 lineTotalFen (sint),
// 8 commissionBasisPoints (sint), 9 commissionFen (sint), 10 title (text),
// 11 cancelledQuantity, 12 returnedQuantity, 13 restockedQuantity (sint, optional, absent when 0;
// an explicit 0 is refused as non-canonical).
//
// Idempotency: record kind 11. Fields: 1 order (text).
// Earning: record kind 12. Fields: 1 expert (text), 2 order (text), 3 commissionFen (sint),
// 4 status (varint, as the order's), 5 placedAt (sint, ms).
// Restock: record kind 13. Fields: 1 product (text), 2 units (sint), 3 at (sint, ms).
// Meta: record kind 1. Fields: 1 formatVersion (varint), 2 createdAt (sint, ms).
//
// Invariants: lineTotalFen == unitPriceFen * quantity;
//   commissionFen == lineTotalFen * commissionBasisPoints / 10000, rounded down (see `commission`);
//   totalFen == sum of lineTotalFen; order.commissionFen == sum of line commissionFen (both as at
//   checkout: after-sale changes are in the lines' cancelled/returned quantities);
//   0 <= restockedQuantity <= returnedQuantity; cancelledQuantity + returnedQuantity <= quantity.

/// Where an order is in its life (the machine is in Store+Payment.swift):
///
///     placed (awaiting payment) --confirm every partner--> paid --settle, after the window--> settled
///     placed --payment time passes--> expired        placed | paid --cancel--> cancelled
///
/// `placed` keeps its number and name from before the purchase flow, so old databases read as
/// they are: an old `placed` order has no `paymentDueAt`, never expires, and settles as a paid one.
public enum OrderStatus: UInt8, Hashable, Sendable, Codable {
    /// Checked out, awaiting payment at the partners (stock taken, commission pending).
    case placed = 1
    /// Commission payable (the settlement window passed); after-sale is by returns only.
    case settled = 2
    /// Cancelled: stock, recommendation quantity and commission given back.
    case cancelled = 3
    /// Every partner sub-order confirmed paid (commission pending until settled).
    case paid = 4
    /// Not paid in time: stock, recommendation quantity and commission given back.
    case expired = 5

    /// The state a checkout creates: `placed`, waiting for the partners' payment confirmations.
    public static var awaitingPayment: OrderStatus { .placed }

    /// Whether the order's commission counts in the expert's pending total.
    public var isPending: Bool { self == .placed || self == .paid }
    /// Whether the order is over without a sale (its live units were given back).
    public var isVoid: Bool { self == .cancelled || self == .expired }
}

/// One bought line: what, how many, at what price, and the expert's commission on it.
public struct OrderLine: Hashable, Sendable, Codable {
    /// The product bought.
    public var product: ProductID
    /// The partner platform that sells it (each partner is paid for its own lines).
    public var partner: PartnerID
    /// The recommendation it was bought through, or nil.
    public var recommendation: RecommendationID?
    /// The expert of that recommendation, who earns the commission, or nil.
    public var expert: ExpertID?
    /// Units bought at checkout.
    public var quantity: Int64
    /// The unit price in fen at checkout.
    public var unitPriceFen: Int64
    /// `quantity` × `unitPriceFen`, in fen.
    public var lineTotalFen: Int64
    /// The expert's rate at checkout (0 without a recommendation).
    public var commissionBasisPoints: Int64
    /// The expert's commission on the line, in fen (rounded down).
    public var commissionFen: Int64
    /// The product title at checkout.
    public var title: String
    /// Units cancelled (before settlement: given back to stock and to the recommendation).
    public var cancelledQuantity: Int64 = 0
    /// Units returned and refunded after payment.
    public var returnedQuantity: Int64 = 0
    /// Of the returned units, those put back in stock (and in the recommendation's quantity).
    public var restockedQuantity: Int64 = 0

    /// Units the buyer keeps: the commission is on these.
    public var keptQuantity: Int64 { quantity &- cancelledQuantity &- returnedQuantity }
    /// Units out of stock because of this line (counted in the product's `sold`).
    public var soldQuantity: Int64 { quantity &- cancelledQuantity &- restockedQuantity }

    /// An order line; the after-sale quantities start at 0.
    public init(
        product: ProductID, partner: PartnerID, recommendation: RecommendationID?, expert: ExpertID?,
        quantity: Int64, unitPriceFen: Int64, lineTotalFen: Int64, commissionBasisPoints: Int64,
        commissionFen: Int64, title: String, cancelledQuantity: Int64 = 0, returnedQuantity: Int64 = 0,
        restockedQuantity: Int64 = 0
    ) {
        self.cancelledQuantity = cancelledQuantity
        self.returnedQuantity = returnedQuantity
        self.restockedQuantity = restockedQuantity
        self.product = product
        self.partner = partner
        self.recommendation = recommendation
        self.expert = expert
        self.quantity = quantity
        self.unitPriceFen = unitPriceFen
        self.lineTotalFen = lineTotalFen
        self.commissionBasisPoints = commissionBasisPoints
        self.commissionFen = commissionFen
        self.title = title
    }

    // Codable by hand only so that the after-sale quantities are left out at 0 and optional when
    // read, as in the record: dumps of orders without after-sale stay as they were.
    enum CodingKeys: String, CodingKey {
        case product, partner, recommendation, expert, quantity, unitPriceFen, lineTotalFen, commissionBasisPoints
        case commissionFen, title, cancelledQuantity, returnedQuantity, restockedQuantity
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        product = try c.decode(ProductID.self, forKey: .product)
        partner = try c.decode(PartnerID.self, forKey: .partner)
        recommendation = try c.decodeIfPresent(RecommendationID.self, forKey: .recommendation)
        expert = try c.decodeIfPresent(ExpertID.self, forKey: .expert)
        quantity = try c.decode(Int64.self, forKey: .quantity)
        unitPriceFen = try c.decode(Int64.self, forKey: .unitPriceFen)
        lineTotalFen = try c.decode(Int64.self, forKey: .lineTotalFen)
        commissionBasisPoints = try c.decode(Int64.self, forKey: .commissionBasisPoints)
        commissionFen = try c.decode(Int64.self, forKey: .commissionFen)
        title = try c.decode(String.self, forKey: .title)
        cancelledQuantity = try c.decodeIfPresent(Int64.self, forKey: .cancelledQuantity) ?? 0
        returnedQuantity = try c.decodeIfPresent(Int64.self, forKey: .returnedQuantity) ?? 0
        restockedQuantity = try c.decodeIfPresent(Int64.self, forKey: .restockedQuantity) ?? 0
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(product, forKey: .product)
        try c.encode(partner, forKey: .partner)
        try c.encodeIfPresent(recommendation, forKey: .recommendation)
        try c.encodeIfPresent(expert, forKey: .expert)
        try c.encode(quantity, forKey: .quantity)
        try c.encode(unitPriceFen, forKey: .unitPriceFen)
        try c.encode(lineTotalFen, forKey: .lineTotalFen)
        try c.encode(commissionBasisPoints, forKey: .commissionBasisPoints)
        try c.encode(commissionFen, forKey: .commissionFen)
        try c.encode(title, forKey: .title)
        if cancelledQuantity != 0 { try c.encode(cancelledQuantity, forKey: .cancelledQuantity) }
        if returnedQuantity != 0 { try c.encode(returnedQuantity, forKey: .returnedQuantity) }
        if restockedQuantity != 0 { try c.encode(restockedQuantity, forKey: .restockedQuantity) }
    }
}

/// A placed order.
public struct Order: Hashable, Sendable, Codable {
    /// The order's id.
    public var id: OrderID
    /// The buyer.
    public var user: UserID
    /// The lines, one per product and recommendation.
    public var lines: [OrderLine]
    /// The sum of the lines' totals at checkout, in fen.
    public var totalFen: Int64
    /// Sum of the lines' commissions.
    public var commissionFen: Int64
    /// The checkout's idempotency key (a retry with it returns this order).
    public var idempotencyKey: String
    /// When the order was placed.
    public var placedAt: Timestamp
    /// Where the order is in its life (see ``OrderStatus``).
    public var status: OrderStatus
    /// When the order last changed status.
    public var statusChangedAt: Timestamp?
    /// When an unpaid order expires (checkout time + the payment window); nil on orders placed
    /// before the purchase flow, which never expire.
    public var paymentDueAt: Timestamp?
    /// When the last partner sub-order was confirmed paid.
    public var paidAt: Timestamp?

    /// An order.
    public init(
        id: OrderID, user: UserID, lines: [OrderLine], totalFen: Int64, commissionFen: Int64,
        idempotencyKey: String, placedAt: Timestamp, status: OrderStatus, statusChangedAt: Timestamp? = nil,
        paymentDueAt: Timestamp? = nil, paidAt: Timestamp? = nil
    ) {
        self.paymentDueAt = paymentDueAt
        self.paidAt = paidAt
        self.id = id
        self.user = user
        self.lines = lines
        self.totalFen = totalFen
        self.commissionFen = commissionFen
        self.idempotencyKey = idempotencyKey
        self.placedAt = placedAt
        self.status = status
        self.statusChangedAt = statusChangedAt
    }
}

/// The commission on `lineTotalFen` at `basisPoints`: `lineTotalFen * basisPoints / 10000`,
/// computed exactly and rounded down to the fen (the remainder stays with the platform).
/// With both inputs non-negative, "down" is toward zero.
///
/// - Throws: ``VitrineError/amountOverflow(field:)`` if the product overflows 64 bits.
public func commission(onLineTotal lineTotalFen: Int64, basisPoints: Int64) throws -> Int64 {
    let (product, overflow) = lineTotalFen.multipliedReportingOverflow(by: basisPoints)
    if overflow { throw VitrineError.amountOverflow(field: "commission") }
    return product / 10_000
}

extension Order: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .order)
        w.writeString(1, id.rawValue)
        w.writeString(2, user.rawValue)
        for line in lines {
            w.writeMessage(3) { m in
                m.writeString(1, line.product.rawValue)
                m.writeString(2, line.partner.rawValue)
                m.writeOptionalString(3, line.recommendation?.rawValue)
                m.writeOptionalString(4, line.expert?.rawValue)
                m.writeInt(5, line.quantity)
                m.writeInt(6, line.unitPriceFen)
                m.writeInt(7, line.lineTotalFen)
                m.writeInt(8, line.commissionBasisPoints)
                m.writeInt(9, line.commissionFen)
                m.writeString(10, line.title)
                if line.cancelledQuantity != 0 { m.writeInt(11, line.cancelledQuantity) }
                if line.returnedQuantity != 0 { m.writeInt(12, line.returnedQuantity) }
                if line.restockedQuantity != 0 { m.writeInt(13, line.restockedQuantity) }
            }
        }
        w.writeInt(4, totalFen)
        w.writeInt(5, commissionFen)
        w.writeString(6, idempotencyKey)
        w.writeInt(7, placedAt.millisecondsSinceEpoch)
        w.writeUInt(8, UInt64(status.rawValue))
        w.writeOptionalInt(9, statusChangedAt?.millisecondsSinceEpoch)
        w.writeOptionalInt(10, paymentDueAt?.millisecondsSinceEpoch)
        w.writeOptionalInt(11, paidAt?.millisecondsSinceEpoch)
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .order)
        id = OrderID(try f.string(1))
        user = UserID(try f.string(2))
        lines = try f.messages(3).map { m in
            OrderLine(
                product: ProductID(try m.string(1)),
                partner: PartnerID(try m.string(2)),
                recommendation: try m.optionalString(3).map(RecommendationID.init(rawValue:)),
                expert: try m.optionalString(4).map(ExpertID.init(rawValue:)),
                quantity: try m.int(5),
                unitPriceFen: try m.int(6),
                lineTotalFen: try m.int(7),
                commissionBasisPoints: try m.int(8),
                commissionFen: try m.int(9),
                title: try m.string(10),
                cancelledQuantity: try nonZero(m, 11), returnedQuantity: try nonZero(m, 12),
                restockedQuantity: try nonZero(m, 13))
        }
        totalFen = try f.int(4)
        commissionFen = try f.int(5)
        idempotencyKey = try f.string(6)
        placedAt = Timestamp(millisecondsSinceEpoch: try f.int(7))
        status = try f.uint8(8, as: OrderStatus.self)
        statusChangedAt = try f.optionalInt(9).map(Timestamp.init(millisecondsSinceEpoch:))
        paymentDueAt = try f.optionalInt(10).map(Timestamp.init(millisecondsSinceEpoch:))
        paidAt = try f.optionalInt(11).map(Timestamp.init(millisecondsSinceEpoch:))
    }
}

/// An optional quantity field that is absent when 0 (an explicit 0 is not canonical).
private func nonZero(_ m: RecordFields, _ field: Int) throws -> Int64 {
    guard let v = try m.optionalInt(field) else { return 0 }
    if v == 0 { throw FormatError.invalidValue(field: field, reason: "0 must be absent") }
    return v
}

/// An expert's commission from one order.
public struct OrderEarning: Hashable, Sendable, Codable {
    /// The expert who earns it.
    public var expert: ExpertID
    /// The order.
    public var order: OrderID
    /// The expert's commission on the order, in fen.
    public var commissionFen: Int64
    /// Placed or paid: pending; settled: payable; cancelled or expired: reversed (counts nowhere).
    /// `commissionFen` is the commission on the units the buyer keeps (less cancelled and
    /// returned ones) while the order is live.
    public var status: OrderStatus
    /// When the order was placed.
    public var placedAt: Timestamp

    /// An expert's earning on one order.
    public init(expert: ExpertID, order: OrderID, commissionFen: Int64, status: OrderStatus, placedAt: Timestamp) {
        self.expert = expert
        self.order = order
        self.commissionFen = commissionFen
        self.status = status
        self.placedAt = placedAt
    }
}

extension OrderEarning: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .earning)
        w.writeString(1, expert.rawValue)
        w.writeString(2, order.rawValue)
        w.writeInt(3, commissionFen)
        w.writeUInt(4, UInt64(status.rawValue))
        w.writeInt(5, placedAt.millisecondsSinceEpoch)
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .earning)
        expert = ExpertID(try f.string(1))
        order = OrderID(try f.string(2))
        commissionFen = try f.int(3)
        status = try f.uint8(4, as: OrderStatus.self)
        placedAt = Timestamp(millisecondsSinceEpoch: try f.int(5))
    }
}

/// The order an idempotency key already produced.
struct IdempotencyRecord: BinaryRecord, Hashable {
    var order: OrderID

    var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .idempotency)
        w.writeString(1, order.rawValue)
        return w.bytes
    }

    init(order: OrderID) { self.order = order }

    init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .idempotency)
        order = OrderID(try f.string(1))
    }
}

/// A restock already applied (so a retried restock adds nothing).
struct RestockRecord: BinaryRecord, Hashable {
    var product: ProductID
    var units: Int64
    var at: Timestamp

    var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .restock)
        w.writeString(1, product.rawValue)
        w.writeInt(2, units)
        w.writeInt(3, at.millisecondsSinceEpoch)
        return w.bytes
    }

    init(product: ProductID, units: Int64, at: Timestamp) {
        self.product = product
        self.units = units
        self.at = at
    }

    init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .restock)
        product = ProductID(try f.string(1))
        units = try f.int(2)
        at = Timestamp(millisecondsSinceEpoch: try f.int(3))
    }
}

/// The store's format marker, under `("meta", "format")`.
struct MetaRecord: BinaryRecord, Hashable {
    /// 2: discovery entries, the idempotency retention index and issued guests; 3: the idle-guest
    /// index (Store+Upgrade.swift).
    static let currentFormatVersion: UInt64 = 3
    var formatVersion: UInt64
    var createdAt: Timestamp

    var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .meta)
        w.writeUInt(1, formatVersion)
        w.writeInt(2, createdAt.millisecondsSinceEpoch)
        return w.bytes
    }

    init(formatVersion: UInt64, createdAt: Timestamp) {
        self.formatVersion = formatVersion
        self.createdAt = createdAt
    }

    init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .meta)
        formatVersion = try f.uint(1)
        createdAt = Timestamp(millisecondsSinceEpoch: try f.int(2))
    }
}
