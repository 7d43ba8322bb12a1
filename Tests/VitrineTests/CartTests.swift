import Testing

@testable import Vitrine

@Suite struct CartTests {
    let u = CartOwner.user("u")

    @Test func addMergesSameLineAndKeepsCapturedPrice() throws {
        let f = try Fixture()
        let p = f.products[0]
        try f.store.addToCart(u, product: p.id, recommendation: "r0", quantity: 2)
        var changed = p
        changed.priceFen = 12_345
        try f.store.upsertProduct(changed)
        let cart = try f.store.addToCart(u, product: p.id, recommendation: "r0", quantity: 3)
        #expect(cart.items.count == 1)
        let item = cart.items[0]
        #expect(item.line.quantity == 5 && item.line.unitPriceFen == p.priceFen)
        #expect(item.priceChanged && item.currentUnitPriceFen == 12_345)
        #expect(item.available == 10 && item.problem == nil)
        // Without a recommendation it is another line.
        #expect(try f.store.addToCart(u, product: p.id).items.count == 2)
        #expect(try f.store.cart(u).subtotalFen == 12_345 * 6)
    }

    @Test func addValidates() throws {
        let f = try Fixture(stock: 3)
        let p = f.products[0].id
        #expect(throws: VitrineError.unknownProduct("nope")) { try f.store.addToCart(u, product: "nope") }
        #expect(throws: VitrineError.unknownRecommendation("nope")) { try f.store.addToCart(u, product: p, recommendation: "nope") }
        #expect(throws: VitrineError.recommendationNotForProduct("r1", product: p)) {
            try f.store.addToCart(u, product: p, recommendation: "r1")
        }
        #expect(throws: VitrineError.quantityOutOfRange(0, allowed: 1...99)) { try f.store.addToCart(u, product: p, quantity: 0) }
        #expect(throws: VitrineError.quantityOutOfRange(100, allowed: 1...99)) { try f.store.addToCart(u, product: p, quantity: 100) }
        #expect(
            throws: VitrineError.outOfStock([
                Shortage(product: p, recommendation: nil, requested: 4, available: 3, reason: .insufficientStock)
            ])
        ) {
            try f.store.addToCart(u, product: p, quantity: 4)
        }
        #expect(throws: VitrineError.invalidArgument(field: "guest", reason: "must not be empty")) {
            try f.store.addToCart(.guest(""), product: p)
        }
        #expect(try f.store.cart(u).items.isEmpty) // nothing was written by the failures
    }

    @Test func lineQuantityLimitCountsTheMergedTotal() throws {
        let f = try Fixture(stock: 500)
        try f.store.addToCart(u, product: f.products[0].id, quantity: 60)
        #expect(throws: VitrineError.quantityOutOfRange(120, allowed: 1...99)) {
            try f.store.addToCart(u, product: f.products[0].id, quantity: 60)
        }
    }

    @Test func cartFull() throws {
        let f = try Fixture { $0.maxCartLines = 2 }
        try f.store.addToCart(u, product: f.products[0].id)
        try f.store.addToCart(u, product: f.products[1].id)
        #expect(throws: VitrineError.cartFull(limit: 2)) { try f.store.addToCart(u, product: f.products[2].id) }
        try f.store.addToCart(u, product: f.products[1].id) // merging into an existing line is fine
    }

    @Test func retriedAddWithRequestIDCountsOnce() throws {
        let f = try Fixture()
        try f.store.addToCart(u, product: f.products[0].id, quantity: 2, requestID: "tap-1")
        try f.store.addToCart(u, product: f.products[0].id, quantity: 2, requestID: "tap-1")
        #expect(try f.store.cart(u).items[0].line.quantity == 2)
        try f.store.addToCart(u, product: f.products[0].id, quantity: 2, requestID: "tap-2")
        #expect(try f.store.cart(u).items[0].line.quantity == 4)
    }

    @Test func setRemoveClear() throws {
        let f = try Fixture(stock: 5)
        let p = f.products[0].id
        try f.store.addToCart(u, product: p, quantity: 2)
        #expect(try f.store.setCartQuantity(u, product: p, quantity: 5).items[0].line.quantity == 5)
        #expect(
            throws: VitrineError.outOfStock([
                Shortage(product: p, recommendation: nil, requested: 6, available: 5, reason: .insufficientStock)
            ])
        ) {
            try f.store.setCartQuantity(u, product: p, quantity: 6)
        }
        #expect(throws: VitrineError.quantityOutOfRange(0, allowed: 1...99)) { try f.store.setCartQuantity(u, product: p, quantity: 0) }
        #expect(throws: VitrineError.notInCart(f.products[1].id, recommendation: nil)) {
            try f.store.setCartQuantity(u, product: f.products[1].id, quantity: 1)
        }
        // Lowering never fails on stock, even off sale.
        try f.store.setOnSale(p, false)
        #expect(try f.store.setCartQuantity(u, product: p, quantity: 1).items[0].problem == .productOffSale)
        try f.store.setOnSale(p, true)
        try f.store.addToCart(u, product: f.products[1].id)
        #expect(try f.store.removeFromCart(u, product: p).items.count == 1)
        #expect(try f.store.removeFromCart(u, product: p).items.count == 1) // idempotent
        try f.store.clearCart(u)
        #expect(try f.store.cart(u).items.isEmpty)
    }

    @Test func guestCartMergeTakesLargerQuantity() throws {
        let f = try Fixture()
        let session = try f.store.issueGuestID()
        let guest = CartOwner.guest(session)
        try f.store.addToCart(u, product: f.products[0].id, recommendation: "r0", quantity: 2)
        try f.store.addToCart(u, product: f.products[1].id, quantity: 4)
        try f.store.addToCart(guest, product: f.products[0].id, recommendation: "r0", quantity: 3)
        try f.store.addToCart(guest, product: f.products[1].id, quantity: 1)
        try f.store.addToCart(guest, product: f.products[2].id, recommendation: "r2", quantity: 2)
        let merged = try f.store.mergeGuestCart(session, into: "u")
        let quantities = Dictionary(uniqueKeysWithValues: merged.items.map { ($0.line.product, $0.line.quantity) })
        #expect(quantities == [f.products[0].id: 3, f.products[1].id: 4, f.products[2].id: 2])
        #expect(try f.store.cart(guest).items.isEmpty)
        #expect(try f.store.mergeGuestCart(session, into: "u") == merged) // retry-safe
        try expectIntact(f.store)
    }

    @Test func mergeThatWouldOverfillChangesNothing() throws {
        let f = try Fixture { $0.maxCartLines = 2 }
        try f.store.addToCart(u, product: f.products[0].id)
        try f.store.addToCart(u, product: f.products[1].id)
        let g = try f.store.issueGuestID()
        try f.store.addToCart(.guest(g), product: f.products[2].id)
        #expect(throws: VitrineError.cartFull(limit: 2)) { try f.store.mergeGuestCart(g, into: "u") }
        #expect(try f.store.cart(.guest(g)).items.count == 1)
    }
}
