import Foundation
import Testing
import Vitrine
import VitrineStore

/// The README's examples, compiled and run against the real engine.
@Suite struct ReadmeExampleTests {
    @Test func domainExample() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/vitrine-readme-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store(path: dir + "/shop.db")
        try store.upsertExpert(
            Expert(
                id: "mei", displayName: "美妆达人小美", categories: ["beauty"],
                commissionBasisPoints: 800))
        try store.upsertProduct(
            Product(
                id: "mask", partner: "tmall",
                link: "https://detail.tmall.com/item.htm?id=1", title: "补水面膜",
                priceFen: 9_900, merchant: "云朵官方旗舰店", category: "beauty",
                initialStock: 50))
        let rec = try store.postRecommendation(
            expert: "mei", product: "mask",
            reason: "敏感肌也能用，温和不刺激。", quantity: 20)
        let cart = try store.addToCart(.user("ann"), product: "mask", recommendation: rec.id, quantity: 2)
        let order = try store.checkout(
            user: "ann", lines: cart.checkoutLines,
            idempotencyKey: "ann-pay-1"
        ).order
        let again = try store.checkout(user: "ann", lines: cart.checkoutLines, idempotencyKey: "ann-pay-1").order
        #expect(order.id == again.id)
        #expect(try store.product("mask").stock == 48)
        store.backend.database.close()
    }

    @Test func engineExample() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/vitrine-readme-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try Database(path: dir + "/data.db", options: DatabaseOptions(durability: .grouped))
        defer { db.close() }
        try db.write { tx in
            let products = try tx.createTable("products")
            try products.put(Array("p1".utf8), Array("lipstick".utf8))
        }
        let value = try db.read { tx in
            try tx.table("products")?.get(Array("p1".utf8))
        }
        #expect(value == Array("lipstick".utf8))
    }
}
