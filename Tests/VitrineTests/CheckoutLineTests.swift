// Checkout's retry and line semantics (issue 15, "Why" 6).

import Testing

@testable import Vitrine

@Suite struct CheckoutLineTests {
    let user: UserID = "buyer"
    var owner: CartOwner { .user(user) }

    /// An explicit line may buy at most what its cart line holds.
    @Test func explicitLineCannotBuyMoreThanTheCartLineHolds() throws {
        let f = try Fixture(stock: 10)
        let p = f.products[0]
        try f.store.addToCart(owner, product: p.id, recommendation: "r0", quantity: 2)
        try f.store.addToCart(owner, product: f.products[1].id, quantity: 1)
        #expect(throws: VitrineError.moreThanInCart(p.id, recommendation: "r0", requested: 5, inCart: 2)) {
            try f.store.checkout(
                user: user,
                lines: [
                    CheckoutLine(product: f.products[1].id, quantity: 1),
                    CheckoutLine(product: p.id, recommendation: "r0", quantity: 5),
                ], idempotencyKey: "k")
        }
        // Nothing changed: no order, stock and cart as they were.
        #expect(try f.store.product(p.id).stock == 10)
        #expect(try f.store.orders(of: user).items.isEmpty)
        #expect(try f.store.cart(owner).items.map(\.line.quantity) == [2, 1])
        // Up to the cart line's quantity is fine.
        let order = try f.store.checkout(
            user: user, lines: [CheckoutLine(product: p.id, recommendation: "r0", quantity: 2)], idempotencyKey: "k")
        #expect(order.order.lines.map(\.quantity) == [2])
        try expectIntact(f.store)
    }

    /// A whole-cart retry with a used key returns the old order, and says which cart lines it
    /// did not buy (added after the key's order).
    @Test func wholeCartReplayNamesTheLinesItDidNotBuy() throws {
        let f = try Fixture()
        let (p0, p1) = (f.products[0].id, f.products[1].id)
        try f.store.addToCart(owner, product: p0, recommendation: "r0", quantity: 2)
        let first = try f.store.checkout(user: user, idempotencyKey: "pay-1")
        #expect(!first.isReplay && first.linesNotBought.isEmpty)
        let retry = try f.store.checkout(user: user, idempotencyKey: "pay-1")
        #expect(retry.isReplay && retry.order == first.order && retry.linesNotBought.isEmpty)

        try f.store.addToCart(owner, product: p1, quantity: 3)
        let reused = try f.store.checkout(user: user, idempotencyKey: "pay-1")
        #expect(reused.isReplay && reused.order == first.order)
        #expect(reused.linesNotBought == [CheckoutLine(product: p1, quantity: 3)])
        #expect(try f.store.cart(owner).checkoutLines == [CheckoutLine(product: p1, quantity: 3)])
        #expect(try f.store.product(p1).sold == 0)
        try expectIntact(f.store)
    }

    /// Accepting price changes accepts only the total the buyer agreed to, when it is given.
    @Test func expectedTotalBoundsAcceptedPriceChanges() throws {
        let f = try Fixture(stock: 10)
        var p = f.products[0]
        try f.store.addToCart(owner, product: p.id, recommendation: "r0", quantity: 2)
        #expect(p.priceFen == 9_900)
        p.priceFen = 12_000
        try f.store.upsertProduct(p)
        // The buyer agreed to the old total: refused, nothing bought.
        #expect(throws: VitrineError.totalMismatch(expectedFen: 19_800, actualFen: 24_000)) {
            try f.store.checkout(user: user, idempotencyKey: "k", acceptPriceChanges: true, expectedTotalFen: 19_800)
        }
        #expect(try f.store.product(p.id).sold == 0)
        #expect(try f.store.orders(of: user).items.isEmpty)
        #expect(try f.store.cart(owner).checkoutLines.count == 1)
        // Without accepting changes, a changed price is still priceChanged, whatever the total.
        #expect(throws: VitrineError.self) {
            try f.store.checkout(user: user, idempotencyKey: "k", expectedTotalFen: 24_000)
        }
        // A total that does not match even without price changes is refused too.
        try f.store.addToCart(owner, product: f.products[1].id, quantity: 1)
        #expect(throws: VitrineError.totalMismatch(expectedFen: 1, actualFen: 10_000)) {
            try f.store.checkout(
                user: user, lines: [CheckoutLine(product: f.products[1].id, quantity: 1)],
                idempotencyKey: "k", expectedTotalFen: 1)
        }
        // The new total, agreed: bought.
        let bought = try f.store.checkout(
            user: user, lines: [CheckoutLine(product: p.id, recommendation: "r0", quantity: 2)], idempotencyKey: "k",
            acceptPriceChanges: true, expectedTotalFen: 24_000)
        #expect(!bought.isReplay && bought.order.totalFen == 24_000)
        // A retry with the same total replays; with another it is another purchase under a used key.
        let lines = [CheckoutLine(product: p.id, recommendation: "r0", quantity: 2)]
        #expect(
            try f.store.checkout(
                user: user, lines: lines, idempotencyKey: "k", acceptPriceChanges: true,
                expectedTotalFen: 24_000
            ).isReplay)
        #expect(throws: VitrineError.idempotencyKeyReused(key: "k", order: bought.order.id)) {
            try f.store.checkout(user: user, lines: lines, idempotencyKey: "k", acceptPriceChanges: true, expectedTotalFen: 19_800)
        }
        // Without an expected total, accepting price changes works as before.
        var q = f.products[1]
        q.priceFen = 1
        try f.store.upsertProduct(q)
        #expect(try f.store.checkout(user: user, idempotencyKey: "k2", acceptPriceChanges: true).order.totalFen == 1)
        try expectIntact(f.store)
    }
}
