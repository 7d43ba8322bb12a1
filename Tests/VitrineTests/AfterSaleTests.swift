// After-sale (issue 15, "What to build" 2): partial cancels, returns with and without restock,
// also after settlement, with the commission clawed back as a negative earning; conversion.

import Testing

@testable import Vitrine

@Suite struct AfterSaleTests {
    let user: UserID = "buyer"

    /// A paid order of 4 × p0 through r0 (9,900 fen, 8%: commission 3,168).
    func paidOrder(_ f: Fixture) throws -> Order {
        try f.store.addToCart(.user(user), product: f.products[0].id, recommendation: "r0", quantity: 4)
        let o = try f.store.checkout(user: user, idempotencyKey: "k").order
        return try f.store.confirmPayment(order: o.id, reference: "T-1").order
    }

    @Test func partialCancelGivesUnitsBackAndClawsBack() throws {
        let f = try Fixture(stock: 10, recommendationQuantity: 10)
        let o = try paidOrder(f)
        f.clock.advance(milliseconds: 1) // entries list newest first
        let after = try f.store.cancelLines(of: o.id, [CheckoutLine(product: f.products[0].id, recommendation: "r0", quantity: 1)])
        #expect(after.status == .paid && after.lines[0].cancelledQuantity == 1 && after.lines[0].keptQuantity == 3)
        #expect(try f.store.product(f.products[0].id).stock == 7 && f.store.recommendation("r0").quantity == 7)
        #expect(try f.store.earning(of: f.expert.id, order: o.id).commissionFen == 2_376)
        #expect(try f.store.earnings(of: f.expert.id).pendingFen == 2_376)
        #expect(try f.store.earningEntries(of: f.expert.id).items.map(\.amountFen) == [-792, 3_168])
        #expect(throws: VitrineError.moreThanInOrder(o.id, product: f.products[0].id, requested: 4, available: 3)) {
            try f.store.cancelLines(of: o.id, [CheckoutLine(product: f.products[0].id, recommendation: "r0", quantity: 4)])
        }
        #expect(throws: VitrineError.notInOrder(o.id, product: f.products[1].id, recommendation: nil)) {
            try f.store.cancelLines(of: o.id, [CheckoutLine(product: f.products[1].id, quantity: 1)])
        }
        try expectIntact(f.store)
        // The last kept units cancel the order.
        let all = try f.store.cancelLines(of: o.id, [CheckoutLine(product: f.products[0].id, recommendation: "r0", quantity: 3)])
        #expect(try all.status == .cancelled && f.store.product(f.products[0].id).stock == 10)
        try expectIntact(f.store)
    }

    @Test func returnsAfterSettlementClawBackFromSettledWithOrWithoutRestock() throws {
        let f = try Fixture(stock: 10, recommendationQuantity: 10)
        let o = try paidOrder(f)
        #expect(throws: VitrineError.emptyCheckout) { try f.store.cancelLines(of: o.id, []) }
        f.clock.advance(by: f.store.configuration.settlementWindow)
        try f.store.settleOrder(o.id)
        let line = CheckoutLine(product: f.products[0].id, recommendation: "r0", quantity: 1)
        #expect(throws: VitrineError.orderStatusConflict(o.id, status: .settled)) { try f.store.cancelLines(of: o.id, [line]) }
        let kept = try f.store.returnLines(of: o.id, [line], restock: false)
        #expect(kept.refundFen == 9_900 && kept.clawbackFen == [f.expert.id: 792])
        #expect(try f.store.product(f.products[0].id).stock == 6, "not restocked: stays sold")
        let back = try f.store.returnLines(
            of: o.id, [CheckoutLine(product: f.products[0].id, recommendation: "r0", quantity: 2)], restock: true)
        #expect(back.order.lines[0].returnedQuantity == 3 && back.order.lines[0].restockedQuantity == 2)
        #expect(try f.store.product(f.products[0].id).stock == 8 && f.store.recommendation("r0").quantity == 8)
        let e = try f.store.earnings(of: f.expert.id)
        #expect(e.pendingFen == 0 && e.settledFen == 792)
        #expect(try f.store.earningEntries(of: f.expert.id).items.map(\.amountFen).reduce(0, +) == 792)
        try expectIntact(f.store)
        // An order not paid yet takes no returns.
        try f.store.addToCart(.user("x"), product: f.products[0].id, quantity: 1)
        let other = try f.store.checkout(user: "x", idempotencyKey: "o").order
        #expect(throws: VitrineError.orderStatusConflict(other.id, status: .placed)) {
            try f.store.returnLines(of: other.id, [CheckoutLine(product: f.products[0].id, quantity: 1)], restock: true)
        }
    }

    @Test func conversionCountsFavouritesCartsAndOrders() throws {
        let f = try Fixture()
        try f.store.addFavourite(user: "a", product: f.products[0].id)
        try f.store.addFavourite(user: "b", product: f.products[0].id)
        try f.store.addToCart(.user("c"), product: f.products[0].id, recommendation: "r0", quantity: 1)
        _ = try paidOrder(f)
        let c = try f.store.conversion(of: "r0")
        #expect(c.favourites == 2 && c.cartLines == 1 && c.orders == 1 && c.paidOrders == 1 && c.unitsKept == 4)
    }
}
