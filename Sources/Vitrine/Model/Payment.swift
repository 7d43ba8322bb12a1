// Payment record: one partner sub-order of an order, confirmed paid by the partner.
//
// Record kind 15. Fields: 1 order (text), 2 partner (text), 3 reference (text: the partner's own
// order reference, a key string of at most 128 bytes), 4 confirmedAt (sint, ms).
// Stored under ("pay", order, partner); ("pay_ref", partner, reference, order) is its index, so a
// partner reference belongs to one order only.

/// A partner's confirmation that its sub-order of an order was paid.
public struct Payment: Hashable, Sendable, Codable {
    /// The order paid.
    public var order: OrderID
    /// The partner whose sub-order was paid.
    public var partner: PartnerID
    /// The partner's order reference.
    public var reference: String
    /// When the store recorded the confirmation.
    public var confirmedAt: Timestamp

    /// A payment confirmation.
    public init(order: OrderID, partner: PartnerID, reference: String, confirmedAt: Timestamp) {
        self.order = order
        self.partner = partner
        self.reference = reference
        self.confirmedAt = confirmedAt
    }
}

extension Payment: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .payment)
        w.writeString(1, order.rawValue)
        w.writeString(2, partner.rawValue)
        w.writeString(3, reference)
        w.writeInt(4, confirmedAt.millisecondsSinceEpoch)
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .payment)
        order = OrderID(try f.string(1))
        partner = PartnerID(try f.string(2))
        reference = try f.string(3)
        confirmedAt = Timestamp(millisecondsSinceEpoch: try f.int(4))
    }
}
