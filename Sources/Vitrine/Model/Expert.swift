// Expert and user records.
//
// Expert: record kind 4. Fields: 1 id (text), 2 displayName (text), 3 categories (text, repeated),
// 4 commissionBasisPoints (sint, 0...10000).
// User: record kind 5. Fields: 1 id (text), 2 displayName (text), 3 interests (text, repeated).

/// An expert (达人): the influencer who recommends products and earns commission on them.
public struct Expert: Hashable, Sendable, Codable {
    /// The expert's id.
    public var id: ExpertID
    /// The name readers see.
    public var displayName: String
    /// Categories of expertise.
    public var categories: [String]
    /// Commission on sales through this expert's recommendations, in basis points
    /// (1/100 of a percent: 800 is 8%). 0...10000.
    public var commissionBasisPoints: Int64

    /// An expert.
    public init(id: ExpertID, displayName: String, categories: [String], commissionBasisPoints: Int64) {
        self.id = id
        self.displayName = displayName
        self.categories = categories
        self.commissionBasisPoints = commissionBasisPoints
    }
}

extension Expert: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .expert)
        w.writeString(1, id.rawValue)
        w.writeString(2, displayName)
        for c in categories { w.writeString(3, c) }
        w.writeInt(4, commissionBasisPoints)
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .expert)
        id = ExpertID(try f.string(1))
        displayName = try f.string(2)
        categories = try f.strings(3)
        commissionBasisPoints = try f.int(4)
    }
}

/// A signed-in user: display name and the categories of the interest feed.
public struct User: Hashable, Sendable, Codable {
    /// The user's id.
    public var id: UserID
    /// The name shown for the user.
    public var displayName: String
    /// Categories the user follows (the interest feed's default).
    public var interests: [String]

    /// A user.
    public init(id: UserID, displayName: String, interests: [String]) {
        self.id = id
        self.displayName = displayName
        self.interests = interests
    }
}

extension User: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .user)
        w.writeString(1, id.rawValue)
        w.writeString(2, displayName)
        for i in interests { w.writeString(3, i) }
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .user)
        id = UserID(try f.string(1))
        displayName = try f.string(2)
        interests = try f.strings(3)
    }
}
