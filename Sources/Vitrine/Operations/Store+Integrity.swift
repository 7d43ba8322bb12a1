// checkIntegrity: every domain invariant, checked over one snapshot (the CLI's `check`).
//
// Checked:
//   - every record and index key decodes;
//   - partners and product links, re-validated (Store+LinkIntegrity.swift);
//   - product ledger: stock == initialStock + restocked - sold, nothing negative;
//   - product sold == sum over order lines of the units out of stock (quantity less cancelled
//     and restocked units; of a cancelled or expired order only returns not restocked);
//   - recommendation: 0 <= quantity <= offered, and quantity == offered - live order lines through it;
//   - order: lines point at existing products (and recommendations), line totals and commissions
//     follow the rules, totals add up;
//   - earnings: each expert's pending/settled counters equal the sum of their earning records;
//   - cart lines: quantity within limits, product exists, recommendation exists and matches;
//   - holds: live holds on a product <= its stock, through a recommendation <= its quantity, and
//     each live hold within its cart line (`checkLiveHolds`);
//   - showcase/feed index entries point at active recommendations, and each active
//     recommendation has its three entries.
//   - discovery entries (products by category, merchant, partner) match the products both ways
//     (`checkDiscoveryIndex`, Store+DiscoveryIntegrity.swift);
//   - idle-guest entries match the guests' last activity both ways (`checkGuestIndex`,
//     Store+GuestIntegrity.swift);
//   - the purchase flow (`checkPurchaseFlow`, Store+PaymentIntegrity.swift): after-sale
//     quantities, payments, due entries, earnings per order, and the earnings ledger;
//   - every string in a key (ids, categories, idempotency and restock keys) is in one byte form
//     (`keyTextProblem`): records written before that rule, or loaded raw, are named here.

/// One problem found by ``Store/checkIntegrity()``.
public struct IntegrityProblem: Hashable, Sendable, CustomStringConvertible {
    /// What kind of invariant a problem breaks.
    public enum Kind: String, Hashable, Sendable {
        /// A partner record that breaks the partner rules, or is stored under another key.
        case invalidPartner
        /// A product link that fails the link policy, is not canonical, or names an unregistered partner.
        case invalidLink
        /// A record that decodes but breaks a rule of its kind (or sits under the wrong key).
        case invalidRecord
        /// A key that is no known table's, or a value that is not a canonical record.
        case corruptRecord
        /// A product whose stock is not initialStock + restocked - sold.
        case ledgerMismatch
        /// A negative stock or ledger count, or a line quantity below 1.
        case negativeQuantity
        /// A product's sold count that differs from the units of its live order lines.
        case soldMismatch
        /// A recommendation's quantity that is not offered less sold through it.
        case recommendationQuantityMismatch
        /// An order line whose product does not exist.
        case orderLineMissingProduct
        /// An order line whose recommendation does not exist.
        case orderLineMissingRecommendation
        /// A line total or commission that is not what its quantity, price and rate give.
        case orderArithmetic
        /// An order's earnings records that disagree with its lines or its status.
        case earningsMismatch
        /// A cart line with a quantity out of range or a missing product.
        case invalidCartLine
        /// An index entry with no record behind it.
        case danglingIndexEntry
        /// A record without the index entry it needs.
        case missingIndexEntry
        /// A string in a key that is not in one byte form (not NFC, or a control or invisible character).
        case invalidIdentifier
        /// Live holds on a product or recommendation beyond its stock or quantity.
        case holdsExceedStock
        /// A live hold without its cart line, or holding more than the line.
        case invalidHold
        /// An order's payment state, after-sale quantities or their records disagree.
        case invalidOrderState, invalidPayment
        /// An Earning does not match its order's lines, or the earnings ledger its counters.
        case ledgerEntryMismatch
    }

    /// What kind of problem.
    public var kind: Kind
    /// What it is about ("product p1", "order o9", ...).
    public var subject: String
    /// What is wrong, in words.
    public var detail: String

    public var description: String { "\(kind.rawValue): \(subject): \(detail)" }
}

extension Store {
    /// Checks every domain invariant over one snapshot and returns every problem found (empty when
    /// the store is sound). Reads everything: meant for tools and tests, not request paths.
    /// - Throws: backend errors only (malformed data is reported, not thrown).
    public func checkIntegrity() throws -> [IntegrityProblem] {
        try backend.read { tx in
            var problems: [IntegrityProblem] = []
            func report(_ kind: IntegrityProblem.Kind, _ subject: String, _ detail: String) {
                problems.append(IntegrityProblem(kind: kind, subject: subject, detail: detail))
            }
            func each<R: BinaryRecord>(_ type: R.Type, _ prefix: Tuple, _ body: (R, [UInt8]) -> Void) throws {
                try tx.scan(prefix) { pair in
                    do { body(try R(recordBytes: pair.value), pair.key) } catch {
                        report(.corruptRecord, "\(Tuple.describe(pair.key))", "\(error)")
                    }
                }
            }

            var products: [ProductID: Product] = [:]
            try each(Product.self, Keys.products) { p, _ in products[p.id] = p }
            var recommendations: [RecommendationID: Recommendation] = [:]
            try each(Recommendation.self, Keys.recommendations) { r, _ in recommendations[r.id] = r }
            problems += try Self.partnerAndLinkProblems(tx, products: products)

            // Orders.
            var soldByProduct: [ProductID: Int64] = [:]
            var soldByRecommendation: [RecommendationID: Int64] = [:]
            var commissionByExpert: [ExpertID: (pending: Int64, settled: Int64)] = [:]
            try each(Order.self, Keys.orders) { o, _ in
                let subject = "order \(o.id)"
                var total: Int64 = 0
                var commissionSum: Int64 = 0
                for line in o.lines {
                    if products[line.product] == nil { report(.orderLineMissingProduct, subject, "product \(line.product)") }
                    if let rid = line.recommendation, recommendations[rid] == nil {
                        report(.orderLineMissingRecommendation, subject, "recommendation \(rid)")
                    }
                    if line.quantity <= 0 { report(.negativeQuantity, subject, "line quantity \(line.quantity)") }
                    let (lt, o1) = line.unitPriceFen.multipliedReportingOverflow(by: line.quantity)
                    let (c, o2) = line.lineTotalFen.multipliedReportingOverflow(by: line.commissionBasisPoints)
                    if o1 || lt != line.lineTotalFen { report(.orderArithmetic, subject, "line total of \(line.product)") }
                    if o2 || c / 10_000 != line.commissionFen { report(.orderArithmetic, subject, "commission of \(line.product)") }
                    total = total.addingReportingOverflow(line.lineTotalFen).partialValue
                    commissionSum = commissionSum.addingReportingOverflow(line.commissionFen).partialValue
                    // Units out of stock because of the line: all but the cancelled and restocked
                    // ones; of a cancelled or expired order, only returns not restocked (an order
                    // cancelled before after-sale existed has no cancelled units recorded).
                    let sold = o.status.isVoid ? line.returnedQuantity &- line.restockedQuantity : line.soldQuantity
                    soldByProduct[line.product, default: 0] &+= sold
                    if let rid = line.recommendation { soldByRecommendation[rid, default: 0] &+= sold }
                }
                if total != o.totalFen { report(.orderArithmetic, subject, "total \(o.totalFen) != sum of lines \(total)") }
                if commissionSum != o.commissionFen {
                    report(.orderArithmetic, subject, "commission \(o.commissionFen) != sum of lines \(commissionSum)")
                }
            }

            // Products.
            for p in products.values.sorted(by: { $0.id < $1.id }) {
                let subject = "product \(p.id)"
                if p.stock < 0 || p.sold < 0 || p.restocked < 0 || p.initialStock < 0 {
                    report(
                        .negativeQuantity, subject, "stock \(p.stock), sold \(p.sold), restocked \(p.restocked), initial \(p.initialStock)")
                }
                if !p.ledgerIsConsistent && p.stock >= 0 {
                    report(.ledgerMismatch, subject, "stock \(p.stock) != \(p.initialStock) + \(p.restocked) - \(p.sold)")
                }
                let fromOrders = soldByProduct[p.id] ?? 0
                if p.sold != fromOrders { report(.soldMismatch, subject, "sold \(p.sold) != live order lines \(fromOrders)") }
            }

            // Recommendations and their index entries.
            for r in recommendations.values.sorted(by: { $0.id < $1.id }) {
                let subject = "recommendation \(r.id)"
                if r.quantity < 0 { report(.negativeQuantity, subject, "quantity \(r.quantity)") }
                let expected = r.offeredQuantity &- (soldByRecommendation[r.id] ?? 0)
                if r.quantity != expected || r.quantity > r.offeredQuantity {
                    report(
                        .recommendationQuantityMismatch, subject,
                        "quantity \(r.quantity) != offered \(r.offeredQuantity) - sold \(soldByRecommendation[r.id] ?? 0)")
                }
                if products[r.product] == nil { report(.danglingIndexEntry, subject, "product \(r.product) is missing") }
                if r.status == .active {
                    for key in Keys.indexEntries(of: r) where try tx.get(key) == nil {
                        report(.missingIndexEntry, subject, Tuple.describe(key))
                    }
                }
            }
            for prefix in [Keys.showcaseAll, Keys.showcaseCategoryAll, Keys.feedAll] {
                try tx.scan(prefix) { pair in
                    guard let elements = try? Tuple(unpacking: pair.key).elements, case .string(let id)? = elements.last else {
                        report(.corruptRecord, Tuple.describe(pair.key), "index key must end with a recommendation id")
                        return
                    }
                    let r = recommendations[RecommendationID(id)]
                    let isBacked = r.map { $0.status == .active && Keys.indexEntries(of: $0).contains(pair.key) } ?? false
                    if !isBacked {
                        report(.danglingIndexEntry, Tuple.describe(pair.key), "no active recommendation \(id) behind it")
                    }
                }
            }

            // Earnings.
            try each(OrderEarning.self, Keys.allEarnings) { e, _ in
                var sums = commissionByExpert[e.expert] ?? (0, 0)
                if e.status.isPending { sums.pending &+= e.commissionFen }
                if e.status == .settled { sums.settled &+= e.commissionFen }
                commissionByExpert[e.expert] = sums
            }
            var experts: [ExpertID] = []
            try each(Expert.self, Keys.experts) { e, _ in experts.append(e.id) }
            for expert in Set(experts + Array(commissionByExpert.keys)).sorted() {
                let sums = commissionByExpert[expert] ?? (0, 0)
                let pending = (try? tx.counter(Keys.pendingTotal(expert))) ?? .min
                let settled = (try? tx.counter(Keys.settledTotal(expert))) ?? .min
                if pending != sums.pending || settled != sums.settled {
                    report(
                        .earningsMismatch, "expert \(expert)",
                        "counters pending \(pending), settled \(settled); records \(sums.pending), \(sums.settled)")
                }
            }

            // Carts.
            try each(CartLine.self, Keys.carts) { line, key in
                let subject = "cart line \(Tuple.describe(key))"
                if !configuration.lineQuantity.contains(line.quantity) {
                    report(.invalidCartLine, subject, "quantity \(line.quantity) outside \(configuration.lineQuantity)")
                }
                if products[line.product] == nil { report(.invalidCartLine, subject, "product \(line.product) is missing") }
                if let rid = line.recommendation {
                    if let r = recommendations[rid] {
                        if r.product != line.product { report(.invalidCartLine, subject, "recommendation \(rid) is for \(r.product)") }
                    } else {
                        report(.invalidCartLine, subject, "recommendation \(rid) is missing")
                    }
                }
            }
            try each(Hold.self, Keys.allHolds) { h, key in
                if h.quantity < 0 { report(.negativeQuantity, "hold \(Tuple.describe(key))", "quantity \(h.quantity)") }
            }
            try checkKeyStrings(tx, report)
            try checkLiveHolds(tx, products: products, recommendations: recommendations, report: report)
            try checkDiscoveryIndex(tx, products: products, report: report)
            try checkGuestIndex(tx, report: report)
            try checkPurchaseFlow(tx, report: report)
            try checkEarningsLedger(tx, report: report)
            return problems
        }
    }
}

extension Store {
    /// Reports every key string that is not in one byte form. Such a key is still read and compared
    /// by its bytes (so nothing collapses), but the API would not have written it.
    func checkKeyStrings<R: OrderedKeyValueReader>(
        _ tx: R, _ report: (IntegrityProblem.Kind, String, String) -> Void
    ) throws {
        for table in RecordTables.all {
            try tx.scan(Tuple([.string(table)])) { pair in
                // A key that is not a tuple is reported by the table's own check.
                guard let elements = try? Tuple(unpacking: pair.key).elements else { return }
                for (position, element) in elements.enumerated().dropFirst() {
                    guard case .string(let s) = element, let problem = keyTextProblem(s) else { continue }
                    let scalars = s.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }
                    report(
                        .invalidIdentifier, "key \(Tuple.describe(pair.key))",
                        "element \(position) (\(scalars.joined(separator: " "))) \(problem)")
                }
            }
        }
    }

    /// The live holds (at the store's clock) fit: on each product, at most its stock; through each
    /// recommendation, at most its quantity; each within its cart line. Every live hold counts,
    /// whatever the configuration says about reservations (a hold is only written while they are
    /// on). Holds that do not decode are left to the record check.
    func checkLiveHolds<R: OrderedKeyValueReader>(
        _ tx: R, products: [ProductID: Product], recommendations: [RecommendationID: Recommendation],
        report: (IntegrityProblem.Kind, String, String) -> Void
    ) throws {
        let now = self.now
        var onProduct: [ProductID: Int64] = [:]
        var onRecommendation: [RecommendationID: Int64] = [:]
        try tx.scan(Keys.allHolds) { pair in
            guard let h = try? Hold(recordBytes: pair.value), h.isLive(at: now), h.quantity > 0 else { return }
            onProduct[h.product, default: 0] &+= h.quantity
            if let rid = h.recommendation { onRecommendation[rid, default: 0] &+= h.quantity }
            let subject = "hold \(Tuple.describe(pair.key))"
            let lineKey = Keys.cartLine(h.owner, h.product, h.recommendation)
            guard let bytes = try tx.get(lineKey), let line = try? CartLine(recordBytes: bytes) else {
                report(.invalidHold, subject, "live hold of \(h.quantity) without its cart line")
                return
            }
            if h.quantity > line.quantity { report(.invalidHold, subject, "holds \(h.quantity), more than its line's \(line.quantity)") }
        }
        for (id, held) in onProduct.sorted(by: { $0.key < $1.key }) {
            let stock = products[id]?.stock ?? 0
            if held > stock { report(.holdsExceedStock, "product \(id)", "live holds \(held) > stock \(stock)") }
        }
        for (id, held) in onRecommendation.sorted(by: { $0.key < $1.key }) {
            let quantity = recommendations[id]?.quantity ?? 0
            if held > quantity { report(.holdsExceedStock, "recommendation \(id)", "live holds \(held) > quantity \(quantity)") }
        }
    }
}

extension Tuple {
    /// A readable form of an encoded key (hex when it is not a tuple).
    static func describe(_ key: [UInt8]) -> String {
        if let t = try? Tuple(unpacking: key) { return t.description }
        return "0x" + key.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
