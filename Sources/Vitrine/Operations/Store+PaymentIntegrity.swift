// The integrity check's part for the purchase flow and after-sale (called by checkIntegrity).
//
// Checked:
//   - every line: 0 <= restocked <= returned, cancelled >= 0, cancelled + returned <= quantity;
//   - every live order (placed, paid, settled): each expert's Earning has the order's status and
//     the commission of the units kept (by the checkout's rule); a void order's Earnings are void;
//   - a placed order with `paymentDueAt` has its `order_due` entry, and every entry names such an
//     order at that time; a paid or settled order of the purchase flow has `paidAt` and a
//     Payment for every partner of its kept lines; a placed one is missing at least one;
//   - every Payment is under its order and partner, for a partner of the order, with its
//     `pay_ref` entry, and every `pay_ref` entry names that Payment;
//   - the earnings ledger: each expert's day and month counters are the sums of their entries;
//     per order of the purchase flow, the entries of an expert sum to the Earning while the order
//     is paid or settled and to 0 otherwise.

extension Store {
    func checkPurchaseFlow<R: OrderedKeyValueReader>(
        _ tx: R, report: (IntegrityProblem.Kind, String, String) -> Void
    ) throws {
        var dueEntries: Set<[UInt8]> = []
        try tx.scan(Keys.ordersDue) { pair in dueEntries.insert(pair.key) }
        var paymentsByOrder: [OrderID: Set<PartnerID>] = [:]
        try tx.scan(Keys.allPayments) { pair in
            guard let p = try? Payment(recordBytes: pair.value) else {
                report(.corruptRecord, Tuple.describe(pair.key), "not a Payment record")
                return
            }
            let subject = "payment \(Tuple.describe(pair.key))"
            if Keys.payment(p.order, p.partner) != pair.key { report(.invalidPayment, subject, "stored under another key") }
            if try tx.get(Keys.paymentReference(p)) == nil { report(.missingIndexEntry, subject, "no pay_ref entry") }
            guard let o = try? tx.load(Order.self, Keys.order(p.order)) else {
                report(.invalidPayment, subject, "order \(p.order) is missing")
                return
            }
            if !o.lines.contains(where: { $0.partner == p.partner }) {
                report(.invalidPayment, subject, "order \(p.order) has no line from \(p.partner)")
            }
            paymentsByOrder[p.order, default: []].insert(p.partner)
        }
        try tx.scan(Keys.allPaymentReferences) { pair in
            guard let e = try? Tuple(unpacking: pair.key).elements, e.count == 4,
                case .string(let partner) = e[1], case .string(let reference) = e[2], case .string(let order) = e[3]
            else {
                report(.corruptRecord, Tuple.describe(pair.key), "a pay_ref key is (partner, reference, order)")
                return
            }
            let p = try? tx.load(Payment.self, Keys.payment(OrderID(order), PartnerID(partner)))
            if p.map({ !$0.reference.utf8.elementsEqual(reference.utf8) }) ?? true {
                report(.danglingIndexEntry, Tuple.describe(pair.key), "no payment with this reference behind it")
            }
        }

        try tx.scan(Keys.orders) { pair in
            guard let o = try? Order(recordBytes: pair.value) else { return } // reported by the order check
            let subject = "order \(o.id)"
            for line in o.lines {
                if line.cancelledQuantity < 0 || line.returnedQuantity < 0 || line.restockedQuantity < 0
                    || line.restockedQuantity > line.returnedQuantity || line.keptQuantity < 0
                {
                    report(
                        .invalidOrderState, subject,
                        "line \(line.product): cancelled \(line.cancelledQuantity), returned \(line.returnedQuantity), restocked \(line.restockedQuantity) of \(line.quantity)"
                    )
                }
            }
            // Earnings of the order.
            let kept = (try? Self.keptCommission(o)) ?? [:]
            for expert in Set(o.lines.compactMap(\.expert)).sorted() {
                guard let e = try? tx.load(OrderEarning.self, Keys.earning(expert, o.id)) else {
                    report(.earningsMismatch, subject, "no earning for expert \(expert)")
                    continue
                }
                if e.status != o.status { report(.earningsMismatch, subject, "earning of \(expert) is \(e.status), the order \(o.status)") }
                if !o.status.isVoid && e.commissionFen != (kept[expert] ?? 0) {
                    report(
                        .earningsMismatch, subject,
                        "earning of \(expert) is \(e.commissionFen), the kept lines' commission \(kept[expert] ?? 0)")
                }
            }
            // Payment state.
            let due = Keys.orderDue(o)
            let awaiting = o.status == .placed && due != nil
            if let due, awaiting != dueEntries.contains(due) {
                report(
                    awaiting ? .missingIndexEntry : .danglingIndexEntry, subject, "order_due entry \(awaiting ? "missing" : "left behind")")
            }
            if let due { dueEntries.remove(due) }
            guard o.paymentDueAt != nil else { return }
            let needed = Set(o.lines.filter { $0.keptQuantity > 0 }.map(\.partner))
            let paid = paymentsByOrder[o.id] ?? []
            switch o.status {
            case .paid, .settled:
                if o.paidAt == nil || !needed.isSubset(of: paid) {
                    report(.invalidOrderState, subject, "\(o.status) without paidAt or a payment of every partner")
                }
            case .placed:
                if !needed.isEmpty && needed.isSubset(of: paid) { report(.invalidOrderState, subject, "every partner paid, still placed") }
            case .cancelled, .expired:
                break
            }
        }
        for key in dueEntries.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            report(.danglingIndexEntry, Tuple.describe(key), "no order awaiting payment at this time behind it")
        }
    }

    func checkEarningsLedger<R: OrderedKeyValueReader>(
        _ tx: R, report: (IntegrityProblem.Kind, String, String) -> Void
    ) throws {
        var days: [LedgerPeriod: Int64] = [:]
        var months: [LedgerPeriod: Int64] = [:]
        var perOrder: [OrderID: [ExpertID: Int64]] = [:]
        try tx.scan(Keys.allEarningEntries) { pair in
            guard let e = try? EarningEntry(recordBytes: pair.value) else {
                report(.corruptRecord, Tuple.describe(pair.key), "not an EarningEntry record")
                return
            }
            let day = EarningsDay(e.at)
            days[LedgerPeriod(expert: e.expert, period: day.number), default: 0] &+= e.amountFen
            months[LedgerPeriod(expert: e.expert, period: day.monthNumber), default: 0] &+= e.amountFen
            perOrder[e.order, default: [:]][e.expert, default: 0] &+= e.amountFen
        }
        for (prefix, expected, what) in [(Keys.allEarningDays, days, "day"), (Keys.allEarningMonths, months, "month")] {
            var remaining = expected
            try tx.scan(prefix) { pair in
                guard let e = try? Tuple(unpacking: pair.key).elements, e.count == 3,
                    case .string(let expert) = e[1], case .int(let period) = e[2], let v = decodeLittleEndianInt64(pair.value)
                else {
                    report(.corruptRecord, Tuple.describe(pair.key), "an earnings \(what) counter")
                    return
                }
                let k = LedgerPeriod(expert: ExpertID(expert), period: period)
                if v != (remaining[k] ?? 0) {
                    report(.ledgerEntryMismatch, "expert \(expert)", "\(what) \(period): counter \(v), entries \(remaining[k] ?? 0)")
                }
                remaining[k] = nil
            }
            for (k, v) in remaining.sorted(by: { ($0.key.expert, $0.key.period) < ($1.key.expert, $1.key.period) }) where v != 0 {
                report(.ledgerEntryMismatch, "expert \(k.expert)", "\(what) \(k.period): no counter, entries \(v)")
            }
        }
        try tx.scan(Keys.orders) { pair in
            guard let o = try? Order(recordBytes: pair.value), o.paymentDueAt != nil else { return }
            let entries = perOrder.removeValue(forKey: o.id) ?? [:]
            let earned = o.status == .paid || o.status == .settled
            for expert in Set(o.lines.compactMap(\.expert)).union(entries.keys).sorted() {
                let expected = earned ? ((try? tx.load(OrderEarning.self, Keys.earning(expert, o.id)))??.commissionFen ?? 0) : 0
                if (entries[expert] ?? 0) != expected {
                    report(
                        .ledgerEntryMismatch, "order \(o.id)",
                        "ledger entries of \(expert) sum to \(entries[expert] ?? 0), expected \(expected)")
                }
            }
        }
        for (order, _) in perOrder.sorted(by: { $0.key < $1.key }) {
            report(.ledgerEntryMismatch, "order \(order)", "ledger entries for an order that is missing or placed before the purchase flow")
        }
    }
}

/// An expert's day or month in the ledger check.
private struct LedgerPeriod: Hashable {
    var expert: ExpertID
    var period: Int64
}
