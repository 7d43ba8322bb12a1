// Discovery: products by category, merchant and partner, and the expert directory — paging,
// index maintenance when a product moves, and the integrity check of the index.

import Testing

@testable import Vitrine

@Suite struct DiscoveryTests {
    /// 23 products: categories beauty/home/food by i % 3, two merchants by i % 2, partner tmall
    /// except every fifth on taobao.
    static func stocked() throws -> Fixture {
        let f = try Fixture()
        for i in 0..<20 {
            let taobao = i % 5 == 0
            try f.store.upsertProduct(
                Product(
                    id: ProductID("q\(String(format: "%02d", i))"), partner: taobao ? "taobao" : "tmall",
                    link: taobao ? "https://item.taobao.com/item.htm?id=\(i)" : "https://detail.tmall.com/item.htm?id=\(2000 + i)",
                    title: "商品 \(i)", priceFen: 100, merchant: i % 2 == 0 ? "云朵官方旗舰店" : "小店",
                    category: ["beauty", "home", "food"][i % 3], initialStock: 5))
        }
        return f
    }

    /// Every page of `filter` at `limit`, checking that no page is larger than `limit`.
    static func allPages<B>(_ store: Store<B>, _ filter: ProductFilter, limit: Int) throws -> [[ProductID]] {
        var pages: [[ProductID]] = []
        var cursor: PageCursor? = nil
        repeat {
            let page = try store.products(filter, after: cursor, limit: limit)
            #expect(page.items.count <= limit)
            pages.append(page.items.map(\.id))
            // Through the token, as a client passes it back.
            cursor = try page.next.map { try PageCursor(token: $0.token) }
        } while cursor != nil
        return pages
    }

    @Test func everyListingPagesEachItemOnceInIdOrder() throws {
        let f = try Self.stocked()
        let everything = try f.store.backend.read { tx in
            try tx.getRange(from: Keys.products.range.begin, to: Keys.products.range.end, limit: 0, reverse: false)
                .map { try Product(recordBytes: $0.value) }
        }
        let filters: [(ProductFilter, (Product) -> Bool)] = [
            (.category("beauty"), { $0.category == "beauty" }),
            (.category("food"), { $0.category == "food" }),
            (.merchant("云朵官方旗舰店"), { $0.merchant == "云朵官方旗舰店" }),
            (.partner("taobao"), { $0.partner == "taobao" }),
            (.partner("tmall"), { $0.partner == "tmall" }),
        ]
        for (filter, matches) in filters {
            let expected = everything.filter(matches).map(\.id).sorted()
            #expect(!expected.isEmpty)
            for limit in [1, 3, 7, 1000] {
                let pages = try Self.allPages(f.store, filter, limit: limit)
                #expect(pages.flatMap { $0 } == expected, "\(filter) at limit \(limit)")
                #expect(pages.dropLast().allSatisfy { $0.count == limit }, "only the last page is short")
            }
        }
        // A page's cursor keeps its place when products are added before and after it.
        let first = try f.store.products(.category("beauty"), limit: 3)
        try f.store.upsertProduct(
            Product(
                id: "a-first", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=9", title: "新",
                priceFen: 1, merchant: "小店", category: "beauty", initialStock: 1))
        let second = try f.store.products(.category("beauty"), after: first.next, limit: 3)
        let expected = everything.filter { $0.category == "beauty" }.map(\.id).sorted()
        #expect(second.items.map(\.id) == Array(expected[3..<6]))
        #expect(try f.store.products(.category("none")).items.isEmpty)
        #expect(try f.store.products(.merchant("nobody")).items.isEmpty)
        #expect(throws: VitrineError.unknownPartner("nope")) { try f.store.products(.partner("nope")) }
        #expect(throws: VitrineError.invalidArgument(field: "limit", reason: "must be 1...1000")) {
            try f.store.products(.category("beauty"), limit: 0)
        }
        try expectIntact(f.store)
    }

    @Test func expertDirectoryPages() throws {
        let f = try Fixture()
        for i in 0..<9 {
            try f.store.upsertExpert(
                Expert(id: ExpertID("e\(i)"), displayName: "达人 \(i)", categories: ["home"], commissionBasisPoints: 500))
        }
        let expected = (["mei"] + (0..<9).map { "e\($0)" }).map(ExpertID.init(rawValue:)).sorted()
        for limit in [1, 4, 10, 11] {
            var ids: [ExpertID] = []
            var cursor: PageCursor? = nil
            repeat {
                let page = try f.store.experts(after: cursor, limit: limit)
                #expect(page.items.count <= limit)
                ids += page.items.map(\.id)
                cursor = page.next
            } while cursor != nil
            #expect(ids == expected, "limit \(limit)")
        }
        #expect(try f.store.experts(limit: 10).next == nil, "an exactly full last page has no next")
    }

    @Test func entriesFollowCategoryMerchantAndPartner() throws {
        let f = try Fixture()
        var p = f.products[0]
        #expect(try f.store.products(.category("beauty")).items.map(\.id).contains(p.id))
        p.category = "home"
        p.merchant = "另一家店"
        p.partner = "taobao"
        p.link = "https://item.taobao.com/item.htm?id=1"
        try f.store.upsertProduct(p)
        #expect(!(try f.store.products(.category("beauty")).items.map(\.id).contains(p.id)))
        #expect(try f.store.products(.category("home")).items.map(\.id).contains(p.id))
        #expect(!(try f.store.products(.merchant("官方旗舰店")).items.map(\.id).contains(p.id)))
        #expect(try f.store.products(.merchant("另一家店")).items.map(\.id) == [p.id])
        #expect(try f.store.products(.partner("taobao")).items.map(\.id) == [p.id])
        #expect(!(try f.store.products(.partner("tmall")).items.map(\.id).contains(p.id)))
        // The listing carries the product as it is now, ledger included.
        try f.store.restock(p.id, units: 2, restockKey: "k")
        #expect(try f.store.products(.partner("taobao")).items.first?.stock == 12)
        try expectIntact(f.store)
        // Only the three entries of each product are stored: none left behind by the move.
        let entries = try f.store.backend.read { tx in
            try Keys.productIndexTables.reduce(0) { n, t in
                n + (try tx.getRange(from: t.range.begin, to: t.range.end, limit: 0, reverse: false).count)
            }
        }
        #expect(entries == 3 * f.products.count)
    }

    @Test func merchantHashCollisionsAreSkipped() throws {
        let f = try Fixture()
        // Another merchant's product planted under this merchant's hash, as a collision would put it.
        try f.store.backend.write { tx in
            try tx.set(Keys.productsOfMerchant("nobody").appending(.string("p0")).packed, [])
        }
        #expect(try f.store.products(.merchant("nobody")).items.isEmpty)
    }

    @Test func integrityCheckFindsStaleAndMissingEntries() throws {
        let f = try Fixture()
        try expectIntact(f.store)
        // A stale entry: the product moved to "home" but its old "beauty" entry was left behind.
        let stale = Keys.productsInCategory("beauty").appending(.string("p2")).packed
        try f.store.backend.write { tx in try tx.set(stale, []) }
        let problems = try f.store.checkIntegrity()
        #expect(problems.contains { $0.kind == .danglingIndexEntry && $0.subject == Tuple.describe(stale) }, "\(problems)")
        try f.store.backend.write { tx in
            try tx.clear(stale)
            try tx.clear(Keys.productsOfPartner("tmall").appending(.string("p1")).packed)
        }
        let missing = try f.store.checkIntegrity()
        #expect(missing.map(\.kind) == [.missingIndexEntry] && missing.first?.subject == "product p1", "\(missing)")
    }

    @Test func restoreAddsTheEntriesOfDumpedProducts() throws {
        let f = try Fixture()
        var dump: [DumpedRecord] = []
        try f.store.backend.forEachRecord { dump.append($0) }
        // A whole dump already holds them: unchanged.
        #expect(Store<TestBackend>.recordsWithDiscoveryEntries(dump) == dump)
        // Without them (a dump of older days), they are added and the restore is sound.
        let old = dump.filter { !["prod_cat", "prod_merch", "prod_partner"].contains($0.table ?? "") }
        let completed = Store<TestBackend>.recordsWithDiscoveryEntries(old)
        #expect(Set(completed) == Set(dump))
        let fresh = try makeStore(clock: f.clock)
        #expect(try fresh.restoreProblems(old).contains { $0.kind == .missingIndexEntry })
        #expect(try fresh.restoreProblems(completed).isEmpty)
    }
}
