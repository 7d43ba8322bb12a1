// What the domain tests share: a store with a manual clock, a small catalogue, the integrity check.
// Which backend they run against is said in one place, TestBackend.swift (the etcd test target
// compiles this file and a representative set of the domain tests with a TestBackend.swift of its
// own: the same tests on a cluster). Every test reaches the backend only through the protocol;
// InMemoryStoreTests test the in-memory backend itself.

import Foundation
import Testing
import VitrineStore

@testable import Vitrine

/// A fresh store on a fresh backend, with a manual clock.
func makeStore(
    clock: ManualClock = ManualClock(),
    _ adjust: (inout Configuration) -> Void = { _ in }
) throws -> Store<TestBackend> {
    var configuration = Configuration(clock: .manual(clock))
    adjust(&configuration)
    return try Store(backend: try makeBackend(), configuration: configuration)
}

/// A small catalogue: one expert, a few products, recommendations on them.
struct Fixture {
    let store: Store<TestBackend>
    let clock: ManualClock
    let expert: Expert
    let products: [Product]
    let recommendations: [Recommendation]

    init(stock: Int64 = 10, recommendationQuantity: Int64 = 1000, _ adjust: (inout Configuration) -> Void = { _ in }) throws {
        clock = ManualClock()
        store = try makeStore(clock: clock, adjust)
        expert = Expert(id: "mei", displayName: "美妆达人小美", categories: ["beauty", "home"], commissionBasisPoints: 800)
        try store.upsertExpert(expert)
        var products: [Product] = []
        var recommendations: [Recommendation] = []
        for i in 0..<3 {
            let p = Product(
                id: ProductID("p\(i)"), partner: "tmall", link: "https://detail.tmall.com/item.htm?id=\(1000 + i)",
                title: "面膜 \(i) 号", priceFen: 9_900 + Int64(i) * 100, merchant: "官方旗舰店",
                category: i == 2 ? "home" : "beauty", initialStock: stock)
            products.append(try store.upsertProduct(p))
            clock.advance(milliseconds: 1000)
            recommendations.append(
                try store.postRecommendation(
                    id: RecommendationID("r\(i)"), expert: expert.id, product: p.id,
                    reason: "自用三年,回购无数次 #\(i)", quantity: recommendationQuantity))
        }
        self.products = products
        self.recommendations = recommendations
    }
}

/// Asserts that `checkIntegrity` finds nothing, printing what it finds otherwise.
func expectIntact(_ store: Store<TestBackend>, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let problems = try store.checkIntegrity()
    #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
    if let memory = (store.backend as Any) as? InMemoryKeyValueStore {
        #expect(memory.checkInvariants().isEmpty, sourceLocation: sourceLocation)
    }
}
