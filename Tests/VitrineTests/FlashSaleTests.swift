import Foundation
import Testing
import VitrineStore

@testable import Vitrine

/// A flash sale through the async domain API on the real engine, durable (`.grouped`): many
/// tasks buy one product whose stock is far smaller than the crowd. Exactly the stock is sold,
/// every other buyer gets a typed out-of-stock error, and the ledger holds.
/// Size: VITRINE_FLASH_TASKS.
@Suite struct FlashSaleTests {
    static func openStore(_ options: DatabaseOptions = DatabaseOptions(durability: .grouped)) throws -> (Store<EngineStore>, String) {
        let dir = FileManager.default.temporaryDirectory.path + "/vitrine-flash-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let store = try Store(backend: try EngineStore(path: dir + "/flash.db", options: options))
        try store.upsertExpert(Expert(id: "mei", displayName: "小美", categories: ["beauty"], commissionBasisPoints: 800))
        return (store, dir)
    }

    static func hotProduct(_ store: Store<EngineStore>, stock: Int64) throws -> Recommendation {
        try store.upsertProduct(
            Product(
                id: "hot", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=1", title: "爆款面膜",
                priceFen: 9_900, merchant: "旗舰店", category: "beauty", initialStock: stock))
        return try store.postRecommendation(expert: "mei", product: "hot", reason: "秒杀", quantity: stock * 10)
    }

    @Test func tasksBuyExactlyTheStock() async throws {
        let tasks = ProcessInfo.processInfo.environment["VITRINE_FLASH_TASKS"].flatMap(Int.init) ?? 512
        let stock = Int64(tasks / 4)
        let (store, dir) = try Self.openStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rec = try Self.hotProduct(store, stock: stock)
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<tasks {
                group.addTask {
                    let buyer = UserID("buyer-\(i)")
                    try await store.addToCart(.user(buyer), product: "hot", recommendation: rec.id, quantity: 1)
                    do {
                        let r = try await store.checkout(user: buyer, idempotencyKey: "pay-\(i)")
                        return r.order.lines.count == 1 ? "paid" : "bad order"
                    } catch VitrineError.outOfStock(let shortages) {
                        return shortages.first?.available == 0 ? "sold out" : "bad shortage"
                    }
                }
            }
            var all: [String] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.filter { $0 == "paid" }.count == Int(stock))
        #expect(results.filter { $0 == "sold out" }.count == tasks - Int(stock))
        let p = try store.product("hot")
        #expect(p.stock == 0 && p.sold == stock)
        #expect(try store.checkIntegrity().isEmpty)
        let stats = store.backend.database.batchStatistics()
        #expect(stats.closures >= tasks)
        print(
            "flash-sale (async domain): \(tasks) tasks, \(stock) sold, \(stats.batches) batches, mean \(String(format: "%.1f", stats.meanSize)), p99 \(stats.p99Size)"
        )
    }

    /// Two retries of one checkout (same idempotency key) queued into the same batch: the second
    /// closure sees the first one's order, so there is one order and one unit sold.
    @Test func retriesInOneBatchGiveOneOrder() async throws {
        var options = DatabaseOptions(durability: .grouped)
        options.batch = BatchLimits(maxCount: 2, maxDelayMicroseconds: 500_000)
        let (store, dir) = try Self.openStore(options)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rec = try Self.hotProduct(store, stock: 5)
        try await store.addToCart(.user("ann"), product: "hot", recommendation: rec.id, quantity: 2)
        let before = store.backend.database.batchStatistics()
        async let first = store.checkout(user: "ann", idempotencyKey: "pay-1")
        async let second = store.checkout(user: "ann", idempotencyKey: "pay-1")
        let (a, b) = try await (first, second)
        let after = store.backend.database.batchStatistics()
        #expect(after.batches == before.batches + 1 && after.largest == 2, "both retries ran in one batch")
        #expect(a.order.id == b.order.id)
        #expect(a.isReplay != b.isReplay)
        #expect(try store.product("hot").sold == 2)
        #expect(try store.orders(of: "ann").items.count == 1)
        #expect(try store.checkIntegrity().isEmpty)
    }

    /// A failing operation in a batch takes back only itself: the buyer whose cart line is not
    /// there fails, the others' orders are kept.
    @Test func aFailingCheckoutInABatchUndoesOnlyItself() async throws {
        var options = DatabaseOptions(durability: .grouped)
        options.batch = BatchLimits(maxCount: 3, maxDelayMicroseconds: 500_000)
        let (store, dir) = try Self.openStore(options)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rec = try Self.hotProduct(store, stock: 5)
        for u in ["a", "c"] { try await store.addToCart(.user(UserID(u)), product: "hot", recommendation: rec.id, quantity: 1) }
        async let a = store.checkout(user: "a", idempotencyKey: "k")
        async let b: Result<CheckoutResult, Error> = {
            do {
                return .success(
                    try await store.checkout(
                        user: "b", lines: [CheckoutLine(product: "hot", recommendation: rec.id, quantity: 1)], idempotencyKey: "k"))
            } catch { return .failure(error) }
        }()
        async let c = store.checkout(user: "c", idempotencyKey: "k")
        let ra = try await a
        let rb = await b
        let rc = try await c
        guard case .failure(VitrineError.notInCart) = rb else {
            Issue.record("buyer b without a cart line: \(rb)")
            return
        }
        #expect(ra.order.id != rc.order.id)
        #expect(try store.product("hot").sold == 2)
        #expect(try store.checkIntegrity().isEmpty)
    }
}
