// Checkout: the purchase through the intermediate page, as one transaction. The order it places
// awaits the partners' payment (Store+Payment.swift), which expires after `paymentWindow`.
//
// Steps, all inside one write transaction (so all or nothing):
//   1. If (user, idempotencyKey) already produced an order, return that order and change nothing
//      (or throw `idempotencyKeyReused` when explicit lines differ from it). A whole-cart replay
//      also returns the lines in the cart now, which it did not buy (`linesNotBought`).
//      A key is remembered for `configuration.idempotencyRetention` after its order was placed
//      (Store+Idempotency.swift): past that it counts as unused, lazily, whether or not the sweep
//      has deleted its record yet, and this checkout places a new order under it.
//   2. Resolve the lines (explicit, or the whole cart); each must be a cart line, and an explicit
//      line asks for at most the cart line's quantity.
//   3. Re-check every line: product exists and is on sale, recommendation exists, is active and
//      for that product, and the demand summed per product and per recommendation is available
//      (the holds of the lines being bought count as available; all other holds do not). Every short line is reported at once: `outOfStock`.
//   4. Compare each line's captured price with the current one; unless the caller accepts price
//      changes, throw `priceChanged` listing them all. When the caller gives the total it agreed
//      to (`expectedTotalFen`, what the intermediate page showed), the order's total must be
//      exactly that, or `totalMismatch`: accepting price changes then means accepting the
//      prices that make up that total, not any price.
//   5. Decrement product stock (and add to sold) and recommendation quantity; write the order
//      with commission per line; remove or shrink the bought cart lines and their holds (a line
//      bought in part keeps what is left of a live hold, with its expiry: Store+Holds.swift); record
//      the idempotency key; add the commission to each expert's pending earnings (atomicAdd,
//      after checking that the sum fits: `addToCounter`).
//
// Commission rule: per line, lineTotalFen * commissionBasisPoints / 10000 rounded down to the
// fen (`commission(onLineTotal:basisPoints:)`); the order's commission is the sum of its lines.

/// The result of a checkout.
public struct CheckoutResult: Hashable, Sendable {
    /// The order placed (or, for a replay, the one placed before).
    public var order: Order
    /// Lines whose price changed since they were added (bought at the new price).
    public var priceChanges: [PriceChange]
    /// True when the idempotency key had already been used: `order` is the original order and
    /// nothing was changed by this call.
    public var isReplay: Bool
    /// On a replay of a whole-cart checkout, the lines in the cart now: this call did not buy
    /// them (the key's order was placed before they were added; buy them with a new key).
    /// Empty otherwise.
    public var linesNotBought: [CheckoutLine] = []
}

extension Store {
    /// Buys cart lines as one order.
    ///
    /// - Parameters:
    ///   - user: the buyer (whose cart the lines are in).
    ///   - lines: what to buy, each a line of the user's cart and at most its quantity (buying
    ///     fewer than the line holds leaves the rest in the cart); nil buys the whole cart.
    ///   - idempotencyKey: required, at most 128 bytes, unique per purchase of this user. A retry
    ///     with the same key within ``Configuration/idempotencyRetention`` (30 days by default) of
    ///     the original order returns that order and changes nothing (a whole-cart retry lists the
    ///     cart lines it did not buy in ``CheckoutResult/linesNotBought``). After that window the
    ///     key is forgotten: a retry places a new order.
    ///   - acceptPriceChanges: buy at the current price when it differs from the captured one.
    ///   - expectedTotalFen: the total the buyer agreed to (shown on the intermediate page); when
    ///     given, the order is placed only at exactly this total. With `acceptPriceChanges`, this
    ///     bounds what is accepted: changed prices, as long as they make up this total. A retry
    ///     with a used key and another expected total than its order's is
    ///     ``VitrineError/idempotencyKeyReused(key:order:)``. nil: no check (as before).
    /// - Throws: ``VitrineError/outOfStock(_:)`` (every short line, with what is available; nothing
    ///   changed), ``VitrineError/priceChanged(_:)``, ``VitrineError/totalMismatch(expectedFen:actualFen:)``,
    ///   ``VitrineError/idempotencyKeyReused(key:order:)``,
    ///   ``VitrineError/notInCart(_:recommendation:)``,
    ///   ``VitrineError/moreThanInCart(_:recommendation:requested:inCart:)``, ``VitrineError/emptyCheckout``,
    ///   ``VitrineError/quantityOutOfRange(_:allowed:)``, ``VitrineError/unknownExpert(_:)``,
    ///   ``VitrineError/amountOverflow(field:)``, ``VitrineError/invalidArgument(field:reason:)``,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func checkout(
        user: UserID, lines: [CheckoutLine]? = nil, idempotencyKey: String, acceptPriceChanges: Bool = false,
        expectedTotalFen: Int64? = nil
    ) throws -> CheckoutResult {
        try user.validate()
        try validateKeyText(idempotencyKey, field: "idempotencyKey", maxBytes: Limits.requestIDBytes)
        if let lines {
            guard lines.count <= configuration.maxCartLines else { throw VitrineError.cartFull(limit: configuration.maxCartLines) }
            for line in lines {
                try line.product.validate()
                try line.recommendation?.validate()
                try validateLineQuantity(line.quantity)
            }
            guard Set(lines.map { LineKey($0.product, $0.recommendation) }).count == lines.count else {
                throw VitrineError.invalidArgument(field: "lines", reason: "a product and recommendation may appear once")
            }
        }
        let orderID = OrderID.generate() // made outside the transaction
        let now = self.now
        let owner = CartOwner.user(user)
        let expiryID = OrderID.generate().rawValue
        func body(_ tx: Backend.Writer) throws -> CheckoutResult {
            // 0. Overdue unpaid orders give their stock back first (lazy expiry, Store+Payment.swift).
            _ = try expireOverdue(tx, now: now, limit: Self.expiriesPerCheckout, entryID: expiryID)
            // 1. Idempotency.
            let idempotencyKeyBytes = Keys.idempotency(user, idempotencyKey)
            if let done = try tx.load(IdempotencyRecord.self, idempotencyKeyBytes),
                let order = try liveIdempotentOrder(tx, done, user: user, key: idempotencyKey, now: now)
            {
                if let lines, !Self.sameContent(lines, order) {
                    throw VitrineError.idempotencyKeyReused(key: idempotencyKey, order: order.id)
                }
                if let expectedTotalFen, expectedTotalFen != order.totalFen {
                    throw VitrineError.idempotencyKeyReused(key: idempotencyKey, order: order.id)
                }
                // A whole-cart retry cannot tell a lost reply from a new purchase under an old
                // key: it says what stays unbought, so the caller is not left thinking it bought it.
                let notBought =
                    lines != nil
                    ? []
                    : try Self.lines(tx, owner).map {
                        CheckoutLine(product: $0.product, recommendation: $0.recommendation, quantity: $0.quantity)
                    }
                return CheckoutResult(order: order, priceChanges: [], isReplay: true, linesNotBought: notBought)
            }

            // 2. Resolve lines against the cart.
            var wanted: [(request: CheckoutLine, cart: CartLine)] = []
            if let lines {
                for request in lines {
                    guard let cartLine = try tx.load(CartLine.self, Keys.cartLine(owner, request.product, request.recommendation)) else {
                        throw VitrineError.notInCart(request.product, recommendation: request.recommendation)
                    }
                    guard request.quantity <= cartLine.quantity else {
                        throw VitrineError.moreThanInCart(
                            request.product, recommendation: request.recommendation, requested: request.quantity,
                            inCart: cartLine.quantity)
                    }
                    wanted.append((request, cartLine))
                }
            } else {
                for cartLine in try Self.lines(tx, owner) {
                    wanted.append(
                        (
                            CheckoutLine(product: cartLine.product, recommendation: cartLine.recommendation, quantity: cartLine.quantity),
                            cartLine
                        ))
                }
            }
            guard !wanted.isEmpty else { throw VitrineError.emptyCheckout }
            // A cart filled under an older, larger limit: its order would not fit one value.
            guard wanted.count <= configuration.maxCartLines else { throw VitrineError.cartFull(limit: configuration.maxCartLines) }

            // 3. Re-check every line.
            var products: [ProductID: Product] = [:]
            var recommendations: [RecommendationID: Recommendation] = [:]
            var productDemand: [ProductID: Int64] = [:]
            var recommendationDemand: [RecommendationID: Int64] = [:]
            for (request, _) in wanted {
                if products[request.product] == nil, let p = try tx.load(Product.self, Keys.product(request.product)) {
                    products[request.product] = p
                }
                productDemand[request.product] = try checkedAdd(productDemand[request.product] ?? 0, request.quantity, "quantity")
                if let rid = request.recommendation {
                    if recommendations[rid] == nil, let r = try tx.load(Recommendation.self, Keys.recommendation(rid)) {
                        recommendations[rid] = r
                    }
                    recommendationDemand[rid] = try checkedAdd(recommendationDemand[rid] ?? 0, request.quantity, "quantity")
                }
            }
            let buying = Set(wanted.map { HoldLine(owner: owner, product: $0.request.product, recommendation: $0.request.recommendation) })
            var shortages: [Shortage] = []
            for (request, _) in wanted {
                func short(_ available: Int64, _ reason: Shortage.Reason) {
                    shortages.append(
                        Shortage(
                            product: request.product, recommendation: request.recommendation, requested: request.quantity,
                            available: available, reason: reason))
                }
                guard let p = products[request.product] else { short(0, .productMissing); continue }
                guard p.isOnSale else { short(0, .productOffSale); continue }
                var r: Recommendation? = nil
                if let rid = request.recommendation {
                    guard let found = recommendations[rid], found.product == p.id else { short(0, .recommendationMissing); continue }
                    guard found.status == .active else { short(0, .recommendationWithdrawn); continue }
                    r = found
                }
                let a = try availability(tx, product: p, recommendation: r, excluding: buying, now: now)
                let productShort = (productDemand[p.id] ?? 0) > a.product
                let recommendationShort = r.map { (recommendationDemand[$0.id] ?? 0) > (a.recommendation ?? 0) } ?? false
                if productShort || recommendationShort { short(a.units, .insufficientStock) }
            }
            guard shortages.isEmpty else { throw VitrineError.outOfStock(shortages) }

            // 4. Prices.
            var priceChanges: [PriceChange] = []
            for (request, cartLine) in wanted {
                guard let p = products[request.product] else { continue }
                if p.priceFen != cartLine.unitPriceFen {
                    priceChanges.append(
                        PriceChange(
                            product: p.id, recommendation: request.recommendation, oldUnitPriceFen: cartLine.unitPriceFen,
                            newUnitPriceFen: p.priceFen))
                }
            }
            if !priceChanges.isEmpty && !acceptPriceChanges { throw VitrineError.priceChanged(priceChanges) }

            // 5. Apply.
            var orderLines: [OrderLine] = []
            var experts: [ExpertID: Expert] = [:]
            var commissionByExpert: [ExpertID: Int64] = [:]
            var total: Int64 = 0
            var totalCommission: Int64 = 0
            for (request, _) in wanted {
                guard let p = products[request.product] else { continue }
                var expert: Expert? = nil
                if let rid = request.recommendation, let r = recommendations[rid] {
                    if experts[r.expert] == nil { experts[r.expert] = try tx.expert(r.expert) }
                    expert = experts[r.expert]
                }
                let lineTotal = try checkedMultiply(p.priceFen, request.quantity, "lineTotalFen")
                let rate = expert?.commissionBasisPoints ?? 0
                let lineCommission = try commission(onLineTotal: lineTotal, basisPoints: rate)
                orderLines.append(
                    OrderLine(
                        product: p.id, partner: p.partner, recommendation: request.recommendation, expert: expert?.id,
                        quantity: request.quantity, unitPriceFen: p.priceFen, lineTotalFen: lineTotal,
                        commissionBasisPoints: rate, commissionFen: lineCommission, title: p.title))
                total = try checkedAdd(total, lineTotal, "totalFen")
                totalCommission = try checkedAdd(totalCommission, lineCommission, "commissionFen")
                if let e = expert {
                    commissionByExpert[e.id] = try checkedAdd(commissionByExpert[e.id] ?? 0, lineCommission, "commissionFen")
                }
            }
            if let expectedTotalFen, expectedTotalFen != total {
                throw VitrineError.totalMismatch(expectedFen: expectedTotalFen, actualFen: total)
            }
            for (id, demand) in productDemand {
                guard var p = products[id] else { continue }
                p.stock = try checkedSubtract(p.stock, demand, "stock")
                p.sold = try checkedAdd(p.sold, demand, "sold")
                try tx.store(p, Keys.product(id))
                products[id] = p
            }
            for (id, demand) in recommendationDemand {
                guard var r = recommendations[id] else { continue }
                r.quantity = try checkedSubtract(r.quantity, demand, "quantity")
                try tx.store(r, Keys.recommendation(id))
            }
            // The bought lines' holds go first, so what is left of each is re-held against the new
            // stock beside every other hold.
            var oldHolds: [LineKey: Hold] = [:]
            for (request, _) in wanted {
                oldHolds[LineKey(request.product, request.recommendation)] =
                    try tx.load(Hold.self, Keys.hold(request.product, request.recommendation, owner))
                try releaseHold(tx, owner: owner, product: request.product, recommendation: request.recommendation)
            }
            for (request, cartLine) in wanted {
                let key = Keys.cartLine(owner, request.product, request.recommendation)
                let remaining = try checkedSubtract(cartLine.quantity, request.quantity, "quantity")
                if remaining <= 0 {
                    try tx.clear(key)
                } else {
                    var rest = cartLine
                    rest.quantity = remaining
                    try tx.store(rest, key)
                    // The units bought came out of the hold first; a live hold keeps the rest of
                    // itself and its expiry (buying part is no renewal), an expired one is gone.
                    let old = oldHolds[LineKey(request.product, request.recommendation)]
                    let left = old.map { $0.quantity.subtractingReportingOverflow(request.quantity) }
                    try keepHold(
                        tx, HoldLine(owner: owner, product: request.product, recommendation: request.recommendation),
                        old: old, product: products[request.product],
                        units: left.map { $0.overflow ? 0 : min(remaining, $0.partialValue) } ?? 0, now: now)
                }
            }
            let order = Order(
                id: orderID, user: user, lines: orderLines, totalFen: total, commissionFen: totalCommission,
                idempotencyKey: idempotencyKey, placedAt: now, status: .awaitingPayment,
                paymentDueAt: now.adding(milliseconds: configuration.paymentWindow.wholeMilliseconds))
            try tx.store(order, Keys.order(orderID))
            if let due = Keys.orderDue(order) { try tx.set(due, []) }
            try tx.set(Keys.orderOfUser(order), [])
            try tx.store(IdempotencyRecord(order: orderID), idempotencyKeyBytes)
            try tx.set(Keys.idempotencyByTime(now, user, idempotencyKey), [])
            for (expert, amount) in commissionByExpert {
                try tx.store(
                    OrderEarning(expert: expert, order: orderID, commissionFen: amount, status: .placed, placedAt: now),
                    Keys.earning(expert, orderID))
                try tx.addToCounter(Keys.pendingTotal(expert), amount, field: "pendingFen")
            }
            return CheckoutResult(order: order, priceChanges: priceChanges, isReplay: false)
        }
        // A commit lost in flight (a replicated backend's `UnknownCommitOutcome`) is resolved
        // here, through the idempotency key: the same checkout, with the same order id, runs
        // again. Either the lost commit was applied, and the key now names our order (the run
        // whose commit was lost is the result), or it was not, and this run places the order.
        // Never a second order: both runs write the key, and the backend lets only one commit.
        var lastRun: CheckoutResult? = nil
        var lostRuns: [CheckoutResult] = [] // runs whose commit was sent and then lost
        while true {
            do {
                let result = try backend.write { tx in
                    let result = try body(tx)
                    lastRun = result
                    return result
                }
                // Our own lost commit was applied: the order in the store is ours.
                if result.isReplay, result.order.id == orderID, !lostRuns.isEmpty {
                    let run = lostRuns.last { $0.order == result.order }
                    return CheckoutResult(order: result.order, priceChanges: run?.priceChanges ?? [], isReplay: false)
                }
                return result
            } catch let error as any UnknownCommitOutcome where error.isUnknownCommitOutcome && lostRuns.count < Self.unknownOutcomeRetries
            {
                if let lastRun { lostRuns.append(lastRun) }
            }
        }
    }

    /// How many times checkout resolves a lost commit before it passes the error on.
    static var unknownOutcomeRetries: Int { 3 }

    /// Whether explicit checkout lines are the content of `order` (same products, recommendations
    /// and quantities, in any order).
    static func sameContent(_ lines: [CheckoutLine], _ order: Order) -> Bool {
        func normal(_ items: [(ProductID, RecommendationID?, Int64)]) -> [[UInt8]] { // bytes, as ids compare
            items.map { Array("\($0.0.rawValue)\u{0}\($0.1?.rawValue ?? "")\u{0}\($0.2)".utf8) }
                .sorted { $0.lexicographicallyPrecedes($1) }
        }
        return normal(lines.map { ($0.product, $0.recommendation, $0.quantity) })
            == normal(order.lines.map { ($0.product, $0.recommendation, $0.quantity) })
    }
}

struct LineKey: Hashable {
    var product: ProductID
    var recommendation: RecommendationID?
    init(_ product: ProductID, _ recommendation: RecommendationID?) {
        self.product = product
        self.recommendation = recommendation
    }
}
