// Taking units off an order's lines (cancel, expiry, returns), with everything that follows.
//
// One function, `reduceLines`, is the only writer of the lines' after-sale quantities, so every
// path keeps the same books:
//   - cancelled units, and returned units put back in stock (`restocked`), go back to the product
//     (`stock` up, `sold` down) and to the recommendation (`quantity` up);
//   - returned units not restocked stay sold (they left the stock for good) but are refunded;
//   - the expert's commission is recomputed on the units the buyer keeps, line by line by the
//     checkout's rule (`commission(onLineTotal:basisPoints:)`), and the difference is taken off
//     the Earning and off the counter the order's status counts in (pending or settled).
// The caller sets the order's status and stores it; the commission taken back per expert is
// returned for the earnings ledger (Store+EarningsLedger.swift).

/// Units to take off one line of an order.
struct LineReduction {
    var index: Int
    var cancelled: Int64 = 0
    var returned: Int64 = 0
    /// Of `returned`, units put back in stock.
    var restocked: Int64 = 0
}

extension Store {
    /// The commission of the units each expert's lines keep, by the checkout's rule.
    static func keptCommission(_ order: Order) throws -> [ExpertID: Int64] {
        var result: [ExpertID: Int64] = [:]
        for line in order.lines {
            guard let expert = line.expert else { continue }
            let kept = try checkedMultiply(line.unitPriceFen, max(0, line.keptQuantity), "lineTotalFen")
            let c = try commission(onLineTotal: kept, basisPoints: line.commissionBasisPoints)
            result[expert] = try checkedAdd(result[expert] ?? 0, c, "commissionFen")
        }
        return result
    }

    /// Applies `reductions` to `order` (in memory; the caller stores it) and to the products,
    /// recommendations, earnings and counters. The caller has checked that each line has the units.
    /// - Returns: the commission taken back, per expert (only non-zero amounts).
    func reduceLines<W: OrderedKeyValueWriter>(
        _ tx: W, _ order: inout Order, _ reductions: [LineReduction]
    ) throws -> [ExpertID: Int64] {
        let before = try Self.keptCommission(order)
        for r in reductions {
            var line = order.lines[r.index]
            line.cancelledQuantity = try checkedAdd(line.cancelledQuantity, r.cancelled, "cancelledQuantity")
            line.returnedQuantity = try checkedAdd(line.returnedQuantity, r.returned, "returnedQuantity")
            line.restockedQuantity = try checkedAdd(line.restockedQuantity, r.restocked, "restockedQuantity")
            order.lines[r.index] = line
            let back = try checkedAdd(r.cancelled, r.restocked, "quantity")
            guard back > 0 else { continue }
            if var p = try tx.load(Product.self, Keys.product(line.product)) {
                p.stock = try checkedAdd(p.stock, back, "stock")
                p.sold = try checkedSubtract(p.sold, back, "sold")
                try tx.store(p, Keys.product(p.id))
            }
            if let rid = line.recommendation, var rec = try tx.load(Recommendation.self, Keys.recommendation(rid)) {
                rec.quantity = try checkedAdd(rec.quantity, back, "quantity")
                try tx.store(rec, Keys.recommendation(rid))
            }
        }
        let after = try Self.keptCommission(order)
        var takenBack: [ExpertID: Int64] = [:]
        for (expert, was) in before.sorted(by: { $0.key < $1.key }) {
            let delta = try checkedSubtract(was, after[expert] ?? 0, "commissionFen")
            guard delta != 0 else { continue }
            takenBack[expert] = delta
            let key = Keys.earning(expert, order.id)
            guard var earning = try tx.load(OrderEarning.self, key) else { continue }
            earning.commissionFen = try checkedSubtract(earning.commissionFen, delta, "commissionFen")
            try tx.store(earning, key)
            if earning.status.isPending {
                try tx.addToCounter(Keys.pendingTotal(expert), -delta, field: "pendingFen")
            } else if earning.status == .settled {
                try tx.addToCounter(Keys.settledTotal(expert), -delta, field: "settledFen")
            }
        }
        return takenBack
    }

    /// Gives the order's status to its Earnings, moving their commission between the counters:
    /// pending (placed, paid), settled, or none (cancelled, expired).
    func setEarningsStatus<W: OrderedKeyValueWriter>(_ tx: W, _ order: Order, _ status: OrderStatus) throws {
        for expert in Set(order.lines.compactMap(\.expert)).sorted() {
            let key = Keys.earning(expert, order.id)
            guard var earning = try tx.load(OrderEarning.self, key), earning.status != status else { continue }
            let amount = earning.commissionFen
            if earning.status.isPending && !status.isPending {
                try tx.addToCounter(Keys.pendingTotal(expert), -amount, field: "pendingFen")
            }
            if earning.status == .settled && status != .settled {
                try tx.addToCounter(Keys.settledTotal(expert), -amount, field: "settledFen")
            }
            if status.isPending && !earning.status.isPending {
                try tx.addToCounter(Keys.pendingTotal(expert), amount, field: "pendingFen")
            }
            if status == .settled && earning.status != .settled {
                try tx.addToCounter(Keys.settledTotal(expert), amount, field: "settledFen")
            }
            earning.status = status
            try tx.store(earning, key)
        }
    }

    /// Cancels every unit the buyer still keeps (an order cancelled or expired as a whole).
    static func everyKeptUnit(_ order: Order) -> [LineReduction] {
        order.lines.indices.compactMap { i in
            let kept = order.lines[i].keptQuantity
            return kept > 0 ? LineReduction(index: i, cancelled: kept) : nil
        }
    }
}
