// The discovery and shopper subcommands as real processes: products, experts, favourites, feed,
// merge, orders — each a happy path, a usage error (exit 2) and, where there is an id to get
// wrong, an unknown id (exit 1).

import Foundation
import Testing

@Suite(.serialized) struct DiscoveryCommandTests {
    @Test func productsAndExperts() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        let beauty = try s.ok("products", "--category", "beauty", "--limit", "1", "--json").json()
        let first = try #require(beauty["items"] as? [[String: Any]])
        #expect(first.map { $0["id"] as? String } == ["lipstick"], "by id")
        let next = try #require(beauty["next"] as? String)
        let rest = try s.ok("products", "--category", "beauty", "--limit", "1", "--after", next, "--json").json()
        #expect((rest["items"] as? [[String: Any]])?.map { $0["id"] as? String } == ["mask"])
        #expect(rest["next"] == nil, "the last page has no next")
        let text = try s.ok("products", "--merchant", "云朵官方旗舰店").stdout
        #expect(text.contains("补水面膜 10片装 [mask] ¥99.00") && !text.contains("lipstick"), "\(text)")
        #expect(try s.ok("products", "--partner", "taobao").stdout.contains("[lipstick]"))
        #expect(try s.ok("products", "--category", "home").stdout.hasPrefix("0 product(s)"))
        try s.fails(1, "unknown partner \"amazon\"", "products", "--partner", "amazon")
        try s.fails(2, "give exactly one of", "products")
        try s.fails(2, "give exactly one of", "products", "--category", "beauty", "--partner", "tmall")
        try s.fails(2, "--after: not a cursor", "products", "--category", "beauty", "--after", "zzz")
        try s.fails(2, "--limit must be in 1...1000", "products", "--category", "beauty", "--limit", "0")

        let experts = try s.ok("experts", "--json").json()
        #expect((experts["items"] as? [[String: Any]])?.map { $0["id"] as? String } == ["mei"])
        #expect(try s.ok("experts").stdout.contains("美妆达人小美 [mei] beauty, commission 8.00%"))
        try s.fails(2, "unexpected argument 'mei'", "experts", "mei")
        try s.fails(2, "no database at", "experts", "--db", "none.db")
    }

    /// `load` of product lines without their discovery entries (a dump of the product table, or
    /// one from before the entries) adds them; a whole dump reloads byte for byte.
    @Test func loadAddsTheEntriesOfDumpedProducts() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        try s.write("products.jsonl", try s.ok("dump", "--table", "product").stdout)
        #expect(try s.ok("load", "products.jsonl", "--db", "p.db").stdout.contains("restored 2 records"))
        #expect(try s.ok("check", "--db", "p.db").stdout == "ok\n")
        #expect(try s.ok("products", "--partner", "tmall", "--db", "p.db").stdout.contains("[mask]"))
        try s.write("all.jsonl", try s.ok("dump").stdout)
        try s.ok("load", "all.jsonl", "--db", "all.db")
        #expect(try s.ok("dump", "--db", "all.db").stdout == (try s.ok("dump").stdout))
    }

    @Test func favouritesAndFeed() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        #expect(try s.ok("favourites", "ann").stdout.contains("0 product(s)"))
        try s.ok("favourites", "ann", "--add", "mask")
        let added = try s.ok("favourites", "ann", "--add", "lipstick", "--json").json()
        let items = try #require(added["items"] as? [[String: Any]])
        #expect(items.map { ($0["product"] as? [String: Any])?["id"] as? String } == ["lipstick", "mask"], "newest first")
        let removed = try s.ok("favourites", "ann", "--remove", "mask", "--json").json()
        #expect(removed["removed"] as? Bool == true)
        #expect((removed["items"] as? [[String: Any]])?.count == 1)
        #expect(try s.ok("favourites", "ann", "--remove", "mask").stdout.contains("mask was not a favourite of ann"))
        try s.fails(1, "unknown product \"nope\"", "favourites", "ann", "--add", "nope")
        try s.fails(2, "cannot be given together", "favourites", "ann", "--add", "mask", "--remove", "mask")
        try s.fails(2, "missing USER", "favourites")
        #expect(try s.ok("check").stdout == "ok\n")

        let feed = try s.ok("feed", "ann", "--limit", "1", "--json").json()
        #expect(((feed["items"] as? [[String: Any]])?.first?["recommendation"] as? [String: Any])?["id"] as? String == "r2")
        let next = try #require(feed["next"] as? String)
        let text = try s.ok("feed", "ann", "--after", next).stdout
        #expect(text.contains("feed of ann: 1 recommendation(s)") && text.contains("敏感肌也能用"), "\(text)")
        try s.fails(1, "unknown user \"bob\"", "feed", "bob")
        try s.fails(2, "missing USER", "feed")
    }

    @Test func mergeAndOrders() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        try s.ok("add-to-cart", "ann", "r1", "--qty", "2")
        let guest = try s.ok("guest").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let merged = try s.ok("merge", guest, "ann", "--json").json()
        #expect(merged["units"] as? Int == 2 && merged["user"] as? String == "ann")
        #expect(try s.ok("merge", guest, "ann").stdout.contains("cart of ann: 1 line(s)"))
        try s.fails(1, "unknown guest \"not-issued\"", "merge", "not-issued", "ann")
        try s.fails(2, "missing USER", "merge", guest)

        #expect(try s.ok("orders", "ann").stdout.contains("orders of ann: 0 order(s)"))
        for key in ["k1", "k2"] {
            try s.ok("add-to-cart", "ann", "r1")
            try s.ok("checkout", "ann", "--key", key)
        }
        let page = try s.ok("orders", "ann", "--limit", "1", "--json").json()
        let newest = try #require((page["items"] as? [[String: Any]])?.first)
        let next = try #require(page["next"] as? String)
        let older = try #require(
            (try s.ok("orders", "ann", "--limit", "1", "--after", next, "--json").json()["items"] as? [[String: Any]])?.first)
        #expect(newest["idempotencyKey"] as? String == "k2" && older["idempotencyKey"] as? String == "k1")
        #expect(try s.ok("orders", "ann").stdout.contains("order "))
        try s.fails(2, "--after: not a cursor", "orders", "ann", "--after", "x")
        try s.fails(2, "no database at", "orders", "ann", "--db", "none.db")
    }
}
