// Checking dumped records before they are restored (`vitrine load` of the JSON Lines `dump`
// writes): a restore writes keys and values byte for byte, so it must first prove that the API
// could have written them. Two steps, and nothing is written unless both find nothing:
//
//   1. Each record alone: a known table; a value that decodes and re-encodes to the same bytes; a
//      key that is the record's own (a product under its id, a favourite under its user and
//      product, ...); and the fields the API validates: ids, texts, lists, categories, rates,
//      quantities, a product's ledger and its link (the link policy, in canonical form), a
//      partner's domains (never a public suffix).
//   2. The records together with what the store already holds: ``Store/checkIntegrity()`` over
//      the store's records overlaid in memory with the dumped ones. This finds what needs other
//      records: a product whose partner is missing or does not cover its link, sold counts and
//      order lines, recommendation quantities, earnings and their counters, cart lines, indexes.
//
// The overlay is a copy of the store and the records in memory: restoring is meant for a new or
// small database (a dump is reloaded into a fresh file), and the records are in memory anyway.

extension Store {
    /// `records` followed by the discovery entries (`prod_cat`, `prod_merch`,
    /// `prod_partner`: Store+Discovery.swift) of each product record among them that are not
    /// among them already. A whole dump holds them, so it comes back unchanged and reloads
    /// identically; a dump of the product table alone, or one taken before these entries existed,
    /// gets them. Stale entries of a stored product that a record replaces are not removed:
    /// ``restoreProblems(_:)`` reports them, so such a restore writes nothing. The same for the
    /// idle-guest entry (`guest_time`, Store+Guests.swift) of each guest record, which a dump
    /// taken before format version 3 lacks.
    public static func recordsWithDiscoveryEntries(_ records: [DumpedRecord]) -> [DumpedRecord] {
        var keys = Set(records.map(\.key))
        var result = records
        for record in records where record.table == "product" {
            guard let p = try? Product(recordBytes: record.value) else { continue }
            for key in Keys.productIndexEntries(of: p) where keys.insert(key).inserted {
                result.append(DumpedRecord(key: key, value: []))
            }
        }
        for record in records where record.table == "guest" {
            guard let g = try? Guest(recordBytes: record.value), keys.insert(Keys.guestActivity(g)).inserted else { continue }
            result.append(DumpedRecord(key: Keys.guestActivity(g), value: []))
        }
        return result
    }

    /// Every problem restoring `records` into this store would create (empty when the restore is
    /// safe): see the top of Store+Restore.swift. Writes nothing.
    /// - Throws: backend errors.
    public func restoreProblems(_ records: [DumpedRecord]) throws -> [IntegrityProblem] {
        var problems: [IntegrityProblem] = []
        for record in records { problems += recordProblems(record) }
        let overlay = InMemoryKeyValueStore()
        try overlay.write { tx in
            try backend.forEachRecord { try tx.set($0.key, $0.value) }
            for record in records { try tx.set(record.key, record.value) }
        }
        do {
            problems += try Store<InMemoryKeyValueStore>(readingFrom: overlay, configuration: configuration).checkIntegrity()
        } catch let error as VitrineError {
            problems.append(IntegrityProblem(kind: .invalidRecord, subject: "format marker", detail: "\(error)"))
        }
        return problems
    }

    /// The problems of one record on its own (step 1).
    func recordProblems(_ record: DumpedRecord) -> [IntegrityProblem] {
        let subject = Tuple.describe(record.key)
        guard let table = record.table else {
            return [IntegrityProblem(kind: .corruptRecord, subject: subject, detail: "the key is not a known table's tuple")]
        }
        guard record.decodesCanonically else {
            return [IntegrityProblem(kind: .corruptRecord, subject: subject, detail: "the value is not a canonical \(table) record")]
        }
        do {
            let expectedKey = try validatedKey(of: record, table: table)
            if let expectedKey, expectedKey != record.key {
                return [
                    IntegrityProblem(
                        kind: .invalidRecord, subject: subject, detail: "the record belongs under \(Tuple.describe(expectedKey))")
                ]
            }
        } catch {
            return [IntegrityProblem(kind: .invalidRecord, subject: subject, detail: "\(error)")]
        }
        return []
    }

    /// Validates the record's fields as the API does and returns the key the API would store it
    /// under (nil for the tables whose key is not made from the record alone).
    private func validatedKey(of record: DumpedRecord, table: String) throws -> [UInt8]? {
        let bytes = record.value
        switch table {
        case "meta":
            return Keys.meta
        case "partner":
            let p = try Partner(recordBytes: bytes)
            try Self.validate(p)
            return Keys.partner(p.id)
        case "product":
            let p = try Product(recordBytes: bytes)
            try Self.validateFields(of: p)
            guard p.ledgerIsConsistent else {
                throw VitrineError.invalidArgument(
                    field: "ledger", reason: "stock must equal initialStock + restocked - sold, nothing negative")
            }
            let canonical = try PartnerLink(parsing: p.link).canonical
            guard canonical == p.link else {
                throw VitrineError.invalidLink(link: p.link, reason: "not in canonical form \"\(canonical)\"")
            }
            return Keys.product(p.id)
        case "expert":
            let e = try Expert(recordBytes: bytes)
            try Self.validateFields(of: e)
            return Keys.expert(e.id)
        case "user":
            let u = try User(recordBytes: bytes)
            try Self.validateFields(of: u)
            return Keys.user(u.id)
        case "rec":
            let r = try Recommendation(recordBytes: bytes)
            try r.id.validate()
            try r.expert.validate()
            try r.product.validate()
            try validateCategory(r.category)
            try validateReason(r.reason)
            guard r.offeredQuantity >= 1 else { throw VitrineError.quantityOutOfRange(r.offeredQuantity, allowed: 1...Int64.max) }
            return Keys.recommendation(r.id)
        case "fav":
            let f = try Favourite(recordBytes: bytes)
            try f.user.validate()
            try f.product.validate()
            return Keys.favourite(f.user, f.product)
        case "hold":
            let h = try Hold(recordBytes: bytes)
            try validateOwner(h.owner)
            try h.product.validate()
            try h.recommendation?.validate()
            return Keys.hold(h)
        case "order":
            let o = try Order(recordBytes: bytes)
            try o.id.validate()
            try o.user.validate()
            try validateText(o.idempotencyKey, field: "idempotencyKey", maxBytes: Limits.requestIDBytes)
            guard !o.lines.isEmpty else { throw VitrineError.emptyCheckout }
            for line in o.lines {
                try line.product.validate()
                try line.partner.validate()
                try line.recommendation?.validate()
                try line.expert?.validate()
            }
            return Keys.order(o.id)
        case "earn":
            let e = try OrderEarning(recordBytes: bytes)
            try e.expert.validate()
            try e.order.validate()
            return Keys.earning(e.expert, e.order)
        default:
            return nil
        }
    }
}
