import Testing

@testable import Vitrine

@Suite struct ShowcaseTests {
    @Test func pagesNewestFirstAndStableUnderNewPosts() throws {
        let f = try Fixture()
        for i in 0..<7 {
            f.clock.advance(milliseconds: 10)
            try f.store.postRecommendation(
                id: RecommendationID("n\(i)"), expert: f.expert.id, product: f.products[i % 3].id, reason: "第 \(i) 条", quantity: 5)
        }
        let all = ["n6", "n5", "n4", "n3", "n2", "n1", "n0", "r2", "r1", "r0"].map(RecommendationID.init(rawValue:))
        let first = try f.store.showcase(of: f.expert.id, limit: 4)
        #expect(first.items.map(\.recommendation.id) == Array(all[0..<4]))
        let next = try #require(first.next)
        // New posts do not move the following pages.
        f.clock.advance(milliseconds: 10)
        try f.store.postRecommendation(id: "newest", expert: f.expert.id, product: f.products[0].id, reason: "新", quantity: 1)
        let second = try f.store.showcase(of: f.expert.id, after: PageCursor(token: next.token), limit: 4)
        #expect(second.items.map(\.recommendation.id) == Array(all[4..<8]))
        let third = try f.store.showcase(of: f.expert.id, after: second.next, limit: 4)
        #expect(third.items.map(\.recommendation.id) == Array(all[8..<10]))
        #expect(third.next == nil)
        // Each entry carries its product with the current stock.
        #expect(first.items[0].product.id == f.products[0].id && first.items[0].product.stock == 10)
    }

    @Test func categoryFilterAndFeed() throws {
        let f = try Fixture()
        let beauty = try f.store.showcase(of: f.expert.id, category: "beauty")
        #expect(beauty.items.map(\.recommendation.id) == ["r1", "r0"])
        let other = Expert(id: "lin", displayName: "居家达人阿林", categories: ["home"], commissionBasisPoints: 500)
        try f.store.upsertExpert(other)
        f.clock.advance(milliseconds: 5)
        try f.store.postRecommendation(id: "h1", expert: other.id, product: f.products[2].id, reason: "Cozy", quantity: 3)
        let feed = try f.store.interestFeed(categories: ["home", "beauty", "home"], limit: 2)
        #expect(feed.items.map(\.recommendation.id) == ["h1", "r2"])
        let rest = try f.store.interestFeed(categories: ["home", "beauty"], after: feed.next, limit: 2)
        #expect(rest.items.map(\.recommendation.id) == ["r1", "r0"])
        #expect(try f.store.interestFeed(categories: ["home"]).items.map(\.recommendation.id) == ["h1", "r2"])
        try f.store.upsertUser(User(id: "u", displayName: "U", interests: ["home"]))
        #expect(try f.store.interestFeed(for: "u").items.count == 2)
        #expect(throws: VitrineError.invalidArgument(field: "categories", reason: "must not be empty")) {
            try f.store.interestFeed(categories: [])
        }
        #expect(throws: VitrineError.unknownExpert("nope")) { try f.store.showcase(of: "nope") }
        #expect(throws: VitrineError.invalidArgument(field: "limit", reason: "must be 1...1000")) {
            try f.store.showcase(of: f.expert.id, limit: 0)
        }
    }

    @Test func cursorsAreOpaqueAndChecked() throws {
        #expect(throws: VitrineError.invalidCursor) { try PageCursor(token: "garbage!") }
        #expect(throws: VitrineError.invalidCursor) { try PageCursor(token: "") }
        let c = PageCursor(time: Timestamp(millisecondsSinceEpoch: 42), id: "推荐-1")
        #expect(try PageCursor(token: c.token) == c)
        #expect(!c.token.contains("=") && !c.token.contains("/") && !c.token.contains("+"))
    }

    @Test func favourites() throws {
        let f = try Fixture()
        let u: UserID = "u"
        let a = try f.store.addFavourite(user: u, product: f.products[0].id)
        f.clock.advance(milliseconds: 1)
        try f.store.addFavourite(user: u, product: f.products[1].id)
        f.clock.advance(milliseconds: 1)
        #expect(try f.store.addFavourite(user: u, product: f.products[0].id) == a) // idempotent
        #expect(try f.store.favourites(of: u).items.map(\.product.id) == [f.products[1].id, f.products[0].id])
        let page = try f.store.favourites(of: u, limit: 1)
        #expect(page.items.map(\.product.id) == [f.products[1].id])
        #expect(try f.store.favourites(of: u, after: page.next, limit: 1).items.map(\.product.id) == [f.products[0].id])
        #expect(try f.store.removeFavourite(user: u, product: f.products[1].id))
        #expect(try f.store.removeFavourite(user: u, product: f.products[1].id) == false)
        #expect(try f.store.favourites(of: u).items.map(\.product.id) == [f.products[0].id])
        #expect(throws: VitrineError.unknownProduct("nope")) { try f.store.addFavourite(user: u, product: "nope") }
    }
}
