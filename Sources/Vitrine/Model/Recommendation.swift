// Recommendation record.
//
// Record kind 6. Fields: 1 id (text), 2 expert (text), 3 product (text), 4 category (text, the
// product's category when posted; the showcase indexes use it), 5 reason (text),
// 6 offeredQuantity (sint), 7 quantity (sint), 8 createdAt (sint, ms), 9 status (varint:
// 1 active, 2 withdrawn), 10 withdrawnAt (sint, ms, optional).
//
// Invariant: 0 <= quantity <= offeredQuantity, and
//   quantity == offeredQuantity - units of live orders bought through this recommendation.

/// Whether a recommendation is shown.
public enum RecommendationStatus: UInt8, Hashable, Sendable, Codable {
    /// Shown in its expert's showcase and the feeds.
    case active = 1
    /// Taken down by the expert: no longer shown or bought through.
    case withdrawn = 2
}

/// An expert's recommendation of a product, with the quantity offered through it.
public struct Recommendation: Hashable, Sendable, Codable {
    /// The recommendation's id.
    public var id: RecommendationID
    /// The recommending expert.
    public var expert: ExpertID
    /// The recommended product.
    public var product: ProductID
    /// The product's category when the recommendation was posted.
    public var category: String
    /// Why the expert recommends it (Unicode; Chinese round-trips exactly).
    public var reason: String
    /// Units offered through this recommendation when posted.
    public var offeredQuantity: Int64
    /// Units still offered through this recommendation (checkout decrements it; never below 0).
    public var quantity: Int64
    /// When it was posted (showcases and feeds are newest first).
    public var createdAt: Timestamp
    /// Active or withdrawn.
    public var status: RecommendationStatus
    /// When it was withdrawn, or nil.
    public var withdrawnAt: Timestamp?

    /// A recommendation.
    public init(
        id: RecommendationID, expert: ExpertID, product: ProductID, category: String, reason: String,
        offeredQuantity: Int64, quantity: Int64, createdAt: Timestamp,
        status: RecommendationStatus = .active, withdrawnAt: Timestamp? = nil
    ) {
        self.id = id
        self.expert = expert
        self.product = product
        self.category = category
        self.reason = reason
        self.offeredQuantity = offeredQuantity
        self.quantity = quantity
        self.createdAt = createdAt
        self.status = status
        self.withdrawnAt = withdrawnAt
    }
}

extension Recommendation: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .recommendation)
        w.writeString(1, id.rawValue)
        w.writeString(2, expert.rawValue)
        w.writeString(3, product.rawValue)
        w.writeString(4, category)
        w.writeString(5, reason)
        w.writeInt(6, offeredQuantity)
        w.writeInt(7, quantity)
        w.writeInt(8, createdAt.millisecondsSinceEpoch)
        w.writeUInt(9, UInt64(status.rawValue))
        w.writeOptionalInt(10, withdrawnAt?.millisecondsSinceEpoch)
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .recommendation)
        id = RecommendationID(try f.string(1))
        expert = ExpertID(try f.string(2))
        product = ProductID(try f.string(3))
        category = try f.string(4)
        reason = try f.string(5)
        offeredQuantity = try f.int(6)
        quantity = try f.int(7)
        createdAt = Timestamp(millisecondsSinceEpoch: try f.int(8))
        status = try f.uint8(9, as: RecommendationStatus.self)
        withdrawnAt = try f.optionalInt(10).map(Timestamp.init(millisecondsSinceEpoch:))
    }
}
