// Cart-line holds: how they are placed, renewed and shrunk, and the limits against hoarding.
//
// Invariant: the live holds on a product never exceed its stock, and those through a
// recommendation never exceed its quantity. Every hold is written by `writeHold`, which caps it at
// what is available to its line (stock, or the recommendation's quantity, minus the other live
// holds; see Availability.swift) and at the share of the stock carts may hold. Stock only falls at
// checkout, which takes no more than what the other live holds leave, so the invariant survives it.
//
// When a hold gets a fresh expiry (now + the product's hold time), and when not:
//   - add, raise: the whole line is held afresh, as long as the line has been granted at most
//     `1 + maxHoldRenewals` holds (`CartLine.holdsGranted`); past that the line stays in the cart
//     and keeps whatever hold it has until that lapses. A grant that holds nothing is not counted.
//   - lower, buy part: a live hold shrinks to what is left of it and keeps its expiry; an expired
//     hold is dropped (its units may be held by others by now). Never a renewal.
//   - merge: the guest's and the user's live holds of a line move to the merged line (their sum,
//     capped at its quantity) with the earlier of their expiries; the line keeps the larger count
//     of grants. Never a renewal.
// Limits against hoarding, besides the renewals: one cart (owner) may have at most
// `maxUnitsPerBuyer` units of a product over all its lines of it, and carts together may hold at
// most `maxHeldShareBasisPoints` of a product's stock; units past that share go into carts
// unheld and stay for whoever checks out first. Guest ids are issued by the store
// (Store+Guests.swift), so a cart cannot be opened under a made-up name.

extension Store {
    /// The most units of `product` that carts may hold at once: the configured share of its stock,
    /// rounded down.
    func heldShareLimit(_ product: Product) -> Int64 {
        let bp = configuration.maxHeldShareBasisPoints
        let stock = max(0, product.stock)
        // stock × bp / 10000, in parts that cannot overflow (bp <= 10000).
        return stock / 10_000 * bp + stock % 10_000 * bp / 10_000
    }

    /// Writes the hold of one cart line: at most `units`, capped at what is available to the line
    /// and at the share of stock carts may hold, until `expiresAt`. Replaces the line's old hold.
    /// - Returns: the units held (0: the line has no hold now).
    @discardableResult
    func writeHold<W: OrderedKeyValueWriter>(
        _ tx: W, _ line: HoldLine, product: Product, units: Int64, expiresAt: Timestamp, now: Timestamp
    ) throws -> Int64 {
        try releaseHold(tx, owner: line.owner, product: line.product, recommendation: line.recommendation)
        guard holdMilliseconds(for: product) != nil, units > 0, now < expiresAt else { return 0 }
        var r: Recommendation? = nil
        if let rid = line.recommendation {
            guard let found = try tx.load(Recommendation.self, Keys.recommendation(rid)), found.product == product.id else { return 0 }
            r = found
        }
        let held = try heldByOthers(tx, product: product, recommendation: line.recommendation, excluding: [line], now: now)
        let available = try availability(product: product, recommendation: r, heldByOthers: held).units
        let share = max(0, heldShareLimit(product) - held.product)
        let n = min(units, available, share)
        guard n > 0 else { return 0 }
        let h = Hold(owner: line.owner, product: product.id, recommendation: line.recommendation, quantity: n, expiresAt: expiresAt)
        try tx.store(h, Keys.hold(h))
        try tx.set(Keys.holdExpiry(h), [])
        return n
    }

    /// Holds a line that was added to or raised: its whole quantity with a fresh expiry, unless it
    /// has used up its renewals (then its current hold stays as it is). Counts the grant in
    /// `line.holdsGranted`; the caller stores the line.
    func renewHold<W: OrderedKeyValueWriter>(
        _ tx: W, owner: CartOwner, line: inout CartLine, product: Product, now: Timestamp
    ) throws {
        let id = HoldLine(owner: owner, product: line.product, recommendation: line.recommendation)
        guard let ms = holdMilliseconds(for: product) else {
            try releaseHold(tx, owner: owner, product: line.product, recommendation: line.recommendation)
            return
        }
        guard line.holdsGranted <= UInt64(configuration.maxHoldRenewals) else { return }
        if try writeHold(tx, id, product: product, units: line.quantity, expiresAt: now.adding(milliseconds: ms), now: now) > 0 {
            line.holdsGranted += 1
        }
    }

    /// Keeps what is left of a line's hold after the line was lowered or partly bought: at most
    /// `units` and at most what `old` held, until `old`'s expiry. Drops the hold when `old` has
    /// lapsed (or there was none, or the product is gone).
    func keepHold<W: OrderedKeyValueWriter>(
        _ tx: W, _ line: HoldLine, old: Hold?, product: Product?, units: Int64, now: Timestamp
    ) throws {
        guard let old, old.isLive(at: now), let product else {
            try releaseHold(tx, owner: line.owner, product: line.product, recommendation: line.recommendation)
            return
        }
        try writeHold(tx, line, product: product, units: min(units, old.quantity), expiresAt: old.expiresAt, now: now)
    }

    /// Units of `product` in `owner`'s cart, over all its lines of the product but the one
    /// through `excluded`.
    func unitsInCart<R: OrderedKeyValueReader>(
        _ tx: R, _ owner: CartOwner, _ product: ProductID, excluding excluded: RecommendationID?
    ) throws -> Int64 {
        var units: Int64 = 0
        try tx.scan(Keys.cartLines(owner, product)) { pair in
            let line = try decodeRecord(CartLine.self, pair.value, key: pair.key)
            if line.recommendation != excluded { units = try checkedAdd(units, line.quantity, "quantity") }
        }
        return units
    }

    /// Throws ``VitrineError/buyerLimitExceeded(_:limit:)`` when `owner`'s cart would have more
    /// than `maxUnitsPerBuyer` units of the product with this line at `quantity`.
    func checkBuyerLimit<R: OrderedKeyValueReader>(
        _ tx: R, _ owner: CartOwner, _ product: ProductID, _ recommendation: RecommendationID?, quantity: Int64
    ) throws {
        let total = try checkedAdd(try unitsInCart(tx, owner, product, excluding: recommendation), quantity, "quantity")
        guard total <= configuration.maxUnitsPerBuyer else {
            throw VitrineError.buyerLimitExceeded(product, limit: configuration.maxUnitsPerBuyer)
        }
    }
}
