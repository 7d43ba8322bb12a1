import Testing

@testable import Vitrine

@Suite struct CheckoutTests {
    let user: UserID = "buyer"
    var owner: CartOwner { .user(user) }

    @Test func checkoutDecrementsAndWritesOrderWithCommission() throws {
        let f = try Fixture(stock: 10, recommendationQuantity: 6)
        try f.store.addToCart(owner, product: f.products[0].id, recommendation: "r0", quantity: 3)
        try f.store.addToCart(owner, product: f.products[1].id, quantity: 2)
        let result = try f.store.checkout(user: user, idempotencyKey: "k1")
        #expect(!result.isReplay && result.priceChanges.isEmpty)
        let order = result.order
        #expect(order.status == .placed && order.lines.count == 2)
        let line0 = try #require(order.lines.first { $0.product == f.products[0].id })
        #expect(line0.lineTotalFen == 29_700 && line0.commissionBasisPoints == 800 && line0.commissionFen == 2_376)
        #expect(line0.expert == f.expert.id && line0.partner == "tmall")
        let line1 = try #require(order.lines.first { $0.product == f.products[1].id })
        #expect(line1.commissionFen == 0 && line1.expert == nil)
        #expect(order.totalFen == 29_700 + 20_000 && order.commissionFen == 2_376)
        #expect(try f.store.product(f.products[0].id).stock == 7)
        #expect(try f.store.product(f.products[0].id).sold == 3)
        #expect(try f.store.recommendation("r0").quantity == 3)
        #expect(try f.store.cart(owner).items.isEmpty)
        #expect(try f.store.orders(of: user).items == [order])
        let earnings = try f.store.earnings(of: f.expert.id)
        #expect(earnings.pendingFen == 2_376 && earnings.settledFen == 0 && earnings.orders.map(\.order) == [order.id])
        try expectIntact(f.store)
    }

    @Test func commissionRoundsDown() throws {
        #expect(try commission(onLineTotal: 9_999, basisPoints: 1) == 0)
        #expect(try commission(onLineTotal: 19_999, basisPoints: 5_000) == 9_999)
        #expect(try commission(onLineTotal: 12_345, basisPoints: 800) == 987)
        #expect(throws: VitrineError.amountOverflow(field: "commission")) { try commission(onLineTotal: .max, basisPoints: 2) }
    }

    @Test func shortLinesAreAllReportedAndNothingChanges() throws {
        let f = try Fixture(stock: 5, recommendationQuantity: 2)
        try f.store.addToCart(owner, product: f.products[0].id, recommendation: "r0", quantity: 2)
        try f.store.addToCart(owner, product: f.products[1].id, quantity: 5)
        try f.store.addToCart(owner, product: f.products[2].id, quantity: 1)
        // Someone else buys stock away; the recommendation quota of r0 shrinks too.
        try f.store.addToCart(.user("other"), product: f.products[1].id, quantity: 4)
        try f.store.addToCart(.user("other"), product: f.products[0].id, recommendation: "r0", quantity: 1)
        _ = try f.store.checkout(user: "other", idempotencyKey: "o")
        try f.store.setOnSale(f.products[2].id, false)
        let before = try f.store.product(f.products[0].id)
        #expect(
            throws: VitrineError.outOfStock([
                Shortage(product: f.products[0].id, recommendation: "r0", requested: 2, available: 1, reason: .insufficientStock),
                Shortage(product: f.products[1].id, recommendation: nil, requested: 5, available: 1, reason: .insufficientStock),
                Shortage(product: f.products[2].id, recommendation: nil, requested: 1, available: 0, reason: .productOffSale),
            ])
        ) {
            try f.store.checkout(
                user: user,
                lines: [
                    CheckoutLine(product: f.products[0].id, recommendation: "r0", quantity: 2),
                    CheckoutLine(product: f.products[1].id, quantity: 5),
                    CheckoutLine(product: f.products[2].id, quantity: 1),
                ], idempotencyKey: "k")
        }
        #expect(try f.store.product(f.products[0].id) == before)
        #expect(try f.store.cart(owner).items.count == 3)
        #expect(try f.store.orders(of: user).items.isEmpty)
        try expectIntact(f.store)
    }

    @Test func demandIsSummedPerProductAcrossLines() throws {
        let f = try Fixture(stock: 3)
        try f.store.addToCart(owner, product: f.products[0].id, recommendation: "r0", quantity: 2)
        try f.store.addToCart(owner, product: f.products[0].id, quantity: 2)
        #expect(throws: VitrineError.self) { try f.store.checkout(user: user, idempotencyKey: "k") }
        #expect(try f.store.product(f.products[0].id).stock == 3)
    }

    @Test func priceChangeNeedsAcceptance() throws {
        let f = try Fixture()
        try f.store.addToCart(owner, product: f.products[0].id, quantity: 1)
        var p = f.products[0]
        p.priceFen = 8_800
        try f.store.upsertProduct(p)
        let change = PriceChange(product: p.id, recommendation: nil, oldUnitPriceFen: 9_900, newUnitPriceFen: 8_800)
        #expect(throws: VitrineError.priceChanged([change])) { try f.store.checkout(user: user, idempotencyKey: "k") }
        #expect(try f.store.product(p.id).stock == 10)
        let result = try f.store.checkout(user: user, idempotencyKey: "k", acceptPriceChanges: true)
        #expect(result.priceChanges == [change] && result.order.totalFen == 8_800)
    }

    @Test func idempotentRetryReturnsTheOriginalOrder() throws {
        let f = try Fixture()
        try f.store.addToCart(owner, product: f.products[0].id, recommendation: "r0", quantity: 2)
        let lines = try f.store.cart(owner).checkoutLines
        let first = try f.store.checkout(user: user, lines: lines, idempotencyKey: "pay-1")
        let retry = try f.store.checkout(user: user, lines: lines, idempotencyKey: "pay-1")
        #expect(retry.isReplay && retry.order == first.order)
        let wholeCartRetry = try f.store.checkout(user: user, idempotencyKey: "pay-1")
        #expect(wholeCartRetry.order == first.order)
        #expect(try f.store.product(f.products[0].id).sold == 2)
        // Same key, different content.
        try f.store.addToCart(owner, product: f.products[1].id)
        #expect(throws: VitrineError.idempotencyKeyReused(key: "pay-1", order: first.order.id)) {
            try f.store.checkout(user: user, lines: [CheckoutLine(product: f.products[1].id, quantity: 1)], idempotencyKey: "pay-1")
        }
        try expectIntact(f.store)
    }

    @Test func checkoutErrors() throws {
        let f = try Fixture()
        #expect(throws: VitrineError.emptyCheckout) { try f.store.checkout(user: user, idempotencyKey: "k") }
        #expect(throws: VitrineError.notInCart(f.products[0].id, recommendation: nil)) {
            try f.store.checkout(user: user, lines: [CheckoutLine(product: f.products[0].id, quantity: 1)], idempotencyKey: "k")
        }
        #expect(throws: VitrineError.invalidArgument(field: "idempotencyKey", reason: "must not be empty")) {
            try f.store.checkout(user: user, idempotencyKey: "")
        }
        try f.store.addToCart(owner, product: f.products[0].id, recommendation: "r0")
        try f.store.withdrawRecommendation("r0")
        #expect(
            throws: VitrineError.outOfStock([
                Shortage(product: f.products[0].id, recommendation: "r0", requested: 1, available: 0, reason: .recommendationWithdrawn)
            ])
        ) {
            try f.store.checkout(user: user, idempotencyKey: "k")
        }
    }

    @Test func partialLineLeavesTheRestInTheCart() throws {
        let f = try Fixture()
        try f.store.addToCart(owner, product: f.products[0].id, quantity: 5)
        _ = try f.store.checkout(user: user, lines: [CheckoutLine(product: f.products[0].id, quantity: 2)], idempotencyKey: "k")
        #expect(try f.store.cart(owner).items[0].line.quantity == 3)
        try expectIntact(f.store)
    }

    @Test func cancelExactlyOnceRestoresEverything() throws {
        let f = try Fixture(stock: 10, recommendationQuantity: 5)
        try f.store.addToCart(owner, product: f.products[0].id, recommendation: "r0", quantity: 4)
        let order = try f.store.checkout(user: user, idempotencyKey: "k").order
        let cancelled = try f.store.cancelOrder(order.id)
        #expect(cancelled.status == .cancelled)
        let p = try f.store.product(f.products[0].id)
        #expect(p.stock == 10 && p.sold == 0)
        #expect(try f.store.recommendation("r0").quantity == 5)
        let e = try f.store.earnings(of: f.expert.id)
        #expect(e.pendingFen == 0 && e.settledFen == 0 && e.orders.first?.status == .cancelled)
        #expect(throws: VitrineError.orderStatusConflict(order.id, status: .cancelled)) { try f.store.cancelOrder(order.id) }
        #expect(throws: VitrineError.orderStatusConflict(order.id, status: .cancelled)) { try f.store.settleOrder(order.id) }
        #expect(try f.store.product(f.products[0].id).stock == 10)
        #expect(throws: VitrineError.unknownOrder("nope")) { try f.store.cancelOrder("nope") }
        try expectIntact(f.store)
    }

    @Test func settleExactlyOnceAndThenNoCancel() throws {
        let f = try Fixture()
        try f.store.addToCart(owner, product: f.products[0].id, recommendation: "r0", quantity: 1)
        let order = try f.store.checkout(user: user, idempotencyKey: "k").order
        // Settling takes a paid order and the settlement window (the purchase flow).
        try f.store.confirmPayment(order: order.id, reference: "tmall-1")
        f.clock.advance(by: f.store.configuration.settlementWindow)
        #expect(try f.store.settleOrder(order.id).status == .settled)
        #expect(throws: VitrineError.orderStatusConflict(order.id, status: .settled)) { try f.store.settleOrder(order.id) }
        #expect(throws: VitrineError.orderStatusConflict(order.id, status: .settled)) { try f.store.cancelOrder(order.id) }
        let e = try f.store.earnings(of: f.expert.id)
        #expect(e.pendingFen == 0 && e.settledFen == 792)
        #expect(try f.store.earning(of: f.expert.id, order: order.id).status == .settled)
        #expect(try f.store.product(f.products[0].id).sold == 1)
        try expectIntact(f.store)
    }
}
