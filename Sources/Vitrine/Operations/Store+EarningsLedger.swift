// The earnings ledger: what each expert earned, when, and the clawbacks (EarningEntry.swift).
//
// Written by the purchase flow only: an entry of +commission when an order becomes paid, and an
// entry of -amount whenever units of a paid or settled order are cancelled or returned (the
// commission taken back by `reduceLines`). Orders placed before the purchase flow (no
// `paymentDueAt`) are outside the ledger. Each entry is added to its day and month counters in
// the same transaction, so daily and monthly totals are one counter read each.

/// An expert's earnings on one day or in one month.
public struct EarningsTotal: Hashable, Sendable, Codable {
    /// yyyymmdd for a day, yyyymm for a month (China Standard Time).
    public var period: Int64
    /// The sum of the ledger entries in the period, in fen.
    public var amountFen: Int64
}

/// How a recommendation converts: how many people acted on it, and how many bought.
public struct RecommendationConversion: Hashable, Sendable, Codable {
    /// The recommendation.
    public var recommendation: RecommendationID
    /// Favourites of its product (favourites are per product, not per recommendation).
    public var favourites: Int64
    /// Cart lines through it now.
    public var cartLines: Int64
    /// Orders with a line through it, and of those the ones paid or settled.
    public var orders: Int64
    /// Of those orders, the ones paid or settled.
    public var paidOrders: Int64
    /// Units bought through it and kept (not cancelled or returned), over live orders.
    public var unitsKept: Int64
}

extension Keys {
    static func earningEntries(_ expert: ExpertID) -> Tuple { ["earn_entry", .string(expert.rawValue)] }
    static func earningEntry(_ e: EarningEntry, id: String) -> [UInt8] {
        earningEntries(e.expert).appending(.int(e.at.millisecondsSinceEpoch)).appending(.string(id)).packed
    }
    static let allEarningEntries: Tuple = ["earn_entry"]
    static func earningDays(_ expert: ExpertID) -> Tuple { ["earn_day", .string(expert.rawValue)] }
    static func earningMonths(_ expert: ExpertID) -> Tuple { ["earn_month", .string(expert.rawValue)] }
    static let allEarningDays: Tuple = ["earn_day"]
    static let allEarningMonths: Tuple = ["earn_month"]
}

extension Store {
    /// Writes one ledger entry and adds it to its day and month.
    func writeEarningEntry<W: OrderedKeyValueWriter>(_ tx: W, _ entry: EarningEntry, id: String) throws {
        let day = EarningsDay(entry.at)
        try tx.store(entry, Keys.earningEntry(entry, id: id))
        try tx.addToCounter(Keys.earningDays(entry.expert).appending(.int(day.number)).packed, entry.amountFen, field: "earningsDay")
        try tx.addToCounter(
            Keys.earningMonths(entry.expert).appending(.int(day.monthNumber)).packed, entry.amountFen, field: "earningsMonth")
    }

    /// The order just became paid: each expert earns their Earning's commission.
    func recordEarnings<W: OrderedKeyValueWriter>(_ tx: W, _ order: Order, now: Timestamp, entryID: String) throws {
        guard order.paymentDueAt != nil else { return }
        for expert in Set(order.lines.compactMap(\.expert)).sorted() {
            guard let earning = try tx.load(OrderEarning.self, Keys.earning(expert, order.id)), earning.commissionFen != 0 else { continue }
            try writeEarningEntry(
                tx, EarningEntry(expert: expert, order: order.id, amountFen: earning.commissionFen, at: now, reason: .paid),
                id: entryID + "-" + order.id.rawValue)
        }
    }

    /// Commission taken back from a paid or settled order: one negative entry per expert.
    func recordClawback<W: OrderedKeyValueWriter>(
        _ tx: W, _ order: Order, _ takenBack: [ExpertID: Int64], reason: EarningReason, now: Timestamp, entryID: String
    ) throws {
        guard order.paymentDueAt != nil, order.status == .paid || order.status == .settled else { return }
        for (expert, amount) in takenBack.sorted(by: { $0.key < $1.key }) where amount != 0 {
            try writeEarningEntry(
                tx,
                EarningEntry(
                    expert: expert, order: order.id, amountFen: try checkedSubtract(0, amount, "amountFen"), at: now, reason: reason),
                id: entryID + "-" + order.id.rawValue)
        }
    }

    /// An expert's earnings per day (China Standard Time) from `from` through `to`, days without
    /// entries left out.
    /// - Throws: ``VitrineError/unknownExpert(_:)``, ``VitrineError/invalidArgument(field:reason:)``
    ///   (`to` before `from`), ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func earningsByDay(of expert: ExpertID, from: EarningsDay, to: EarningsDay) throws -> [EarningsTotal] {
        guard from <= to else { throw VitrineError.invalidArgument(field: "to", reason: "must not be before from") }
        return try periodTotals(expert, Keys.earningDays(expert), from.number, to.number)
    }

    /// An expert's earnings per month (yyyymm, China Standard Time) from `from`'s month through
    /// `to`'s, months without entries left out.
    /// - Throws: as ``earningsByDay(of:from:to:)``.
    public func earningsByMonth(of expert: ExpertID, from: EarningsDay, to: EarningsDay) throws -> [EarningsTotal] {
        guard from <= to else { throw VitrineError.invalidArgument(field: "to", reason: "must not be before from") }
        return try periodTotals(expert, Keys.earningMonths(expert), from.monthNumber, to.monthNumber)
    }

    private func periodTotals(_ expert: ExpertID, _ prefix: Tuple, _ first: Int64, _ last: Int64) throws -> [EarningsTotal] {
        try expert.validate()
        return try backend.read { tx in
            _ = try tx.expert(expert)
            let begin = prefix.appending(.int(first)).packed
            let end = last == .max ? prefix.range.end : prefix.appending(.int(last + 1)).packed
            var totals: [EarningsTotal] = []
            // At most 12 * years or 366 * years counters: bounded by the range asked for.
            for pair in try tx.getRange(from: begin, to: end, limit: 100_000, reverse: false) {
                guard case .int(let period)? = try Tuple(unpacking: pair.key).elements.last,
                    let amount = decodeLittleEndianInt64(pair.value)
                else { throw VitrineError.corruptRecord(key: pair.key, .unexpectedShape("an earnings period counter")) }
                if amount != 0 { totals.append(EarningsTotal(period: period, amountFen: amount)) }
            }
            return totals
        }
    }

    /// One page of an expert's earnings ledger, newest first.
    /// - Throws: ``VitrineError/unknownExpert(_:)``, ``VitrineError/invalidArgument(field:reason:)``,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func earningEntries(of expert: ExpertID, after cursor: PageCursor? = nil, limit: Int = 20) throws -> Page<EarningEntry> {
        try expert.validate()
        try validateLimit(limit)
        return try backend.read { tx in
            _ = try tx.expert(expert)
            let prefix = Keys.earningEntries(expert)
            let positions = try indexPositions(tx, prefix, before: cursor, limit: limit + 1)
            let items = try positions.prefix(limit).map { pos -> EarningEntry in
                let key = prefix.appending(.int(pos.time.millisecondsSinceEpoch)).appending(.string(pos.id)).packed
                guard let e = try tx.load(EarningEntry.self, key) else {
                    throw VitrineError.corruptRecord(key: key, .unexpectedShape("ledger entry vanished"))
                }
                return e
            }
            return Page(items: items, next: positions.count > limit ? positions.prefix(limit).last : nil)
        }
    }
}
