// Guest record: a guest session the store issued (its id is what `CartOwner.guest` carries).
//
// Record kind 14. Fields: 1 id (text, a lowercase UUID), 2 createdAt (sint, ms).

/// A guest session issued by ``Store/issueGuestID()``.
public struct Guest: Hashable, Sendable, Codable {
    /// The guest id (a lowercase UUID), which ``CartOwner/guest(_:)`` carries.
    public var id: String
    /// When the store issued it.
    public var createdAt: Timestamp

    /// A guest record.
    public init(id: String, createdAt: Timestamp) {
        self.id = id
        self.createdAt = createdAt
    }
}

extension Guest: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .guest)
        w.writeString(1, id)
        w.writeInt(2, createdAt.millisecondsSinceEpoch)
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .guest)
        id = try f.string(1)
        createdAt = Timestamp(millisecondsSinceEpoch: try f.int(2))
    }
}
