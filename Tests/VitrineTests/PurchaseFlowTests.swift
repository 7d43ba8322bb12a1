// The purchase flow (issue 15, "What to build" 1): checkout awaits payment, the intermediate
// page's purchase intents, confirmation idempotent by partner reference, lazy and swept expiry,
// settlement only after the window, and old `placed` orders read as they were.

import Foundation
import Testing

@testable import Vitrine

@Suite struct PurchaseFlowTests {
    let user: UserID = "buyer"

    /// The fixture plus a Taobao product with a query and a fragment in its link.
    func fixture() throws -> (Fixture, Product) {
        let f = try Fixture()
        let p = try f.store.upsertProduct(
            Product(
                id: "tb", partner: "taobao", link: "https://item.taobao.com/item.htm?id=7#sku", title: "收纳盒",
                priceFen: 5_000, merchant: "好物店", category: "home", initialStock: 10))
        try f.store.postRecommendation(id: "推荐/1", expert: f.expert.id, product: p.id, reason: "好用", quantity: 5)
        return (f, p)
    }

    /// An order of p0 through r0 (Tmall), and of `tb` through 推荐/1 (Taobao) when `twoPartners`.
    func order(_ f: Fixture, _ key: String, twoPartners: Bool = false, quantity: Int64 = 2) throws -> Order {
        try f.store.addToCart(.user(user), product: f.products[0].id, recommendation: "r0", quantity: quantity)
        if twoPartners { try f.store.addToCart(.user(user), product: "tb", recommendation: "推荐/1", quantity: 1) }
        return try f.store.checkout(user: user, idempotencyKey: key).order
    }

    @Test func checkoutAwaitsPaymentAndIntentsCarryAttributedPartnerLinks() throws {
        let (f, _) = try fixture()
        let o = try order(f, "k", twoPartners: true)
        #expect(o.status == .awaitingPayment && o.paidAt == nil)
        #expect(o.paymentDueAt == o.placedAt.adding(milliseconds: 30 * 60 * 1000))
        #expect(try f.store.product("tb").stock == 9, "stock is taken at checkout")
        let intents = try f.store.purchaseIntents(for: o.id)
        #expect(intents.map(\.partner) == ["taobao", "tmall"])
        let tb = try #require(intents.first?.items.first)
        // The fragment stays last; the id with "/" and CJK is percent-encoded; the result passes the link policy.
        #expect(tb.url == "https://item.taobao.com/item.htm?id=7&vt_order=\(o.id)&vt_expert=mei&vt_rec=%E6%8E%A8%E8%8D%90%2F1#sku")
        let tm = try #require(intents.last?.items.first)
        #expect(tm.url == "https://detail.tmall.com/item.htm?id=1000&vt_order=\(o.id)&vt_expert=mei&vt_rec=r0")
        for i in intents { for item in i.items { #expect(try PartnerLink(parsing: item.url).canonical == item.url) } }
        #expect(intents.map(\.totalFen) == [5_000, 19_800] && intents.allSatisfy { $0.payment == nil })
        try expectIntact(f.store)
    }

    @Test func attributionIsEncodedAndCannotLeaveThePartnersHosts() throws {
        let tmall = Partner.tmall
        let url = try Store<TestBackend>.attributedLink(
            "https://detail.tmall.com/item.htm", partner: tmall, [("vt_order", "a&b=c#d"), ("vt_expert", nil)])
        #expect(url == "https://detail.tmall.com/item.htm?vt_order=a%26b%3Dc%23d")
        #expect(throws: VitrineError.linkHostNotAllowed(host: "item.taobao.com", partner: "tmall", allowedDomains: tmall.domains)) {
            try Store<TestBackend>.attributedLink("https://item.taobao.com/x", partner: tmall, [("vt_order", "o")])
        }
    }

    @Test func confirmationIsIdempotentByReference() throws {
        let (f, _) = try fixture()
        let o = try order(f, "k1", twoPartners: true)
        #expect(throws: VitrineError.invalidArgument(field: "partner", reason: "order \(o.id) has 2 partners: name one")) {
            try f.store.confirmPayment(order: o.id, reference: "T-1")
        }
        #expect(throws: VitrineError.partnerNotInOrder(o.id, partner: "weimai")) {
            try f.store.confirmPayment(order: o.id, partner: "weimai", reference: "W-1")
        }
        let first = try f.store.confirmPayment(order: o.id, partner: "tmall", reference: "T-1")
        #expect(!first.isReplay && first.order.status == .placed, "one partner of two: still awaiting payment")
        let again = try f.store.confirmPayment(order: o.id, partner: "tmall", reference: "T-1")
        #expect(again.isReplay && again.order == first.order)
        #expect(throws: VitrineError.paymentAlreadyConfirmed(o.id, partner: "tmall", reference: "T-1")) {
            try f.store.confirmPayment(order: o.id, partner: "tmall", reference: "T-2")
        }
        f.clock.advance(milliseconds: 5)
        let paid = try f.store.confirmPayment(order: o.id, partner: "taobao", reference: "B-1").order
        #expect(paid.status == .paid && paid.paidAt == f.clock.now)
        #expect(try f.store.earning(of: f.expert.id, order: o.id).status == .paid)
        // A reference is one order's only; another partner may use the same text.
        let other = try order(f, "k2")
        #expect(throws: VitrineError.paymentReferenceInUse(reference: "T-1", partner: "tmall", order: o.id)) {
            try f.store.confirmPayment(order: other.id, reference: "T-1")
        }
        #expect(throws: VitrineError.orderStatusConflict(o.id, status: .paid)) { try f.store.purchaseIntents(for: o.id) }
        try expectIntact(f.store)
    }

    @Test func unpaidOrdersExpireLazilyAndBySweepGivingEverythingBack() throws {
        let (f, _) = try fixture()
        let o = try order(f, "k1", quantity: 3)
        #expect(try f.store.earnings(of: f.expert.id).pendingFen == 2_376)
        f.clock.advance(by: f.store.configuration.paymentWindow)
        #expect(throws: VitrineError.paymentOverdue(o.id, dueAt: o.paymentDueAt!)) {
            try f.store.confirmPayment(order: o.id, reference: "late")
        }
        let expired = try f.store.expireOverdueOrders(limit: 10)
        #expect(expired.map(\.id) == [o.id] && expired.first?.status == .expired)
        #expect(try f.store.product(f.products[0].id).stock == 10 && f.store.recommendation("r0").quantity == 1000)
        let e = try f.store.earnings(of: f.expert.id)
        #expect(e.pendingFen == 0 && e.settledFen == 0 && e.orders.first?.status == .expired)
        #expect(try f.store.expireOverdueOrders(limit: 10).isEmpty, "expiry happens once")
        #expect(throws: VitrineError.orderStatusConflict(o.id, status: .expired)) { try f.store.cancelOrder(o.id) }
        try expectIntact(f.store)

        // Lazily: the next checkout expires overdue orders before it counts stock.
        let late = try order(f, "k2", quantity: 4)
        f.clock.advance(by: f.store.configuration.paymentWindow)
        try f.store.addToCart(.user("other"), product: f.products[1].id, quantity: 1)
        _ = try f.store.checkout(user: "other", idempotencyKey: "x")
        #expect(try f.store.order(late.id).status == .expired)
        #expect(try f.store.product(f.products[0].id).stock == 10)
        try expectIntact(f.store)
    }

    @Test func anOrderPaidInPartWhenItExpiresKeepsThePaidPartners() throws {
        let (f, _) = try fixture()
        let o = try order(f, "k", twoPartners: true)
        try f.store.confirmPayment(order: o.id, partner: "taobao", reference: "B-9")
        f.clock.advance(by: f.store.configuration.paymentWindow)
        let after = try #require(try f.store.expireOverdueOrders().first)
        #expect(after.status == .paid)
        let tmallLine = try #require(after.lines.first { $0.partner == "tmall" })
        #expect(tmallLine.cancelledQuantity == 2 && tmallLine.keptQuantity == 0)
        #expect(try f.store.product(f.products[0].id).stock == 10 && f.store.product("tb").stock == 9)
        // Commission of the kept Taobao line only: 5000 × 8% = 400, earned now.
        #expect(try f.store.earning(of: f.expert.id, order: o.id).commissionFen == 400)
        #expect(try f.store.earningEntries(of: f.expert.id).items.map(\.amountFen) == [400])
        try expectIntact(f.store)
    }

    @Test func settlementOnlyForPaidOrdersAfterTheWindow() throws {
        let (f, _) = try fixture()
        let o = try order(f, "k")
        #expect(throws: VitrineError.orderStatusConflict(o.id, status: .placed)) { try f.store.settleOrder(o.id) }
        let paid = try f.store.confirmPayment(order: o.id, reference: "T-1").order
        let window = f.store.configuration.settlementWindow
        f.clock.advance(by: window - .milliseconds(1))
        #expect(throws: VitrineError.settlementWindowOpen(o.id, settleableAt: paid.paidAt!.adding(milliseconds: window.wholeMilliseconds)))
        {
            try f.store.settleOrder(o.id)
        }
        #expect(try f.store.earnings(of: f.expert.id).pendingFen == 1_584)
        f.clock.advance(milliseconds: 1)
        #expect(try f.store.settleOrder(o.id).status == .settled)
        let e = try f.store.earnings(of: f.expert.id)
        #expect(e.pendingFen == 0 && e.settledFen == 1_584)
        try expectIntact(f.store)
    }

    @Test func paidOrderCancelledClawsBackInTheLedger() throws {
        let (f, _) = try fixture()
        let o = try order(f, "k")
        try f.store.confirmPayment(order: o.id, reference: "T-1")
        f.clock.advance(milliseconds: 86_400_000)
        let cancelled = try f.store.cancelOrder(o.id)
        #expect(cancelled.status == .cancelled && cancelled.lines[0].cancelledQuantity == 2)
        #expect(try f.store.earningEntries(of: f.expert.id).items.map(\.amountFen) == [-1_584, 1_584])
        let day0 = EarningsDay(o.placedAt)
        let days = try f.store.earningsByDay(of: f.expert.id, from: day0, to: EarningsDay(f.clock.now))
        #expect(days.map(\.amountFen) == [1_584, -1_584] && days[0].period == day0.number)
        #expect(try f.store.earningsByMonth(of: f.expert.id, from: day0, to: EarningsDay(f.clock.now)).map(\.amountFen).reduce(0, +) == 0)
        try expectIntact(f.store)
    }

    @Test func earningsDaysAreChinaStandardTime() {
        // 2024-02-29T16:00:00Z is 2024-03-01 00:00 in UTC+8.
        #expect(EarningsDay(Timestamp(millisecondsSinceEpoch: 1_709_222_400_000)).number == 20_240_301)
        #expect(EarningsDay(Timestamp(millisecondsSinceEpoch: 1_709_222_399_999)).number == 20_240_229)
        #expect(EarningsDay(Timestamp(millisecondsSinceEpoch: 0)).number == 19_700_101)
        #expect(EarningsDay(Timestamp(millisecondsSinceEpoch: -28_800_001)).number == 19_691_231)
        _ = EarningsDay(Timestamp(millisecondsSinceEpoch: .min)) // no trap at the ends
        _ = EarningsDay(Timestamp(millisecondsSinceEpoch: .max))
    }

    /// An order written before the purchase flow (status placed, no paymentDueAt) never expires,
    /// settles as if paid when placed, and the integrity check accepts it.
    @Test func ordersPlacedBeforeThePurchaseFlowReadAsTheyWere() throws {
        let (f, _) = try fixture()
        var o = try order(f, "k")
        let due = try #require(Keys.orderDue(o))
        o.paymentDueAt = nil
        try f.store.backend.write { tx in
            try tx.clear(due)
            try tx.store(o, Keys.order(o.id))
        }
        try expectIntact(f.store)
        f.clock.advance(by: f.store.configuration.settlementWindow)
        #expect(try f.store.expireOverdueOrders().isEmpty)
        #expect(try f.store.settleOrder(o.id).status == .settled)
        try expectIntact(f.store)
    }

    @Test func integrityFindsABrokenPaymentState() throws {
        let (f, _) = try fixture()
        var o = try order(f, "k")
        o.status = .paid
        try f.store.backend.write { tx in try tx.store(o, Keys.order(o.id)) }
        let kinds = Set(try f.store.checkIntegrity().map(\.kind))
        #expect(kinds.contains(.invalidOrderState) && kinds.contains(.danglingIndexEntry) && kinds.contains(.earningsMismatch))
    }

    @Test func configurationWindowsAreBounded() throws {
        #expect(throws: VitrineError.invalidArgument(field: "paymentWindow", reason: "1 ms ... 30 days")) {
            try makeStore { $0.paymentWindow = .zero }
        }
        #expect(throws: VitrineError.invalidArgument(field: "settlementWindow", reason: "0 ... 366 days")) {
            try makeStore { $0.settlementWindow = .seconds(400 * 86_400) }
        }
    }
}
