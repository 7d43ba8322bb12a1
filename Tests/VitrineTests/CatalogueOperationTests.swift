import Testing

@testable import Vitrine

@Suite struct CatalogueOperationTests {
    func product(_ link: String, partner: PartnerID = "tmall") -> Product {
        Product(id: "x", partner: partner, link: link, title: "T", priceFen: 100, merchant: "M", category: "c", initialStock: 1)
    }

    @Test func defaultPartnersAreWritten() throws {
        let store = try makeStore()
        #expect(try store.partners().map(\.id) == ["taobao", "tmall", "weimai"])
    }

    @Test func configurablePartners() throws {
        let store = try makeStore { $0.partners = [Partner(id: "jd", name: "京东", domains: ["jd.com"])] }
        #expect(try store.partners().map(\.id) == ["jd"])
        _ = try store.upsertProduct(product("https://item.jd.com/1.html", partner: "jd"))
        #expect(throws: VitrineError.unknownPartner("tmall")) { try store.upsertProduct(product("https://detail.tmall.com/1")) }
    }

    @Test func linkValidation() throws {
        let store = try makeStore()
        _ = try store.upsertProduct(product("https://detail.tmall.com/item.htm?id=1"))
        _ = try store.upsertProduct(product("https://TMALL.com/x"))
        _ = try store.upsertProduct(product("https://m.tb.cn/h.abc", partner: "taobao"))
        #expect(throws: VitrineError.linkNotHTTPS(link: "http://detail.tmall.com/1", scheme: "http")) {
            try store.upsertProduct(product("http://detail.tmall.com/1"))
        }
        #expect(
            throws: VitrineError.linkHostNotAllowed(host: "eviltmall.com", partner: "tmall", allowedDomains: ["tmall.com", "tmall.hk"])
        ) {
            try store.upsertProduct(product("https://eviltmall.com/1"))
        }
        // Userinfo is refused outright (it used to be read as host evil.com, refused as not tmall's).
        #expect(
            throws: VitrineError.invalidLink(
                link: "https://tmall.com@evil.com/1", reason: "userinfo (\"@\" in the authority) is not allowed")
        ) {
            try store.upsertProduct(product("https://tmall.com@evil.com/1"))
        }
        #expect(throws: VitrineError.linkHostNotAllowed(host: "detail.tmall.com", partner: "weimai", allowedDomains: ["weimai.com"])) {
            try store.upsertProduct(product("https://detail.tmall.com/1", partner: "weimai"))
        }
        #expect(throws: VitrineError.unknownPartner("jd")) { try store.upsertProduct(product("https://jd.com/1", partner: "jd")) }
        for bad in ["not a url", "tmall.com/x", "https://", "https:///path", ""] {
            #expect(throws: VitrineError.self) { try store.upsertProduct(product(bad)) }
        }
    }

    @Test func productValidation() throws {
        let store = try makeStore()
        var p = product("https://tmall.com/1")
        p.priceFen = -1
        #expect(throws: VitrineError.invalidArgument(field: "priceFen", reason: "must not be negative")) { try store.upsertProduct(p) }
        p = product("https://tmall.com/1")
        p.stock = 5
        #expect(throws: VitrineError.self) { try store.upsertProduct(p) } // inconsistent ledger
        p = product("https://tmall.com/1")
        p.title = String(repeating: "长", count: 400) // 1200 bytes
        #expect(throws: VitrineError.invalidArgument(field: "title", reason: "longer than 1024 bytes")) { try store.upsertProduct(p) }
        p = product("https://tmall.com/1")
        p.id = ""
        #expect(throws: VitrineError.invalidArgument(field: "product", reason: "must not be empty")) { try store.upsertProduct(p) }
        #expect(throws: VitrineError.unknownProduct("nope")) { try store.product("nope") }
    }

    @Test func upsertKeepsLedgerAndRestockIsIdempotent() throws {
        let f = try Fixture(stock: 5)
        var p = f.products[0]
        p.title = "新标题"
        p.priceFen = 1
        p.stock = 999
        p.initialStock = 999
        let stored = try f.store.upsertProduct(p)
        #expect(stored.title == "新标题" && stored.stock == 5 && stored.initialStock == 5)

        let r1 = try f.store.restock(p.id, units: 3, restockKey: "delivery-1")
        #expect(r1.stock == 8 && r1.restocked == 3)
        let r2 = try f.store.restock(p.id, units: 3, restockKey: "delivery-1")
        #expect(r2.stock == 8 && r2.restocked == 3)
        #expect(throws: VitrineError.quantityOutOfRange(0, allowed: 1...Int64.max)) { try f.store.restock(p.id, units: 0, restockKey: "k") }
        #expect(throws: VitrineError.unknownProduct("nope")) { try f.store.restock("nope", units: 1, restockKey: "k") }
        _ = try f.store.restock(p.id, units: Int64.max - 8, restockKey: "huge")
        #expect(throws: VitrineError.amountOverflow(field: "restocked")) { try f.store.restock(p.id, units: 100, restockKey: "more") }
        try expectIntact(f.store)
    }

    @Test func offSale() throws {
        let f = try Fixture()
        #expect(try f.store.setOnSale(f.products[0].id, false).isOnSale == false)
        #expect(throws: VitrineError.productOffSale(f.products[0].id)) {
            try f.store.addToCart(.user("u"), product: f.products[0].id)
        }
        #expect(throws: VitrineError.productOffSale(f.products[0].id)) {
            try f.store.postRecommendation(expert: f.expert.id, product: f.products[0].id, reason: "r", quantity: 1)
        }
        #expect(throws: VitrineError.unknownProduct("nope")) { try f.store.setOnSale("nope", false) }
    }

    @Test func experts() throws {
        let store = try makeStore()
        let e = Expert(id: "e", displayName: "达人", categories: ["美妆"], commissionBasisPoints: 10_001)
        #expect(throws: VitrineError.invalidArgument(field: "commissionBasisPoints", reason: "must be 0...10000")) {
            try store.upsertExpert(e)
        }
        var ok = e
        ok.commissionBasisPoints = 1500
        try store.upsertExpert(ok)
        #expect(try store.expert("e") == ok)
        #expect(throws: VitrineError.unknownExpert("nope")) { try store.expert("nope") }
        try store.upsertUser(User(id: "u", displayName: "用户", interests: ["美妆"]))
        #expect(try store.user("u").interests == ["美妆"])
        #expect(throws: VitrineError.unknownUser("nope")) { try store.user("nope") }
    }

    @Test func recommendations() throws {
        let f = try Fixture()
        let p = f.products[0].id
        #expect(throws: VitrineError.reasonTooLong(length: 501, limit: 500)) {
            try f.store.postRecommendation(expert: f.expert.id, product: p, reason: String(repeating: "好", count: 501), quantity: 1)
        }
        _ = try f.store.postRecommendation(expert: f.expert.id, product: p, reason: String(repeating: "好", count: 500), quantity: 1)
        #expect(throws: VitrineError.unknownExpert("nope")) {
            try f.store.postRecommendation(expert: "nope", product: p, reason: "r", quantity: 1)
        }
        #expect(throws: VitrineError.unknownProduct("nope")) {
            try f.store.postRecommendation(expert: f.expert.id, product: "nope", reason: "r", quantity: 1)
        }
        #expect(throws: VitrineError.quantityOutOfRange(0, allowed: 1...Int64.max)) {
            try f.store.postRecommendation(expert: f.expert.id, product: p, reason: "r", quantity: 0)
        }
        // Retry-safe posting.
        let again = try f.store.postRecommendation(id: "r0", expert: f.expert.id, product: p, reason: "自用三年,回购无数次 #0", quantity: 1000)
        #expect(again == f.recommendations[0])
        #expect(throws: VitrineError.idConflict(kind: "recommendation", id: "r0")) {
            try f.store.postRecommendation(id: "r0", expert: f.expert.id, product: p, reason: "不同", quantity: 1000)
        }
        // Withdraw: idempotent, leaves the showcase.
        let w = try f.store.withdrawRecommendation("r0")
        #expect(w.status == .withdrawn)
        #expect(try f.store.withdrawRecommendation("r0") == w)
        #expect(try f.store.showcase(of: f.expert.id).items.map(\.recommendation.id).contains("r0") == false)
        #expect(throws: VitrineError.recommendationWithdrawn("r0")) { try f.store.addToCart(.user("u"), product: p, recommendation: "r0") }
        #expect(throws: VitrineError.unknownRecommendation("nope")) { try f.store.withdrawRecommendation("nope") }
        try expectIntact(f.store)
    }
}
