// Product record, with its stock ledger.
//
// Record kind 3. Fields: 1 id (text), 2 partner (text), 3 link (text), 4 title (text),
// 5 priceFen (sint), 6 merchant (text), 7 category (text), 8 isOnSale (bool), 9 stock (sint),
// 10 initialStock (sint), 11 restocked (sint), 12 sold (sint),
// 13 reservationHoldSeconds (sint, optional: absent means "the store's default").
//
// Ledger invariant, kept by every operation and checked by `checkIntegrity`:
//   stock == initialStock + restocked - sold,  and  stock >= 0, initialStock >= 0,
//   restocked >= 0, sold >= 0.

/// A product sold on a partner platform, with its stock ledger. Money is integer fen (CNY / 100).
public struct Product: Hashable, Sendable, Codable {
    /// The product's id.
    public var id: ProductID
    /// The partner platform that sells it.
    public var partner: PartnerID
    /// The `https` link on the partner platform.
    public var link: String
    /// The product's title.
    public var title: String
    /// Unit price in fen (1 yuan = 100 fen).
    public var priceFen: Int64
    /// The merchant (shop) on the partner platform.
    public var merchant: String
    /// The product's category.
    public var category: String
    /// Whether the product can be added to carts and bought.
    public var isOnSale: Bool
    /// Units available now.
    public var stock: Int64
    /// Units the product started with.
    public var initialStock: Int64
    /// Units added by restocks.
    public var restocked: Int64
    /// Units sold by live (placed or settled) orders.
    public var sold: Int64
    /// How long add-to-cart holds units of this product, in seconds: nil uses the store's
    /// configuration, 0 turns holds off for this product.
    public var reservationHoldSeconds: Int64?

    /// A new product whose ledger starts at `initialStock` (nothing restocked or sold).
    public init(
        id: ProductID, partner: PartnerID, link: String, title: String, priceFen: Int64,
        merchant: String, category: String, isOnSale: Bool = true, initialStock: Int64,
        reservationHoldSeconds: Int64? = nil
    ) {
        self.id = id
        self.partner = partner
        self.link = link
        self.title = title
        self.priceFen = priceFen
        self.merchant = merchant
        self.category = category
        self.isOnSale = isOnSale
        self.stock = initialStock
        self.initialStock = initialStock
        self.restocked = 0
        self.sold = 0
        self.reservationHoldSeconds = reservationHoldSeconds
    }

    /// Whether the ledger invariant holds.
    public var ledgerIsConsistent: Bool {
        guard stock >= 0, initialStock >= 0, restocked >= 0, sold >= 0 else { return false }
        let (a, o1) = initialStock.addingReportingOverflow(restocked)
        let (b, o2) = a.subtractingReportingOverflow(sold)
        return !o1 && !o2 && b == stock
    }
}

extension Product: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .product)
        w.writeString(1, id.rawValue)
        w.writeString(2, partner.rawValue)
        w.writeString(3, link)
        w.writeString(4, title)
        w.writeInt(5, priceFen)
        w.writeString(6, merchant)
        w.writeString(7, category)
        w.writeBool(8, isOnSale)
        w.writeInt(9, stock)
        w.writeInt(10, initialStock)
        w.writeInt(11, restocked)
        w.writeInt(12, sold)
        w.writeOptionalInt(13, reservationHoldSeconds)
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .product)
        id = ProductID(try f.string(1))
        partner = PartnerID(try f.string(2))
        link = try f.string(3)
        title = try f.string(4)
        priceFen = try f.int(5)
        merchant = try f.string(6)
        category = try f.string(7)
        isOnSale = try f.bool(8)
        stock = try f.int(9)
        initialStock = try f.int(10)
        restocked = try f.int(11)
        sold = try f.int(12)
        reservationHoldSeconds = try f.optionalInt(13)
    }
}
