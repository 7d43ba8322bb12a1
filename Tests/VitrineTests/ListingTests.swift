// Store.usersWithCarts and Store.ordersAwaitingPayment: every item once, in order, across pages.

import Foundation
import Testing

@testable import Vitrine

@Suite struct ListingTests {
    @Test func usersWithCartsPagesThroughEveryUserWithALineOnce() throws {
        let f = try Fixture()
        let store = f.store
        let users: [UserID] = ["u3", "u1", "u10", "名字", "u2"]
        for u in users { _ = try store.addToCart(.user(u), product: "p1", recommendation: nil, quantity: 1) }
        _ = try store.addToCart(.user("u1"), product: "p2", recommendation: nil, quantity: 1) // two lines: listed once
        _ = try store.addToCart(.user("gone"), product: "p1", recommendation: nil, quantity: 1)
        try store.clearCart(.user("gone"))
        let guest = try store.issueGuestID()
        _ = try store.addToCart(.guest(guest), product: "p1", recommendation: nil, quantity: 1) // guests are not users
        var seen: [UserID] = []
        var cursor: PageCursor? = nil
        repeat {
            let page = try store.usersWithCarts(after: cursor, limit: 2)
            #expect(page.items.count <= 2)
            seen += page.items
            cursor = page.next
        } while cursor != nil
        #expect(seen == users.sorted())
        #expect(try store.usersWithCarts(limit: 1000).items == users.sorted())
        #expect(throws: VitrineError.self) { try store.usersWithCarts(limit: 0) }
    }

    @Test func ordersAwaitingPaymentListsPlacedOrdersSoonestDeadlineFirst() throws {
        let f = try Fixture()
        let store = f.store, clock = f.clock
        var placed: [OrderID] = []
        for i in 0..<5 {
            _ = try store.addToCart(.user(UserID("u\(i)")), product: "p1", recommendation: nil, quantity: 1)
            placed.append(try store.checkout(user: UserID("u\(i)"), idempotencyKey: "k\(i)").order.id)
            clock.advance(milliseconds: 1000)
        }
        try store.cancelOrder(placed[1])
        let one = try store.order(placed[3])
        let intents = try store.purchaseIntents(for: one.id)
        for i in intents { try store.confirmPayment(order: one.id, partner: i.partner, reference: "ref-3") }
        var seen: [OrderID] = []
        var cursor: PageCursor? = nil
        repeat {
            let page = try store.ordersAwaitingPayment(after: cursor, limit: 2)
            #expect(page.items.allSatisfy { $0.status == .placed })
            seen += page.items.map(\.id)
            cursor = page.next
        } while cursor != nil
        #expect(seen == [placed[0], placed[2], placed[4]])
    }
}
