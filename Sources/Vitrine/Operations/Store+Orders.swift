// Orders after checkout: read, list, cancel, settle; and the experts' earnings.
//
// Status machine (the whole of it is at the top of Store+Payment.swift): placed | paid ->
// cancelled; paid -> settled once the settlement window has passed (an order placed before the
// purchase flow, without `paymentDueAt`, settles from placed as if paid at `placedAt`). Each
// transition happens exactly once; asking for it again (or cancelling a settled order) throws
// `orderStatusConflict` with the current status and changes nothing, so a retried cancel or
// settle is harmless.
//
// Earnings: per (expert, order) an Earning record with the commission and status; per expert two
// counters, pending (placed and paid orders) and settled, changed with atomicAdd after checking that the
// sum fits (`addToCounter`: a backend's add may wrap, as FoundationDB's does).

/// An expert's commission: totals and per order.
public struct ExpertEarnings: Hashable, Sendable {
    /// The expert.
    public var expert: ExpertID
    /// Commission of orders awaiting payment or paid, not yet payable, in fen.
    public var pendingFen: Int64
    /// Commission of settled orders (payable), in fen.
    public var settledFen: Int64
    /// Per order, including cancelled ones (which count in neither total).
    public var orders: [OrderEarning]
}

/// An expert's commission totals and one page of it per order (``Store/earningsPage(of:after:limit:)``).
public struct ExpertEarningsPage: Hashable, Sendable {
    /// The expert.
    public var expert: ExpertID
    /// Commission of orders awaiting payment or paid, not yet payable, in fen.
    public var pendingFen: Int64
    /// Commission of settled orders (payable), in fen.
    public var settledFen: Int64
    /// Per order, including cancelled ones (which count in neither total), by order id.
    public var orders: Page<OrderEarning>
}

extension Store {
    /// The order.
    /// - Throws: ``VitrineError/unknownOrder(_:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func order(_ id: OrderID) throws -> Order {
        try backend.read { tx in try tx.order(id) }
    }

    /// A user's orders, newest first.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func orders(of user: UserID, after cursor: PageCursor? = nil, limit: Int = 20) throws -> Page<Order> {
        try user.validate()
        try validateLimit(limit)
        return try backend.read { tx in
            let positions = try indexPositions(tx, Keys.ordersOfUser(user), before: cursor, limit: limit + 1)
            let orders = try positions.prefix(limit).map { try tx.order(OrderID($0.id)) }
            return Page(items: orders, next: positions.count > limit ? positions.prefix(limit).last : nil)
        }
    }

    /// Cancels an order awaiting payment or paid (not yet settled): gives every unit the buyer
    /// keeps back to the product (`stock` up, `sold` down) and to its recommendation, and reverses
    /// the commission (a paid order's earned commission is clawed back in the ledger). Happens
    /// exactly once.
    /// - Returns: the cancelled order.
    /// - Throws: ``VitrineError/orderStatusConflict(_:status:)`` (already cancelled, expired, or
    ///   settled: use returns), ``VitrineError/unknownOrder(_:)``, ``VitrineError/amountOverflow(field:)``,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func cancelOrder(_ id: OrderID) throws -> Order {
        let now = self.now
        let entryID = OrderID.generate().rawValue
        return try backend.write { tx in
            var order = try tx.order(id)
            guard order.status == .placed || order.status == .paid else {
                throw VitrineError.orderStatusConflict(id, status: order.status)
            }
            let takenBack = try reduceLines(tx, &order, Self.everyKeptUnit(order))
            try recordClawback(tx, order, takenBack, reason: .cancelled, now: now, entryID: entryID)
            try cancelled(tx, &order, now: now)
            return order
        }
    }

    /// Marks `order` (its kept units already given back) cancelled, and stores it.
    func cancelled<W: OrderedKeyValueWriter>(_ tx: W, _ order: inout Order, now: Timestamp) throws {
        if order.status == .placed, let due = Keys.orderDue(order) { try tx.clear(due) }
        order.status = .cancelled
        order.statusChangedAt = now
        try setEarningsStatus(tx, order, .cancelled)
        try tx.store(order, Keys.order(order.id))
    }

    /// Settles a paid order once the settlement window has passed since its payment: its
    /// commission becomes payable; it can no longer be cancelled (returns still claw back).
    /// Happens exactly once.
    /// - Returns: the settled order.
    /// - Throws: ``VitrineError/settlementWindowOpen(_:settleableAt:)``,
    ///   ``VitrineError/orderStatusConflict(_:status:)`` (awaiting payment, already settled,
    ///   cancelled or expired), ``VitrineError/unknownOrder(_:)``, ``VitrineError/corruptRecord(key:_:)``;
    ///   backend errors.
    @discardableResult
    public func settleOrder(_ id: OrderID) throws -> Order {
        let now = self.now
        let window = configuration.settlementWindow.wholeMilliseconds
        return try backend.write { tx in
            var order = try tx.order(id)
            let legacy = order.status == .placed && order.paymentDueAt == nil
            guard order.status == .paid || legacy else { throw VitrineError.orderStatusConflict(id, status: order.status) }
            let settleableAt = (order.paidAt ?? order.placedAt).adding(milliseconds: window)
            guard settleableAt <= now else { throw VitrineError.settlementWindowOpen(id, settleableAt: settleableAt) }
            try setEarningsStatus(tx, order, .settled)
            order.status = .settled
            order.statusChangedAt = now
            try tx.store(order, Keys.order(id))
            return order
        }
    }

    /// An expert's earnings: pending and settled totals, and the commission of every order.
    ///
    /// Reads every one of the expert's orders in one snapshot, so its cost grows with them: meant
    /// for tools and small stores. Request paths use ``earningsPage(of:after:limit:)``, which reads
    /// the totals (two counters) and one page.
    /// - Throws: ``VitrineError/unknownExpert(_:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func earnings(of expert: ExpertID) throws -> ExpertEarnings {
        try backend.read { tx in
            _ = try tx.expert(expert)
            var orders: [OrderEarning] = []
            try tx.scan(Keys.earnings(expert)) { pair in orders.append(try decodeRecord(OrderEarning.self, pair.value, key: pair.key)) }
            orders.sort { $0.placedAt != $1.placedAt ? $0.placedAt > $1.placedAt : $0.order > $1.order }
            return ExpertEarnings(
                expert: expert, pendingFen: try tx.counter(Keys.pendingTotal(expert)),
                settledFen: try tx.counter(Keys.settledTotal(expert)), orders: orders)
        }
    }

    /// An expert's pending and settled totals (two counters, whatever the number of orders) and
    /// one page of the commission per order, in the order of the order ids' bytes (the key order
    /// of the earnings; stable while orders are added, each order appears once over the pages).
    ///
    /// - Parameters:
    ///   - expert: whose earnings.
    ///   - cursor: the `next` of the previous page; nil for the first page.
    ///   - limit: page size, 1...1000.
    /// - Throws: ``VitrineError/unknownExpert(_:)``, ``VitrineError/invalidArgument(field:reason:)``,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func earningsPage(of expert: ExpertID, after cursor: PageCursor? = nil, limit: Int = 20) throws -> ExpertEarningsPage {
        try expert.validate()
        try validateLimit(limit)
        return try backend.read { tx in
            _ = try tx.expert(expert)
            let prefix = Keys.earnings(expert)
            var (begin, end) = prefix.range
            if let cursor { begin = Keys.earning(expert, OrderID(cursor.id)) + [0x00] }
            if !begin.lexicographicallyPrecedes(end) { begin = end }
            let pairs = try tx.getRange(from: begin, to: end, limit: limit + 1, reverse: false)
            let items = try pairs.prefix(limit).map { try decodeRecord(OrderEarning.self, $0.value, key: $0.key) }
            let next = pairs.count > limit ? items.last.map { PageCursor(time: $0.placedAt, id: $0.order.rawValue) } : nil
            return ExpertEarningsPage(
                expert: expert, pendingFen: try tx.counter(Keys.pendingTotal(expert)),
                settledFen: try tx.counter(Keys.settledTotal(expert)), orders: Page(items: items, next: next))
        }
    }

    /// An expert's commission from one order.
    /// - Throws: ``VitrineError/unknownOrder(_:)`` (no commission for this expert in it),
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func earning(of expert: ExpertID, order: OrderID) throws -> OrderEarning {
        try backend.read { tx in
            guard let e = try tx.load(OrderEarning.self, Keys.earning(expert, order)) else { throw VitrineError.unknownOrder(order) }
            return e
        }
    }
}
