// Favourite record.
//
// Record kind 7. Fields: 1 user (text), 2 product (text), 3 addedAt (sint, ms).

/// A user's favourite product.
public struct Favourite: Hashable, Sendable, Codable {
    /// Whose favourite.
    public var user: UserID
    /// The favourite product.
    public var product: ProductID
    /// When it was added (favourites list newest first).
    public var addedAt: Timestamp

    /// A favourite.
    public init(user: UserID, product: ProductID, addedAt: Timestamp) {
        self.user = user
        self.product = product
        self.addedAt = addedAt
    }
}

extension Favourite: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .favourite)
        w.writeString(1, user.rawValue)
        w.writeString(2, product.rawValue)
        w.writeInt(3, addedAt.millisecondsSinceEpoch)
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .favourite)
        user = UserID(try f.string(1))
        product = ProductID(try f.string(2))
        addedAt = Timestamp(millisecondsSinceEpoch: try f.int(3))
    }
}
