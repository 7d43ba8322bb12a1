import Testing

@testable import Vitrine

/// Holds never exceed stock (issue 15, "Holds above stock"), whatever path creates or renews them.
@Suite struct HoldsWithinStockTests {
    func liveHolds(_ f: Fixture, _ p: ProductID) throws -> Int64 {
        try f.store.reservations(of: p).reduce(Int64(0)) { $0 + $1.quantity }
    }

    /// A partial checkout of a line whose hold has expired used to renew the hold for the rest of
    /// the line, though other carts held those units by then.
    @Test func partialCheckoutDoesNotReviveAnExpiredHold() throws {
        let f = try Fixture(stock: 6) { $0.reservationHold = .seconds(5) }
        let p = f.products[0].id
        try f.store.addToCart(.user("c"), product: p, quantity: 3)
        f.clock.advance(milliseconds: 6000) // c's hold lapses
        try f.store.addToCart(.user("a"), product: p, quantity: 5) // a holds 5 of the 6
        _ = try f.store.checkout(user: "c", lines: [CheckoutLine(product: p, quantity: 1)], idempotencyKey: "c1")
        let live = try liveHolds(f, p)
        let stock = try f.store.product(p).stock
        #expect(live <= stock, "holds \(live) exceed stock \(stock)")
        #expect(try f.store.checkIntegrity().isEmpty)
        // a's valid hold is honoured.
        #expect(try f.store.checkout(user: "a", idempotencyKey: "a1").order.lines[0].quantity == 5)
        try expectIntact(f.store)
    }

    /// A partial checkout keeps what is left of a live hold, with its expiry (no renewal).
    @Test func partialCheckoutShrinksALiveHoldWithoutRenewingIt() throws {
        let f = try Fixture(stock: 6) { $0.reservationHold = .seconds(5) }
        let p = f.products[0].id
        try f.store.addToCart(.user("c"), product: p, quantity: 4)
        let expiry = try f.store.reservations(of: p)[0].expiresAt
        f.clock.advance(milliseconds: 2000)
        _ = try f.store.checkout(user: "c", lines: [CheckoutLine(product: p, quantity: 1)], idempotencyKey: "c1")
        let holds = try f.store.reservations(of: p)
        #expect(holds.map(\.quantity) == [3])
        #expect(holds.map(\.expiresAt) == [expiry])
        try expectIntact(f.store)
    }

    /// A merge that holds only part of a line, then lowering that line, used to hold the whole new
    /// quantity.
    @Test func loweringAPartlyHeldMergedLineDoesNotGrowItsHold() throws {
        let f = try Fixture(stock: 4) { $0.reservationHold = .seconds(600) }
        let p = f.products[0].id
        let g = try f.store.issueGuestID()
        try f.store.addToCart(.guest(g), product: p, quantity: 3)
        f.clock.advance(milliseconds: 601_000) // the guest's hold lapses
        try f.store.addToCart(.user("x"), product: p, quantity: 3) // x holds 3 of the 4
        try f.store.mergeGuestCart(g, into: "u") // u's line of 3 holds at most the 1 left
        #expect(try liveHolds(f, p) <= 4)
        try f.store.setCartQuantity(.user("u"), product: p, quantity: 2)
        let live = try liveHolds(f, p)
        #expect(live <= 4, "holds \(live) exceed stock 4")
        #expect(try f.store.checkIntegrity().isEmpty)
        // x's valid hold is honoured.
        #expect(try f.store.checkout(user: "x", idempotencyKey: "x1").order.lines[0].quantity == 3)
        try expectIntact(f.store)
    }
}

/// `checkIntegrity` reports live holds above stock, through a recommendation above its quantity,
/// and a live hold larger than its line or without one; expired holds count for nothing.
@Test func integrityCheckFindsHoldsAboveStock() throws {
    let f = try Fixture(stock: 3, recommendationQuantity: 2) { $0.reservationHold = .seconds(60) }
    let p = f.products[0].id
    try f.store.addToCart(.user("a"), product: p, recommendation: "r0", quantity: 2)
    try expectIntact(f.store)
    let expiry = f.clock.now.adding(milliseconds: 60_000)
    try f.store.backend.write { tx in
        let planted = [
            Hold(owner: .user("a"), product: p, recommendation: "r0", quantity: 3, expiresAt: expiry), // > its line of 2
            Hold(owner: .user("b"), product: p, recommendation: nil, quantity: 1, expiresAt: expiry), // no line
        ]
        for h in planted { try tx.store(h, Keys.hold(h)) }
    }
    let kinds = try f.store.checkIntegrity().map { "\($0.kind) \($0.subject)" }.sorted()
    #expect(
        kinds
            == [
                "holdsExceedStock product p0", "holdsExceedStock recommendation r0",
                "invalidHold hold (\"hold\", \"p0\", \"r0\", 1, \"a\")", "invalidHold hold (\"hold\", \"p0\", nil, 1, \"b\")",
            ].sorted(), "\(kinds)")
    f.clock.advance(by: .seconds(60))
    #expect(try f.store.checkIntegrity().isEmpty)
}

/// Limits against hoarding (issue 15, "Hoarding").
@Suite struct HoardingLimitTests {
    /// Lowering a line used to renew its hold: a bot could keep units pinned by lowering a line by
    /// one now and then.
    @Test func loweringALineNeverExtendsItsHold() throws {
        let f = try Fixture(stock: 5) { $0.reservationHold = .seconds(60) }
        let p = f.products[0].id
        try f.store.addToCart(.user("a"), product: p, quantity: 4)
        let expiry = f.clock.now.adding(milliseconds: 60_000)
        f.clock.advance(by: .seconds(30))
        let cart = try f.store.setCartQuantity(.user("a"), product: p, quantity: 3)
        #expect(cart.items[0].heldUntil == expiry)
        #expect(try f.store.reservations(of: p).map(\.quantity) == [3])
        f.clock.advance(by: .seconds(30))
        #expect(try f.store.reservations(of: p).isEmpty)
        try expectIntact(f.store)
    }

    @Test func holdsAreRenewedAtMostTheConfiguredNumberOfTimes() throws {
        let f = try Fixture(stock: 10) {
            $0.reservationHold = .seconds(60); $0.maxHoldRenewals = 1
        }
        let p = f.products[0].id
        try f.store.addToCart(.user("a"), product: p) // placed
        f.clock.advance(by: .seconds(50))
        var cart = try f.store.addToCart(.user("a"), product: p) // renewed once
        let renewedUntil = f.clock.now.adding(milliseconds: 60_000)
        #expect(cart.items[0].heldUntil == renewedUntil)
        f.clock.advance(by: .seconds(50))
        cart = try f.store.addToCart(.user("a"), product: p) // no more renewals
        #expect(cart.items[0].line.quantity == 3)
        #expect(cart.items[0].heldUntil == renewedUntil)
        #expect(try f.store.reservations(of: p).map(\.quantity) == [2])
        f.clock.advance(by: .seconds(10))
        cart = try f.store.setCartQuantity(.user("a"), product: p, quantity: 4)
        #expect(cart.items[0].line.quantity == 4 && cart.items[0].heldUntil == nil) // in the cart, unheld
        #expect(try f.store.reservations(of: p).isEmpty)
        #expect(try f.store.checkout(user: "a", idempotencyKey: "a1").order.lines[0].quantity == 4)
        try expectIntact(f.store)
    }

    @Test func oneBuyerHasAtMostTheConfiguredUnitsOfAProduct() throws {
        let f = try Fixture(stock: 50) { $0.maxUnitsPerBuyer = 3 }
        let p = f.products[0].id
        try f.store.addToCart(.user("u"), product: p, recommendation: "r0", quantity: 2)
        #expect(throws: VitrineError.buyerLimitExceeded(p, limit: 3)) { try f.store.addToCart(.user("u"), product: p, quantity: 2) }
        #expect(throws: VitrineError.buyerLimitExceeded(p, limit: 3)) {
            try f.store.setCartQuantity(.user("u"), product: p, recommendation: "r0", quantity: 4)
        }
        try f.store.addToCart(.user("u"), product: p, quantity: 1)
        // Another buyer has their own allowance.
        try f.store.addToCart(.user("v"), product: p, quantity: 3)
        // A merge clamps the guest's units to what the user's other lines leave.
        try f.store.removeFromCart(.user("u"), product: p)
        let g = try f.store.issueGuestID()
        let guest = CartOwner.guest(g)
        try f.store.addToCart(guest, product: p, quantity: 3)
        try f.store.addToCart(guest, product: f.products[1].id, quantity: 3)
        let merged = try f.store.mergeGuestCart(g, into: "u")
        let quantities = merged.items.map { "\($0.line.product)/\($0.line.recommendation?.rawValue ?? "-") \($0.line.quantity)" }.sorted()
        #expect(quantities == ["p0/- 1", "p0/r0 2", "p1/- 3"])
        try expectIntact(f.store)
    }

    @Test func cartsHoldAtMostTheConfiguredShareOfStock() throws {
        let f = try Fixture(stock: 4) {
            $0.reservationHold = .seconds(60); $0.maxHeldShareBasisPoints = 5_000
        }
        let p = f.products[0].id
        var cart = try f.store.addToCart(.user("a"), product: p, quantity: 3)
        #expect(try f.store.reservations(of: p).map(\.quantity) == [2]) // half the stock
        cart = try f.store.addToCart(.user("b"), product: p, quantity: 1)
        #expect(cart.items[0].heldUntil == nil) // in the cart, unheld
        // Whoever checks out first gets the unheld half.
        try f.store.addToCart(.user("c"), product: p, quantity: 2)
        #expect(try f.store.checkout(user: "c", idempotencyKey: "c1").order.lines[0].quantity == 2)
        #expect(throws: VitrineError.self) { try f.store.checkout(user: "b", idempotencyKey: "b1") }
        #expect(try f.store.checkout(user: "a", lines: [CheckoutLine(product: p, quantity: 2)], idempotencyKey: "a1").order.totalFen > 0)
        try expectIntact(f.store)
    }

    @Test func holdLimitsAreValidated() throws {
        #expect(throws: VitrineError.self) { try makeStore { $0.maxHoldRenewals = -1 } }
        #expect(throws: VitrineError.self) { try makeStore { $0.maxUnitsPerBuyer = 0 } }
        #expect(throws: VitrineError.self) { try makeStore { $0.maxHeldShareBasisPoints = 10_001 } }
    }
}

/// Guest ids are issued by the store: a cart under a made-up guest id is refused (issue 15,
/// "Hoarding": a bot could open carts under any names).
@Test func cartOperationsRefuseGuestsTheStoreDidNotIssue() throws {
    let f = try Fixture()
    let p = f.products[0].id
    let madeUp = CartOwner.guest("bot-0001")
    #expect(throws: VitrineError.unknownGuest("bot-0001")) { try f.store.addToCart(madeUp, product: p) }
    #expect(throws: VitrineError.unknownGuest("bot-0001")) { try f.store.setCartQuantity(madeUp, product: p, quantity: 1) }
    #expect(throws: VitrineError.unknownGuest("bot-0001")) { try f.store.removeFromCart(madeUp, product: p) }
    #expect(throws: VitrineError.unknownGuest("bot-0001")) { try f.store.clearCart(madeUp) }
    #expect(throws: VitrineError.unknownGuest("bot-0001")) { try f.store.cart(madeUp) }
    #expect(throws: VitrineError.unknownGuest("bot-0001")) { try f.store.mergeGuestCart("bot-0001", into: "u") }
    // An issued id works, and records when it was issued.
    let g = try f.store.issueGuestID()
    #expect(g != (try f.store.issueGuestID()))
    #expect(try f.store.guest(g) == Guest(id: g, createdAt: f.clock.now))
    #expect(try f.store.addToCart(.guest(g), product: p).items.count == 1)
    #expect(try f.store.mergeGuestCart(g, into: "u").items.count == 1)
    try expectIntact(f.store)
}
