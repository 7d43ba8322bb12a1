// After-sale: partial cancels before settlement, returns and refunds (also after settlement),
// and how a recommendation converts.
//
// Both go through `reduceLines` (Store+OrderLines.swift): the units go back to stock (always for
// a cancel; for a return only with `restock`), the expert's commission is recomputed on the units
// the buyer keeps and the difference taken off the Earning and its counter, and, for a paid or
// settled order, recorded in the ledger as a negative earning (a clawback). Cancelling the last
// kept unit of an order cancels the order. Lines are named as in checkout (product and
// recommendation); the same line may appear once per call.

/// What a return did.
public struct ReturnResult: Hashable, Sendable {
    /// The order after the return.
    public var order: Order
    /// The amount refunded to the buyer: the unit price of each returned unit.
    public var refundFen: Int64
    /// Commission clawed back, per expert.
    public var clawbackFen: [ExpertID: Int64]
}

extension Store {
    /// Cancels some units of an order awaiting payment or paid (not settled): they go back to
    /// stock and to their recommendation, and their commission is taken back (recorded as a
    /// negative earning when the order was paid). Cancelling every kept unit cancels the order.
    /// - Throws: ``VitrineError/orderStatusConflict(_:status:)``, ``VitrineError/notInOrder(_:product:recommendation:)``,
    ///   ``VitrineError/moreThanInOrder(_:product:requested:available:)``, ``VitrineError/emptyCheckout`` (no lines),
    ///   ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/unknownOrder(_:)``,
    ///   ``VitrineError/amountOverflow(field:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func cancelLines(of id: OrderID, _ lines: [CheckoutLine]) throws -> Order {
        try validateAfterSale(id, lines)
        let now = self.now
        let entryID = OrderID.generate().rawValue
        return try backend.write { tx in
            var order = try tx.order(id)
            guard order.status == .placed || order.status == .paid else {
                throw VitrineError.orderStatusConflict(id, status: order.status)
            }
            let reductions = try Self.resolve(order, lines).map { LineReduction(index: $0.index, cancelled: $0.quantity) }
            let takenBack = try reduceLines(tx, &order, reductions)
            try recordClawback(tx, order, takenBack, reason: .cancelled, now: now, entryID: entryID)
            if order.lines.allSatisfy({ $0.keptQuantity == 0 }) {
                try cancelled(tx, &order, now: now)
            } else {
                try tx.store(order, Keys.order(id))
                // Confirmations may now cover every partner with kept lines.
                if order.status == .placed, try Self.partnersStillUnpaid(tx, order).isEmpty {
                    try markPaid(tx, &order, now: now, entryID: entryID)
                }
            }
            return order
        }
    }

    /// Returns units of a paid or settled order and refunds them; with `restock`, they go back
    /// to stock and to their recommendation (else they stay sold: damaged, kept by the buyer,
    /// ...). The expert's commission on them is clawed back, recorded as a negative earning, from
    /// the pending total or, after settlement, from the settled one.
    /// - Throws: as ``cancelLines(of:_:)``, with ``VitrineError/orderStatusConflict(_:status:)``
    ///   for an order not paid or settled.
    @discardableResult
    public func returnLines(of id: OrderID, _ lines: [CheckoutLine], restock: Bool) throws -> ReturnResult {
        try validateAfterSale(id, lines)
        let now = self.now
        let entryID = OrderID.generate().rawValue
        return try backend.write { tx in
            var order = try tx.order(id)
            guard order.status == .paid || order.status == .settled else {
                throw VitrineError.orderStatusConflict(id, status: order.status)
            }
            var refund: Int64 = 0
            let reductions = try Self.resolve(order, lines).map { r -> LineReduction in
                refund = try checkedAdd(
                    refund, try checkedMultiply(order.lines[r.index].unitPriceFen, r.quantity, "refundFen"), "refundFen")
                return LineReduction(index: r.index, returned: r.quantity, restocked: restock ? r.quantity : 0)
            }
            let takenBack = try reduceLines(tx, &order, reductions)
            try recordClawback(tx, order, takenBack, reason: .returned, now: now, entryID: entryID)
            try tx.store(order, Keys.order(id))
            return ReturnResult(order: order, refundFen: refund, clawbackFen: takenBack)
        }
    }

    private func validateAfterSale(_ id: OrderID, _ lines: [CheckoutLine]) throws {
        try id.validate()
        guard !lines.isEmpty else { throw VitrineError.emptyCheckout }
        guard lines.count <= Configuration.maxCartLinesUpperBound else {
            throw VitrineError.cartFull(limit: Configuration.maxCartLinesUpperBound)
        }
        for line in lines {
            try line.product.validate()
            try line.recommendation?.validate()
            guard line.quantity >= 1 else { throw VitrineError.quantityOutOfRange(line.quantity, allowed: 1...Int64.max) }
        }
        guard Set(lines.map { LineKey($0.product, $0.recommendation) }).count == lines.count else {
            throw VitrineError.invalidArgument(field: "lines", reason: "a product and recommendation may appear once")
        }
    }

    /// The order's line index and units for each requested line, each within what the line keeps.
    static func resolve(_ order: Order, _ lines: [CheckoutLine]) throws -> [(index: Int, quantity: Int64)] {
        try lines.map { request in
            guard let i = order.lines.firstIndex(where: { $0.product == request.product && $0.recommendation == request.recommendation })
            else {
                throw VitrineError.notInOrder(order.id, product: request.product, recommendation: request.recommendation)
            }
            guard request.quantity <= order.lines[i].keptQuantity else {
                throw VitrineError.moreThanInOrder(
                    order.id, product: request.product, requested: request.quantity, available: order.lines[i].keptQuantity)
            }
            return (i, request.quantity)
        }
    }

    /// Partners with kept lines and no confirmation yet.
    static func partnersStillUnpaid<R: OrderedKeyValueReader>(_ tx: R, _ order: Order) throws -> [PartnerID] {
        try Set(order.lines.filter { $0.keptQuantity > 0 }.map(\.partner)).sorted().filter { try tx.get(Keys.payment(order.id, $0)) == nil }
    }

    /// How a recommendation converts: favourites of its product, cart lines through it, and the
    /// orders (and paid ones) with a line through it. Reads every favourite, cart line and order:
    /// a reporting call, not a request path.
    /// - Throws: ``VitrineError/unknownRecommendation(_:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func conversion(of id: RecommendationID) throws -> RecommendationConversion {
        try id.validate()
        return try backend.read { tx in
            let r = try tx.recommendation(id)
            var c = RecommendationConversion(recommendation: id, favourites: 0, cartLines: 0, orders: 0, paidOrders: 0, unitsKept: 0)
            try tx.scan(Keys.favourites) { pair in
                if try decodeRecord(Favourite.self, pair.value, key: pair.key).product == r.product { c.favourites += 1 }
            }
            try tx.scan(Keys.carts) { pair in
                if try decodeRecord(CartLine.self, pair.value, key: pair.key).recommendation == id { c.cartLines += 1 }
            }
            try tx.scan(Keys.orders) { pair in
                let o = try decodeRecord(Order.self, pair.value, key: pair.key)
                let through = o.lines.filter { $0.recommendation == id }
                guard !through.isEmpty else { return }
                c.orders += 1
                if o.status == .paid || o.status == .settled { c.paidOrders += 1 }
                if !o.status.isVoid { c.unitsKept = try checkedAdd(c.unitsKept, through.reduce(0) { $0 &+ $1.keptQuantity }, "units") }
            }
            return c
        }
    }
}
