// Guest record: a guest session the store issued (its id is what `CartOwner.guest` carries).
//
// Record kind 14. Fields: 1 id (text, a lowercase UUID), 2 createdAt (sint, ms), 3 lastActiveAt
// (sint, ms, optional: absent until the guest's first cart change, and in records written before
// format version 3; the guest's last activity is then its createdAt).

/// A guest session issued by ``Store/issueGuestID()``.
public struct Guest: Hashable, Sendable, Codable {
    /// The guest id (a lowercase UUID), which ``CartOwner/guest(_:)`` carries.
    public var id: String
    /// When the store issued it.
    public var createdAt: Timestamp
    /// When the guest last changed its cart (or was touched, ``Store/touchGuest(_:)``); nil when
    /// it has not since it was issued.
    public var lastActiveAt: Timestamp?

    /// A guest record.
    public init(id: String, createdAt: Timestamp, lastActiveAt: Timestamp? = nil) {
        self.id = id
        self.createdAt = createdAt
        self.lastActiveAt = lastActiveAt
    }

    /// The guest's last activity: ``lastActiveAt``, else ``createdAt``. A guest idle for longer
    /// than ``Configuration/guestRetention`` is removed by ``Store/sweepIdleGuests(limit:)``.
    public var lastActivity: Timestamp { lastActiveAt ?? createdAt }
}

extension Guest: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .guest)
        w.writeString(1, id)
        w.writeInt(2, createdAt.millisecondsSinceEpoch)
        if let lastActiveAt { w.writeInt(3, lastActiveAt.millisecondsSinceEpoch) }
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .guest)
        id = try f.string(1)
        createdAt = Timestamp(millisecondsSinceEpoch: try f.int(2))
        lastActiveAt = try f.optionalInt(3).map { Timestamp(millisecondsSinceEpoch: $0) }
    }
}
