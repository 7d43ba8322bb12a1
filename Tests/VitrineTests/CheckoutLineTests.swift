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
            try f.store.checkout(user: user, lines: [
                CheckoutLine(product: f.products[1].id, quantity: 1),
                CheckoutLine(product: p.id, recommendation: "r0", quantity: 5),
            ], idempotencyKey: "k")
        }
        // Nothing changed: no order, stock and cart as they were.
        #expect(try f.store.product(p.id).stock == 10)
        #expect(try f.store.orders(of: user).items.isEmpty)
        #expect(try f.store.cart(owner).items.map(\.line.quantity) == [2, 1])
        // Up to the cart line's quantity is fine.
        let order = try f.store.checkout(user: user, lines: [CheckoutLine(product: p.id, recommendation: "r0", quantity: 2)], idempotencyKey: "k")
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
}
