import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import Vitrine

/// Random operations against a small catalogue, with every invariant checked after each step
/// (bbolt's strict mode): whole and partial checkouts, merges, hold renewals and expiries,
/// payment confirmations (and retries), order expiry, settlement, partial cancels and returns
/// (with and without restock) among them, and after each step live holds <= stock and the stock ledger for every product, and a
/// buyer whose every line is fully held is never refused for stock. The seed is printed so a
/// failure can be replayed; VITRINE_SIM_STEPS sets the length (400 by default).
@Suite struct SimulationTests {
    /// The default seed, and seeds that once failed (kept as regressions): 9105354898673407839
    /// reached no settle within 400 steps (the run now goes on until every kind of step happened).
    @Test(arguments: [UInt64(20_261_104), 9_105_354_898_673_407_839])
    func randomOperationsKeepEveryInvariant(defaultSeed: UInt64) throws {
        // Fixed by default so CI is reproducible; VITRINE_SEED=<n> replays, VITRINE_SEED=random explores.
        let seed =
            ProcessInfo.processInfo.environment["VITRINE_SEED"].map { UInt64($0) ?? UInt64.random(in: 0...UInt64.max) } ?? defaultSeed
        print("SimulationTests.randomOperationsKeepEveryInvariant seed \(seed)")
        var rng = SeededRandom(seed: seed)
        let steps = Int(ProcessInfo.processInfo.environment["VITRINE_SIM_STEPS"] ?? "400") ?? 400
        let f = try Fixture(stock: 6, recommendationQuantity: 8) {
            $0.reservationHold = .seconds(5); $0.maxCartLines = 4; $0.maxHoldRenewals = 2; $0.maxUnitsPerBuyer = 7
            $0.paymentWindow = .seconds(12); $0.settlementWindow = .seconds(6)
        }
        let guests = [try f.store.issueGuestID(), try f.store.issueGuestID()]
        let owners: [CartOwner] = [.user("a"), .user("b"), .user("c"), .guest(guests[0]), .guest(guests[1])]
        var orders: [OrderID] = []
        var expected: [String: Int] = [:]
        var refusedWhileHeld = 0
        var references: [(partner: PartnerID, reference: String)] = []
        // Every kind of step the checks at the end expect must have happened: a seed that has
        // not reached one of them by `steps` (a settle needs a confirmed order whose settlement
        // window has passed) runs on, up to four times as long.
        let mustHappen = ["checkout", "partial checkout", "merge", "confirm", "expire", "settle", "partial cancel", "return"]
        var step = -1
        while true {
            step += 1
            if step >= steps && (step >= 4 * steps || mustHappen.allSatisfy({ (expected[$0] ?? 0) > 0 })) { break }
            let owner = owners[Int.random(in: 0..<owners.count, using: &rng)]
            let i = Int.random(in: 0..<f.products.count, using: &rng)
            let product = f.products[i].id
            let rec: RecommendationID? = Bool.random(using: &rng) ? f.recommendations[i].id : nil
            let name: String
            do {
                switch Int.random(in: 0..<16, using: &rng) {
                case 0, 1, 2:
                    name = "add"
                    try f.store.addToCart(owner, product: product, recommendation: rec, quantity: Int64.random(in: 1...4, using: &rng))
                case 3:
                    name = "set"
                    try f.store.setCartQuantity(
                        owner, product: product, recommendation: rec, quantity: Int64.random(in: 1...5, using: &rng))
                case 4:
                    name = "remove"
                    try f.store.removeFromCart(owner, product: product, recommendation: rec)
                case 5:
                    name = "checkout"
                    guard case .user(let u) = owner else { continue }
                    let fullyHeld = try Self.everyLineFullyHeld(f, owner)
                    do {
                        let r = try f.store.checkout(user: u, idempotencyKey: "s\(step)", acceptPriceChanges: true)
                        orders.append(r.order.id)
                    } catch VitrineError.outOfStock(let shortages) where fullyHeld {
                        refusedWhileHeld += 1
                        Issue.record("step \(step): \(owner) holds every line yet was refused: \(shortages)")
                    }
                case 6:
                    name = "partial checkout"
                    guard case .user(let u) = owner else { continue }
                    let lines = try f.store.cart(owner).items.compactMap { item -> CheckoutLine? in
                        guard Bool.random(using: &rng) else { return nil }
                        return CheckoutLine(
                            product: item.line.product, recommendation: item.line.recommendation,
                            quantity: Int64.random(in: 1...item.line.quantity, using: &rng))
                    }
                    guard !lines.isEmpty else { continue }
                    let r = try f.store.checkout(
                        user: u, lines: lines, idempotencyKey: "s\(step)", acceptPriceChanges: Bool.random(using: &rng))
                    orders.append(r.order.id)
                case 7:
                    name = "cancel"
                    guard let o = orders.randomElement(using: &rng) else { continue }
                    try f.store.cancelOrder(o)
                case 8:
                    name = "settle"
                    // A paid order when there is one (the others are refused).
                    let paid = try orders.filter { try f.store.order($0).status == .paid }
                    guard let o = paid.randomElement(using: &rng) ?? orders.randomElement(using: &rng) else { continue }
                    try f.store.settleOrder(o)
                case 9:
                    name = "restock/price"
                    // Restocks are rare, so carts keep competing for little stock.
                    if Int.random(in: 0..<4, using: &rng) == 0 {
                        try f.store.restock(product, units: Int64.random(in: 1...3, using: &rng), restockKey: "s\(step)")
                    } else {
                        var p = try f.store.product(product)
                        p.priceFen += 100
                        try f.store.upsertProduct(p)
                    }
                case 10:
                    name = "merge"
                    try f.store.mergeGuestCart(
                        guests[Int.random(in: 0...1, using: &rng)], into: ["a", "b", "c"][Int.random(in: 0...2, using: &rng)])
                case 12:
                    name = "confirm"
                    // The first unconfirmed partner of an order; sometimes a retry of an old reference.
                    guard let o = orders.randomElement(using: &rng) else { continue }
                    if Int.random(in: 0..<4, using: &rng) == 0, let old = references.randomElement(using: &rng) {
                        try f.store.confirmPayment(order: o, partner: old.partner, reference: old.reference)
                    } else {
                        guard let intent = try f.store.purchaseIntents(for: o).first(where: { $0.payment == nil }) else { continue }
                        let reference = "ref-\(step)"
                        try f.store.confirmPayment(order: o, partner: intent.partner, reference: reference)
                        references.append((intent.partner, reference))
                    }
                case 14:
                    name = "partial cancel"
                    guard let o = orders.randomElement(using: &rng), let l = try f.store.order(o).lines.randomElement(using: &rng) else {
                        continue
                    }
                    try f.store.cancelLines(
                        of: o,
                        [CheckoutLine(product: l.product, recommendation: l.recommendation, quantity: Int64.random(in: 1...2, using: &rng))]
                    )
                case 15:
                    name = "return"
                    let paid = try orders.filter { [.paid, .settled].contains(try f.store.order($0).status) }
                    guard let o = paid.randomElement(using: &rng), let l = try f.store.order(o).lines.randomElement(using: &rng) else {
                        continue
                    }
                    try f.store.returnLines(
                        of: o,
                        [
                            CheckoutLine(
                                product: l.product, recommendation: l.recommendation, quantity: Int64.random(in: 1...2, using: &rng))
                        ],
                        restock: Bool.random(using: &rng))
                case 13:
                    name = "expire"
                    try f.store.expireOverdueOrders(limit: Int.random(in: 1...3, using: &rng))
                default:
                    name = "time"
                    // Holds (5 s) often lapse; the sweep is rare, so lapsed holds stay as records.
                    f.clock.advance(milliseconds: Int64.random(in: 0...4000, using: &rng))
                    if Int.random(in: 0..<4, using: &rng) == 0 { try f.store.sweepExpiredReservations() }
                }
                expected[name, default: 0] += 1
            } catch let error as VitrineError {
                switch error {
                case .outOfStock, .priceChanged, .cartFull, .quantityOutOfRange, .notInCart, .emptyCheckout, .orderStatusConflict,
                    .buyerLimitExceeded, .paymentOverdue, .settlementWindowOpen, .paymentAlreadyConfirmed,
                    .paymentReferenceInUse, .partnerNotInOrder, .moreThanInOrder:
                    break // refusals a UI handles; they must change nothing, which the check below verifies
                default:
                    Issue.record("step \(step): unexpected \(error)")
                }
            }
            let problems = try f.store.checkIntegrity()
            #expect(problems.isEmpty, "step \(step): \(problems)")
            if !problems.isEmpty { break }
            for p in f.products {
                let now = try f.store.product(p.id)
                let live = try f.store.reservations(of: p.id).reduce(Int64(0)) { $0 + $1.quantity }
                #expect(live <= now.stock, "step \(step): holds \(live) exceed stock \(now.stock) of \(p.id)")
                #expect(now.stock == now.initialStock + now.restocked - now.sold, "step \(step): ledger of \(p.id)")
            }
        }
        print(
            "SimulationTests: \(step) steps, "
                + expected.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        #expect((expected["checkout"] ?? 0) > 0 && (expected["partial checkout"] ?? 0) > 0 && (expected["merge"] ?? 0) > 0)
        #expect((expected["confirm"] ?? 0) > 0 && (expected["expire"] ?? 0) > 0 && (expected["settle"] ?? 0) > 0)
        #expect((expected["partial cancel"] ?? 0) > 0 && (expected["return"] ?? 0) > 0)
        #expect(refusedWhileHeld == 0)
    }

    /// Whether every line of `owner`'s cart is held in full by a live hold, with nothing else in its way.
    static func everyLineFullyHeld(_ f: Fixture, _ owner: CartOwner) throws -> Bool {
        let items = try f.store.cart(owner).items
        guard !items.isEmpty else { return false }
        for item in items {
            guard item.problem == nil || item.problem == .insufficientStock else { return false }
            let held =
                try f.store.reservations(of: item.line.product)
                .first { $0.owner == owner && $0.recommendation == item.line.recommendation }?.quantity ?? 0
            if held < item.line.quantity { return false }
        }
        return true
    }
}

/// The example in `Store`'s documentation, as written there.
@Test func documentedExampleRuns() throws {
    let store = try Store(backend: InMemoryKeyValueStore(), configuration: .standard)
    try store.upsertExpert(Expert(id: "mei", displayName: "美妆达人小美", categories: ["beauty"], commissionBasisPoints: 800))
    try store.upsertProduct(
        Product(
            id: "mask", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=1", title: "补水面膜",
            priceFen: 9_900, merchant: "云朵官方旗舰店", category: "beauty", initialStock: 50))
    let rec = try store.postRecommendation(expert: "mei", product: "mask", reason: "敏感肌也能用，温和不刺激。", quantity: 20)
    let cart = try store.addToCart(.user("ann"), product: "mask", recommendation: rec.id, quantity: 2)
    let order = try store.checkout(user: "ann", lines: cart.checkoutLines, idempotencyKey: "ann-pay-1").order
    #expect(order.totalFen == 19_800 && order.commissionFen == 1_584)
    #expect(try store.checkout(user: "ann", lines: cart.checkoutLines, idempotencyKey: "ann-pay-1").order == order)
}
