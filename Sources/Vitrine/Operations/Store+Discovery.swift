// Discovery: products by category, merchant or partner, and the expert directory, paged.
//
// Index entries (formats/records.md §3), one of each per product, empty values:
//   ("prod_cat", category, productID)
//   ("prod_merch", merchantHash, productID)   merchantHash: Keys.merchantHash (FNV-1a 64)
//   ("prod_partner", partnerID, productID)
// Written and moved by `writeProduct` (upsertProduct and catalogue imports), the only write that
// changes a product's category, merchant or partner; `load` of dump lines adds the entries of
// the products it restores (`recordsWithDiscoveryEntries`), and `checkIntegrity` checks them both
// ways (Store+DiscoveryIntegrity.swift).
//
// Lists are in product (or expert) id order, by UTF-8 bytes: the key order. The cursor is a
// `PageCursor` whose id is the last item's id (its time is unused, 0); the next page starts
// strictly after it, so items added meanwhile never repeat or shift the pages that follow.
// A merchant's range can hold another merchant with the same hash: those products are skipped,
// so a page may be read past `limit` entries but never returns more than `limit` items.

/// Which products ``Store/products(_:after:limit:)`` lists.
public enum ProductFilter: Hashable, Sendable {
    /// Products of this category.
    case category(String)
    /// Compared by the merchant name's UTF-8 bytes.
    case merchant(String)
    /// Products on this partner platform.
    case partner(PartnerID)
}

extension Store {
    /// One page of the products in a category, of a merchant or on a partner platform, by product id.
    ///
    /// - Parameters:
    ///   - filter: which products: of a category, a merchant or a partner.
    ///   - cursor: the `next` of the previous page; nil for the first page.
    ///   - limit: page size, 1...1000.
    /// - Throws: ``VitrineError/unknownPartner(_:)`` (a `.partner` filter naming no partner),
    ///   ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``;
    ///   backend errors.
    public func products(_ filter: ProductFilter, after cursor: PageCursor? = nil, limit: Int = 20) throws -> Page<Product> {
        try validateLimit(limit)
        let prefix: Tuple
        switch filter {
        case .category(let c):
            try validateCategory(c)
            prefix = Keys.productsInCategory(c)
        case .merchant(let m):
            try validateText(m, field: "merchant")
            prefix = Keys.productsOfMerchant(m)
        case .partner(let p):
            try p.validate()
            prefix = Keys.productsOfPartner(p)
        }
        return try backend.read { tx in
            if case .partner(let p) = filter, try tx.get(Keys.partner(p)) == nil { throw VitrineError.unknownPartner(p) }
            return try idPage(tx, prefix, after: cursor, limit: limit) { pair in
                guard case .string(let id)? = try Tuple(unpacking: pair.key).elements.last,
                    let p = try tx.load(Product.self, Keys.product(ProductID(id)))
                else { throw VitrineError.corruptRecord(key: pair.key, .unexpectedShape("discovery entry without its product")) }
                if case .merchant(let m) = filter, !p.merchant.utf8.elementsEqual(m.utf8) { return nil }
                return (p, id)
            }
        }
    }

    /// The expert directory: one page of every expert, by expert id.
    ///
    /// - Parameters:
    ///   - cursor: the `next` of the previous page; nil for the first page.
    ///   - limit: page size, 1...1000.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func experts(after cursor: PageCursor? = nil, limit: Int = 20) throws -> Page<Expert> {
        try validateLimit(limit)
        return try backend.read { tx in
            try idPage(tx, Keys.experts, after: cursor, limit: limit) { pair in
                let e = try decodeRecord(Expert.self, pair.value, key: pair.key)
                return (e, e.id.rawValue)
            }
        }
    }
}

/// Up to `limit` items of the keys `prefix + (id)` after the cursor's id, in key order; `item`
/// turns a pair into an item and its id, or nil to skip it.
func idPage<R: OrderedKeyValueReader, Item: Sendable>(
    _ tx: R, _ prefix: Tuple, after cursor: PageCursor?, limit: Int, _ item: (KeyValue) throws -> (Item, String)?
) throws -> Page<Item> {
    var (begin, end) = prefix.range
    if let cursor { begin = prefix.appending(.string(cursor.id)).packed + [0x00] }
    var items: [Item] = []
    var lastID: String? = nil
    while begin.lexicographicallyPrecedes(end) {
        let pairs = try tx.getRange(from: begin, to: end, limit: limit + 1, reverse: false)
        for pair in pairs {
            guard let (value, id) = try item(pair) else { continue }
            // One more item than the page holds: there is a next page.
            if items.count == limit {
                return Page(items: items, next: lastID.map { PageCursor(time: Timestamp(millisecondsSinceEpoch: 0), id: $0) })
            }
            items.append(value)
            lastID = id
        }
        guard pairs.count == limit + 1, let last = pairs.last else { break }
        begin = last.key + [0x00]
    }
    return Page(items: items, next: nil)
}
