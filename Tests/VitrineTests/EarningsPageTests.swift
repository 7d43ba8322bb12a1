// An expert's earnings per order, a page at a time (issue 15, "Why" 7: `earnings(of:)` read every
// order unpaged).

import Testing

@testable import Vitrine

@Suite struct EarningsPageTests {
    @Test func pagesCoverEveryOrderOnceWithCheapTotals() throws {
        let f = try Fixture(stock: 100)
        for i in 0..<5 {
            try f.store.addToCart(.user("u"), product: f.products[0].id, recommendation: "r0", quantity: Int64(i + 1))
            let order = try f.store.checkout(user: "u", idempotencyKey: "k\(i)").order
            if i == 1 { // settling takes a paid order and the settlement window
                try f.store.confirmPayment(order: order.id, reference: "t\(i)")
                f.clock.advance(by: f.store.configuration.settlementWindow)
                try f.store.settleOrder(order.id)
            }
            if i == 2 { try f.store.cancelOrder(order.id) }
        }
        let all = try f.store.earnings(of: f.expert.id)
        var seen: [OrderEarning] = []
        var cursor: PageCursor? = nil
        var pages = 0
        repeat {
            let page = try f.store.earningsPage(of: f.expert.id, after: cursor, limit: 2)
            #expect(page.pendingFen == all.pendingFen && page.settledFen == all.settledFen)
            #expect(page.orders.items.count <= 2)
            seen += page.orders.items
            cursor = page.orders.next
            pages += 1
        } while cursor != nil && pages < 10
        #expect(pages == 3)
        #expect(seen.map(\.order) == seen.map(\.order).sorted())
        #expect(Set(seen) == Set(all.orders) && seen.count == 5)
        // A token round-trips.
        let first = try f.store.earningsPage(of: f.expert.id, limit: 4)
        let rest = try f.store.earningsPage(of: f.expert.id, after: try PageCursor(token: try #require(first.orders.next).token))
        #expect(rest.orders.items.map(\.order) == [seen[4].order] && rest.orders.next == nil)
        #expect(throws: VitrineError.unknownExpert("nobody")) { try f.store.earningsPage(of: "nobody") }
        #expect(throws: VitrineError.invalidArgument(field: "limit", reason: "must be 1...1000")) {
            try f.store.earningsPage(of: f.expert.id, limit: 0)
        }
    }
}
