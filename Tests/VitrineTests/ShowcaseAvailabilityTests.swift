// Small findings of issue 15, "Why" 8: what a showcase says is left, and posts dated in the future.

import Testing

@testable import Vitrine

@Suite struct ShowcaseAvailabilityTests {
    /// What is left through a recommendation is never more than the stock available.
    @Test func leftIsTheSmallerOfQuantityAndAvailableStock() throws {
        let f = try Fixture(stock: 10, recommendationQuantity: 1000) { $0.reservationHold = .seconds(60) }
        func left(_ rec: RecommendationID) throws -> Int64? {
            try f.store.showcase(of: f.expert.id).items.first { $0.recommendation.id == rec }?.available
        }
        #expect(try left("r0") == 10)
        // Another buyer's live hold counts against it.
        try f.store.addToCart(.user("a"), product: f.products[0].id, quantity: 4)
        #expect(try left("r0") == 6)
        // Stock sold out without the recommendation: nothing is left through it, whatever its quantity.
        try f.store.addToCart(.user("a"), product: f.products[0].id, quantity: 6) // the line is 10 now
        _ = try f.store.checkout(user: "a", idempotencyKey: "k")
        #expect(try f.store.recommendation("r0").quantity == 1000)
        #expect(try left("r0") == 0)
        #expect(try f.store.interestFeed(categories: ["beauty"]).items.first { $0.recommendation.id == "r0" }?.available == 0)
        // A recommendation's own quantity bounds it too.
        try f.store.postRecommendation(id: "small", expert: f.expert.id, product: f.products[1].id, reason: "r", quantity: 3)
        #expect(try left("small") == 3)
        // Off sale: nothing.
        var p = f.products[1]
        p.isOnSale = false
        try f.store.upsertProduct(p)
        #expect(try left("small") == 0)
    }

    /// A post dated more than the allowed skew ahead is refused; the past (imports) is fine.
    @Test func futureCreatedAtIsRefused() throws {
        let f = try Fixture()
        let now = f.clock.now
        #expect {
            try f.store.postRecommendation(
                id: "future", expert: f.expert.id, product: f.products[0].id, reason: "r",
                quantity: 1, createdAt: now.adding(milliseconds: 300_001))
        } throws: { error in
            guard case VitrineError.invalidArgument(let field, _) = error else { return false }
            return field == "createdAt"
        }
        #expect(throws: VitrineError.unknownRecommendation("future")) { try f.store.recommendation("future") }
        try f.store.postRecommendation(
            id: "skewed", expert: f.expert.id, product: f.products[0].id, reason: "r",
            quantity: 1, createdAt: now.adding(milliseconds: 300_000))
        try f.store.postRecommendation(
            id: "old", expert: f.expert.id, product: f.products[0].id, reason: "r",
            quantity: 1, createdAt: Timestamp(millisecondsSinceEpoch: 0))
        try expectIntact(f.store)
    }
}
