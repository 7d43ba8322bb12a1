// Cart line and reservation hold records.
//
// CartLine: record kind 8. Fields: 1 product (text), 2 recommendation (text, optional),
// 3 quantity (sint, 1...maxLineQuantity), 4 unitPriceFen (sint, the price when added),
// 5 addedAt (sint, ms), 6 lastRequestID (text, optional: the request id of the last add, so a
// retried add is not counted twice), 7 holdsGranted (uint, optional, absent when 0: how many
// times this line was granted a hold with a fresh expiry; at 1 + maxHoldRenewals no more are).
// The owner is part of the key, not of the record.
//
// Hold: record kind 9. Fields: 1 ownerKind (varint: 1 user, 2 guest), 2 ownerID (text),
// 3 product (text), 4 recommendation (text, optional), 5 quantity (sint), 6 expiresAt (sint, ms).

/// Whose cart: a signed-in user's, or a guest session's (merged on sign-in).
public enum CartOwner: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A signed-in user's cart.
    case user(UserID)
    /// A guest cart, identified by a guest id the store issued (``Store/issueGuestID()``); cart
    /// operations refuse other ids with ``VitrineError/unknownGuest(_:)``.
    case guest(String)

    var kindCode: UInt8 {
        switch self {
        case .user: return 1
        case .guest: return 2
        }
    }

    var idString: String {
        switch self {
        case .user(let u): return u.rawValue
        case .guest(let g): return g
        }
    }

    init?(kindCode: UInt8, id: String) {
        switch kindCode {
        case 1: self = .user(UserID(id))
        case 2: self = .guest(id)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .user(let u): return "user \(u)"
        case .guest(let g): return "guest \(g)"
        }
    }

    /// Same owner when the kind and the id's UTF-8 bytes are the same, as in the cart keys
    /// (a guest id is a key string: see Identifiers.swift).
    public static func == (a: CartOwner, b: CartOwner) -> Bool {
        a.kindCode == b.kindCode && a.idString.utf8.elementsEqual(b.idString.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kindCode)
        hashUTF8(idString, into: &hasher)
    }
}

/// One line of a cart: a product (and the recommendation it came from), a quantity, and the unit
/// price captured when it was added.
public struct CartLine: Hashable, Sendable, Codable {
    /// The product in the cart.
    public var product: ProductID
    /// The recommendation it was added through (commission goes to its expert), or nil.
    public var recommendation: RecommendationID?
    /// Units, within ``Configuration/lineQuantity``.
    public var quantity: Int64
    /// The unit price in fen when the line was added; checkout reports a change from it.
    public var unitPriceFen: Int64
    /// When the line was first added.
    public var addedAt: Timestamp
    /// The request id of the last add to this line, if the caller gave one.
    public var lastRequestID: String?
    /// How many times the line was granted a hold with a fresh expiry (the first hold and its
    /// renewals); past `1 + Configuration.maxHoldRenewals` it gets no more.
    public var holdsGranted: UInt64

    /// A cart line; `holdsGranted` counts the holds it was granted (0 for a new line).
    public init(
        product: ProductID, recommendation: RecommendationID?, quantity: Int64, unitPriceFen: Int64,
        addedAt: Timestamp, lastRequestID: String? = nil, holdsGranted: UInt64 = 0
    ) {
        self.product = product
        self.recommendation = recommendation
        self.quantity = quantity
        self.unitPriceFen = unitPriceFen
        self.addedAt = addedAt
        self.lastRequestID = lastRequestID
        self.holdsGranted = holdsGranted
    }

    // Codable by hand only so that `holdsGranted` is left out at 0 and optional when read, as in
    // the record: dumps of lines that never held stay as they were.
    enum CodingKeys: String, CodingKey {
        case product, recommendation, quantity, unitPriceFen, addedAt, lastRequestID, holdsGranted
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        product = try c.decode(ProductID.self, forKey: .product)
        recommendation = try c.decodeIfPresent(RecommendationID.self, forKey: .recommendation)
        quantity = try c.decode(Int64.self, forKey: .quantity)
        unitPriceFen = try c.decode(Int64.self, forKey: .unitPriceFen)
        addedAt = try c.decode(Timestamp.self, forKey: .addedAt)
        lastRequestID = try c.decodeIfPresent(String.self, forKey: .lastRequestID)
        holdsGranted = try c.decodeIfPresent(UInt64.self, forKey: .holdsGranted) ?? 0
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(product, forKey: .product)
        try c.encodeIfPresent(recommendation, forKey: .recommendation)
        try c.encode(quantity, forKey: .quantity)
        try c.encode(unitPriceFen, forKey: .unitPriceFen)
        try c.encode(addedAt, forKey: .addedAt)
        try c.encodeIfPresent(lastRequestID, forKey: .lastRequestID)
        if holdsGranted != 0 { try c.encode(holdsGranted, forKey: .holdsGranted) }
    }
}

extension CartLine: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .cartLine)
        w.writeString(1, product.rawValue)
        w.writeOptionalString(2, recommendation?.rawValue)
        w.writeInt(3, quantity)
        w.writeInt(4, unitPriceFen)
        w.writeInt(5, addedAt.millisecondsSinceEpoch)
        w.writeOptionalString(6, lastRequestID)
        if holdsGranted != 0 { w.writeUInt(7, holdsGranted) }
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .cartLine)
        product = ProductID(try f.string(1))
        recommendation = try f.optionalString(2).map(RecommendationID.init(rawValue:))
        quantity = try f.int(3)
        unitPriceFen = try f.int(4)
        addedAt = Timestamp(millisecondsSinceEpoch: try f.int(5))
        lastRequestID = try f.optionalString(6)
        let granted = try f.optionalUInt(7)
        // 0 is written as an absent field, so an explicit 0 is not canonical.
        if granted == 0 { throw FormatError.invalidValue(field: 7, reason: "holdsGranted 0 must be absent") }
        holdsGranted = granted ?? 0
    }
}

/// Units held for one cart line until `expiresAt` (reservations, for flash sales).
public struct Hold: Hashable, Sendable, Codable {
    /// Whose cart the held units are in.
    public var owner: CartOwner
    /// The held product.
    public var product: ProductID
    /// The recommendation of the cart line, or nil.
    public var recommendation: RecommendationID?
    /// Units held.
    public var quantity: Int64
    /// When the hold stops counting (see ``isLive(at:)``).
    public var expiresAt: Timestamp

    /// A hold of `quantity` units for a cart line until `expiresAt`.
    public init(owner: CartOwner, product: ProductID, recommendation: RecommendationID?, quantity: Int64, expiresAt: Timestamp) {
        self.owner = owner
        self.product = product
        self.recommendation = recommendation
        self.quantity = quantity
        self.expiresAt = expiresAt
    }

    /// Whether the hold still counts at `now` (a hold expiring exactly now no longer does).
    public func isLive(at now: Timestamp) -> Bool { now < expiresAt }
}

extension Hold: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .hold)
        w.writeUInt(1, UInt64(owner.kindCode))
        w.writeString(2, owner.idString)
        w.writeString(3, product.rawValue)
        w.writeOptionalString(4, recommendation?.rawValue)
        w.writeInt(5, quantity)
        w.writeInt(6, expiresAt.millisecondsSinceEpoch)
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .hold)
        let kind = try f.uint(1)
        let id = try f.string(2)
        guard kind <= 255, let owner = CartOwner(kindCode: UInt8(kind), id: id) else {
            throw FormatError.invalidValue(field: 1, reason: "unknown cart owner kind \(kind)")
        }
        self.owner = owner
        product = ProductID(try f.string(3))
        recommendation = try f.optionalString(4).map(RecommendationID.init(rawValue:))
        quantity = try f.int(5)
        expiresAt = Timestamp(millisecondsSinceEpoch: try f.int(6))
    }
}
