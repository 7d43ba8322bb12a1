// Carts: add, set quantity, remove, clear, read, and merge a guest cart on sign-in.
// A guest cart needs a guest id the store issued (Store+Guests.swift); every change of a guest's
// cart (and a merge) records the guest's activity, which keeps it from the idle-guest sweep.
//
// A cart is the lines under ("cart", ownerKind, ownerID); each line is keyed by product and
// recommendation, so adding the same product through the same recommendation again merges.
// Limits: quantity per line in `configuration.lineQuantity`, at most `configuration.maxCartLines`
// lines, at most `configuration.maxUnitsPerBuyer` units of one product over a cart's lines. Adding
// or raising a quantity checks availability right now (and holds the units when reservations are
// on; Store+Holds.swift says when a hold is renewed and when not); lowering never fails on stock.

/// One cart line as it is now: current price, availability, and what stands in its way.
public struct CartItem: Hashable, Sendable {
    /// The cart line as stored.
    public var line: CartLine
    /// The product now (nil if it no longer exists).
    public var product: Product?
    /// The recommendation as it is now (nil when the line has none, or it is gone).
    public var recommendation: Recommendation?
    /// Units this line could buy right now (its own hold counts as available).
    public var available: Int64
    /// Until when this line's units are held, if they are.
    public var heldUntil: Timestamp?
    /// Why the line cannot be bought as it is, or nil.
    public var problem: Shortage.Reason?

    /// The current unit price (the captured one if the product is gone).
    public var currentUnitPriceFen: Int64 { product?.priceFen ?? line.unitPriceFen }
    /// Whether the price changed since the line was added.
    public var priceChanged: Bool { currentUnitPriceFen != line.unitPriceFen }
}

/// What to buy in a checkout: one cart line's product, recommendation and quantity.
public struct CheckoutLine: Hashable, Sendable, Codable {
    /// The product to buy.
    public var product: ProductID
    /// The recommendation to buy through, or nil.
    public var recommendation: RecommendationID?
    /// Units to buy.
    public var quantity: Int64

    /// A line to buy.
    public init(product: ProductID, recommendation: RecommendationID? = nil, quantity: Int64) {
        self.product = product
        self.recommendation = recommendation
        self.quantity = quantity
    }
}

/// A cart read in one snapshot.
public struct Cart: Hashable, Sendable {
    /// Whose cart.
    public var owner: CartOwner
    /// The lines, with their products as they are now.
    public var items: [CartItem]

    /// The sum of quantity × current unit price, in fen (nil if it would overflow).
    public var subtotalFen: Int64? {
        var sum: Int64 = 0
        for item in items {
            let (line, o1) = item.currentUnitPriceFen.multipliedReportingOverflow(by: item.line.quantity)
            let (s, o2) = sum.addingReportingOverflow(line)
            if o1 || o2 { return nil }
            sum = s
        }
        return sum
    }

    /// Every line, as checkout lines (what the user sees is what ``Store/checkout(user:lines:idempotencyKey:acceptPriceChanges:)`` buys).
    public var checkoutLines: [CheckoutLine] {
        items.map { CheckoutLine(product: $0.line.product, recommendation: $0.line.recommendation, quantity: $0.line.quantity) }
    }
}

extension Store {
    /// Adds `quantity` of a product (through a recommendation, optionally) to a cart; adding the
    /// same product and recommendation again adds to that line.
    ///
    /// With reservations on, the line's units are held afresh (see ``Configuration/maxHoldRenewals``
    /// and ``Configuration/maxHeldShareBasisPoints`` for when they are not, or only partly).
    ///
    /// - Parameters:
    ///   - owner: the cart's owner, a user or a guest the store issued.
    ///   - product: the product to add.
    ///   - recommendation: the recommendation it is bought through, if any.
    ///   - quantity: units to add.
    ///   - requestID: makes the call safe to retry: an add whose request id equals the line's
    ///     last one changes nothing.
    /// - Returns: the cart after the change.
    /// - Throws: ``VitrineError/unknownGuest(_:)`` (a guest id the store did not issue), ``VitrineError/unknownProduct(_:)``, ``VitrineError/productOffSale(_:)``,
    ///   ``VitrineError/unknownRecommendation(_:)``, ``VitrineError/recommendationWithdrawn(_:)``,
    ///   ``VitrineError/recommendationNotForProduct(_:product:)``,
    ///   ``VitrineError/quantityOutOfRange(_:allowed:)`` (the line's new total too),
    ///   ``VitrineError/cartFull(limit:)``, ``VitrineError/outOfStock(_:)`` (with what is available),
    ///   ``VitrineError/buyerLimitExceeded(_:limit:)`` (the product's units over the cart's lines),
    ///   ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func addToCart(
        _ owner: CartOwner, product: ProductID, recommendation: RecommendationID? = nil, quantity: Int64 = 1,
        requestID: String? = nil
    ) throws -> Cart {
        try validateOwner(owner)
        try product.validate()
        try recommendation?.validate()
        try validateLineQuantity(quantity)
        if let requestID { try validateKeyText(requestID, field: "requestID", maxBytes: Limits.requestIDBytes) }
        let now = self.now
        return try backend.write { tx in
            try requireKnownOwner(tx, owner, activeAt: now)
            let (p, r) = try Self.loadPurchasable(tx, product, recommendation)
            let key = Keys.cartLine(owner, product, recommendation)
            var line: CartLine
            if var existing = try tx.load(CartLine.self, key) {
                if let requestID, existing.lastRequestID?.utf8.elementsEqual(requestID.utf8) == true {
                    return try buildCart(tx, owner, now)
                }
                existing.quantity = try checkedAdd(existing.quantity, quantity, "quantity")
                existing.lastRequestID = requestID
                line = existing
            } else {
                let count = try tx.getRange(
                    from: Keys.cart(owner).range.begin, to: Keys.cart(owner).range.end,
                    limit: configuration.maxCartLines, reverse: false
                ).count
                guard count < configuration.maxCartLines else { throw VitrineError.cartFull(limit: configuration.maxCartLines) }
                line = CartLine(
                    product: product, recommendation: recommendation, quantity: quantity, unitPriceFen: p.priceFen,
                    addedAt: now, lastRequestID: requestID)
            }
            try validateLineQuantity(line.quantity)
            try checkBuyerLimit(tx, owner, product, recommendation, quantity: line.quantity)
            let available = try availability(tx, product: p, recommendation: r, for: owner, now: now).units
            guard line.quantity <= available else {
                throw VitrineError.outOfStock([
                    Shortage(
                        product: product, recommendation: recommendation, requested: line.quantity, available: available,
                        reason: .insufficientStock)
                ])
            }
            try renewHold(tx, owner: owner, line: &line, product: p, now: now)
            try tx.store(line, key)
            return try buildCart(tx, owner, now)
        }
    }

    /// Sets the quantity of a cart line. Raising it checks availability and the per-buyer limit
    /// (and renews the hold, within ``Configuration/maxHoldRenewals``); lowering it never fails on
    /// stock and shrinks the hold without extending it. Idempotent.
    ///
    /// - Throws: ``VitrineError/unknownGuest(_:)`` (a guest id the store did not issue), ``VitrineError/notInCart(_:recommendation:)``, ``VitrineError/quantityOutOfRange(_:allowed:)``,
    ///   and, when raising, what ``addToCart(_:product:recommendation:quantity:requestID:)-7ns31`` throws for stock
    ///   and ``VitrineError/buyerLimitExceeded(_:limit:)``.
    @discardableResult
    public func setCartQuantity(
        _ owner: CartOwner, product: ProductID, recommendation: RecommendationID? = nil, quantity: Int64
    ) throws -> Cart {
        try validateOwner(owner)
        try product.validate()
        try recommendation?.validate()
        try validateLineQuantity(quantity)
        let now = self.now
        return try backend.write { tx in
            try requireKnownOwner(tx, owner, activeAt: now)
            let key = Keys.cartLine(owner, product, recommendation)
            guard var line = try tx.load(CartLine.self, key) else {
                throw VitrineError.notInCart(product, recommendation: recommendation)
            }
            if quantity > line.quantity {
                let (p, r) = try Self.loadPurchasable(tx, product, recommendation)
                try checkBuyerLimit(tx, owner, product, recommendation, quantity: quantity)
                let available = try availability(tx, product: p, recommendation: r, for: owner, now: now).units
                guard quantity <= available else {
                    throw VitrineError.outOfStock([
                        Shortage(
                            product: product, recommendation: recommendation, requested: quantity, available: available,
                            reason: .insufficientStock)
                    ])
                }
                line.quantity = quantity
                try renewHold(tx, owner: owner, line: &line, product: p, now: now)
                try tx.store(line, key)
            } else if quantity < line.quantity {
                line.quantity = quantity
                try tx.store(line, key)
                // The hold shrinks with the line and keeps its expiry: lowering is never a renewal.
                // (A hold may cover only part of a line, after a merge or past the held share, so
                // it shrinks to the smaller of the two; an expired one is dropped.)
                try keepHold(
                    tx, HoldLine(owner: owner, product: product, recommendation: recommendation),
                    old: try tx.load(Hold.self, Keys.hold(product, recommendation, owner)),
                    product: try tx.load(Product.self, Keys.product(product)), units: quantity, now: now)
            }
            return try buildCart(tx, owner, now)
        }
    }

    /// Removes a cart line (and its hold). Idempotent: removing a missing line does nothing.
    /// - Throws: ``VitrineError/unknownGuest(_:)`` (a guest id the store did not issue), ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func removeFromCart(_ owner: CartOwner, product: ProductID, recommendation: RecommendationID? = nil) throws -> Cart {
        try validateOwner(owner)
        let now = self.now
        return try backend.write { tx in
            try requireKnownOwner(tx, owner, activeAt: now)
            try tx.clear(Keys.cartLine(owner, product, recommendation))
            try releaseHold(tx, owner: owner, product: product, recommendation: recommendation)
            return try buildCart(tx, owner, now)
        }
    }

    /// Removes every line of a cart (and their holds). Idempotent.
    /// - Throws: ``VitrineError/unknownGuest(_:)`` (a guest id the store did not issue), ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func clearCart(_ owner: CartOwner) throws {
        try validateOwner(owner)
        let now = self.now
        try backend.write { tx in
            try requireKnownOwner(tx, owner, activeAt: now)
            try Self.clearLines(tx, owner, using: self)
        }
    }

    /// The cart with current prices and availability per line.
    /// - Throws: ``VitrineError/unknownGuest(_:)`` (a guest id the store did not issue), ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func cart(_ owner: CartOwner) throws -> Cart {
        try validateOwner(owner)
        let now = self.now
        return try backend.read { tx in
            try requireKnownOwner(tx, owner)
            return try buildCart(tx, owner, now)
        }
    }

    /// Merges a guest cart into a user's cart on sign-in, and empties the guest cart.
    ///
    /// A line in both takes the larger quantity (and keeps the user's captured price); a guest-only
    /// line moves over. The guest's units of a product fit within ``Configuration/maxUnitsPerBuyer``
    /// beside the user's other lines of it: they are clamped to it, and a guest-only line with no
    /// room left is dropped. Live holds move with their lines (as far as units are available to
    /// the user) and keep their expiry: a merge never renews a hold.
    /// Safe to retry: a second merge finds the guest cart empty. Afterwards the guest holds
    /// nothing; its record stays (the merge counts as its activity) until the idle-guest sweep
    /// removes it (``sweepIdleGuests(limit:)``).
    ///
    /// - Throws: ``VitrineError/unknownGuest(_:)`` (a guest id the store did not issue), ``VitrineError/cartFull(limit:)`` (nothing is merged), ``VitrineError/invalidArgument(field:reason:)``,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func mergeGuestCart(_ guest: String, into user: UserID) throws -> Cart {
        let guestOwner = CartOwner.guest(guest)
        let userOwner = CartOwner.user(user)
        try validateOwner(guestOwner)
        try validateOwner(userOwner)
        let now = self.now
        return try backend.write { tx in
            try requireKnownOwner(tx, guestOwner, activeAt: now)
            let guestLines = try Self.lines(tx, guestOwner)
            // The guest's holds go first, so the user's lines are held beside every other hold.
            var guestHolds: [LineKey: Hold] = [:]
            for line in guestLines {
                guestHolds[LineKey(line.product, line.recommendation)] =
                    try tx.load(Hold.self, Keys.hold(line.product, line.recommendation, guestOwner))
                try releaseHold(tx, owner: guestOwner, product: line.product, recommendation: line.recommendation)
            }
            var userCount = try Self.lines(tx, userOwner).count
            for guestLine in guestLines {
                let key = Keys.cartLine(userOwner, guestLine.product, guestLine.recommendation)
                let existing = try tx.load(CartLine.self, key)
                // The per-buyer limit: the guest's units fit in what the user's other lines leave.
                let others = try unitsInCart(tx, userOwner, guestLine.product, excluding: guestLine.recommendation)
                let fitting = min(guestLine.quantity, max(0, configuration.maxUnitsPerBuyer - others))
                var merged: CartLine
                if let existing {
                    merged = existing
                    merged.quantity = max(existing.quantity, fitting)
                    merged.holdsGranted = max(existing.holdsGranted, guestLine.holdsGranted)
                } else {
                    guard fitting >= configuration.lineQuantity.lowerBound else { continue } // no room: dropped
                    userCount += 1
                    guard userCount <= configuration.maxCartLines else { throw VitrineError.cartFull(limit: configuration.maxCartLines) }
                    merged = guestLine
                    merged.quantity = fitting
                    merged.lastRequestID = nil
                }
                try tx.store(merged, key)
                // The live holds of both lines move to the merged line, with the earlier expiry.
                let line = HoldLine(owner: userOwner, product: merged.product, recommendation: merged.recommendation)
                let live = [
                    guestHolds[LineKey(merged.product, merged.recommendation)],
                    try tx.load(Hold.self, Keys.hold(merged.product, merged.recommendation, userOwner)),
                ]
                .compactMap { $0 }.filter { $0.isLive(at: now) }
                var units: Int64 = 0
                for h in live { units = try checkedAdd(units, max(0, h.quantity), "held") }
                if let expiry = live.map(\.expiresAt).min(), let p = try tx.load(Product.self, Keys.product(merged.product)) {
                    try writeHold(tx, line, product: p, units: min(merged.quantity, units), expiresAt: expiry, now: now)
                } else {
                    try releaseHold(tx, owner: userOwner, product: merged.product, recommendation: merged.recommendation)
                }
            }
            try tx.clearRange(from: Keys.cart(guestOwner).range.begin, to: Keys.cart(guestOwner).range.end)
            return try buildCart(tx, userOwner, now)
        }
    }

    // MARK: Helpers

    /// The product and recommendation of an add, checked: product exists and is on sale; the
    /// recommendation exists, is active and is for that product.
    static func loadPurchasable<R: OrderedKeyValueReader>(
        _ tx: R, _ product: ProductID, _ recommendation: RecommendationID?
    ) throws -> (Product, Recommendation?) {
        let p = try tx.product(product)
        guard p.isOnSale else { throw VitrineError.productOffSale(product) }
        guard let recommendation else { return (p, nil) }
        let r = try tx.recommendation(recommendation)
        guard r.product == product else { throw VitrineError.recommendationNotForProduct(recommendation, product: product) }
        guard r.status == .active else { throw VitrineError.recommendationWithdrawn(recommendation) }
        return (p, r)
    }

    static func lines<R: OrderedKeyValueReader>(_ tx: R, _ owner: CartOwner) throws -> [CartLine] {
        var lines: [CartLine] = []
        try tx.scan(Keys.cart(owner)) { pair in lines.append(try decodeRecord(CartLine.self, pair.value, key: pair.key)) }
        return lines
    }

    static func clearLines<W: OrderedKeyValueWriter>(_ tx: W, _ owner: CartOwner, using store: Store) throws {
        for line in try lines(tx, owner) {
            try store.releaseHold(tx, owner: owner, product: line.product, recommendation: line.recommendation)
        }
        try tx.clearRange(from: Keys.cart(owner).range.begin, to: Keys.cart(owner).range.end)
    }

    func buildCart<R: OrderedKeyValueReader>(_ tx: R, _ owner: CartOwner, _ now: Timestamp) throws -> Cart {
        var items: [CartItem] = []
        for line in try Self.lines(tx, owner) {
            let p = try tx.load(Product.self, Keys.product(line.product))
            let r = try line.recommendation.flatMap { try tx.load(Recommendation.self, Keys.recommendation($0)) }
            var item = CartItem(line: line, product: p, recommendation: r, available: 0, heldUntil: nil, problem: nil)
            if let p {
                item.available = try availability(tx, product: p, recommendation: r, for: owner, now: now).units
                if let h = try tx.load(Hold.self, Keys.hold(line.product, line.recommendation, owner)), h.isLive(at: now) {
                    item.heldUntil = h.expiresAt
                }
            }
            item.problem = Self.problem(line: line, product: p, recommendation: r, available: item.available)
            items.append(item)
        }
        items.sort { $0.line.addedAt != $1.line.addedAt ? $0.line.addedAt < $1.line.addedAt : $0.line.product < $1.line.product }
        return Cart(owner: owner, items: items)
    }

    static func problem(line: CartLine, product: Product?, recommendation: Recommendation?, available: Int64) -> Shortage.Reason? {
        guard let product else { return .productMissing }
        guard product.isOnSale else { return .productOffSale }
        if line.recommendation != nil {
            guard let recommendation, recommendation.product == product.id else { return .recommendationMissing }
            guard recommendation.status == .active else { return .recommendationWithdrawn }
        }
        return line.quantity > available ? .insufficientStock : nil
    }
}
