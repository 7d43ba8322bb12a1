// Every subcommand as a real process: its happy path and its usage errors (exit 2), and the
// operation failures (exit 1) the issue names.

import Foundation
import Testing
import VitrineStore

@Suite(.serialized) struct CommandTests {
    static let names = [
        "demo", "load", "generate", "dump", "inspect", "check", "checkpoint", "compact", "showcase", "cart",
        "add-to-cart", "checkout", "order", "restock", "earnings", "workload", "guest", "sweep",
        "products", "experts", "favourites", "feed", "merge", "orders", "shrink",
    ]

    @Test func topLevelHelpAndDispatchErrors() throws {
        let s = try Sandbox()
        let help = try s.ok("--help")
        for name in Self.names { #expect(help.stdout.contains("  \(name) "), "top-level help lacks \(name)") }
        try s.fails(2, "missing SUBCOMMAND")
        try s.fails(2, "unknown subcommand 'frobnicate'", "frobnicate")
    }

    @Test func everySubcommandHasHelp() throws {
        let s = try Sandbox()
        for name in Self.names {
            let r = try s.ok(name, "--help")
            #expect(r.stdout.contains("Usage: vitrine \(name)"), "\(name) --help: \(r.stdout)")
            #expect(r.stdout.contains("--db PATH"), "\(name) --help lacks --db")
            // Help describes what works today: nothing it offers is "not supported yet".
            #expect(!r.stdout.contains("not supported"), "\(name) --help: \(r.stdout)")
        }
        #expect(!FileManager.default.fileExists(atPath: s.path("vitrine.db")), "--help must not create a database")
    }

    @Test func demoRunsAgainOnTheSameFile() throws {
        let s = try Sandbox()
        for _ in 0..<2 {
            let r = try s.ok("demo")
            for part in ["Showcase of", "favourites", "cart of", "Checked out", "order ", "Stock before and after", "Commission for"] {
                #expect(r.stdout.contains(part), "demo output lacks \"\(part)\": \(r.stdout)")
            }
        }
        #expect(FileManager.default.fileExists(atPath: s.path("vitrine.db")), "demo uses vitrine.db in the current directory")
        #expect(try s.ok("check").stdout == "ok\n")
        let counts = try #require(try s.ok("inspect", "--json").json()["records"] as? [String: Int])
        #expect(counts["order"] == 2)
        #expect(counts["product"] == 320)
        try s.fails(2, "unknown option --frob", "demo", "--frob")
    }

    @Test func loadCatalogueAndUsageErrors() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        let r = try s.ok("load", "tiny.json", "--db", "t.db")
        #expect(r.stdout.contains("2 products"))
        try s.ok("load", "tiny.json", "--db", "t.db") // repeatable
        let page = try s.ok("showcase", "mei", "--db", "t.db", "--json").json()
        #expect((page["items"] as? [Any])?.count == 2)

        try s.fails(2, "missing FILE", "load")
        try s.fails(2, "missing.json", "load", "missing.json", "--db", "t.db")
        try s.write("bad.json", "{ \"format\": \"something-else\", \"version\": 1 }")
        try s.fails(1, "bad.json", "load", "bad.json", "--db", "t.db")
        try s.write("bad.jsonl", "{\"table\":\"product\",\"key\":[\"x\"],\"value\":{\"id\":1}}\n")
        try s.fails(1, "bad.jsonl:1", "load", "bad.jsonl", "--db", "t.db")
        try s.fails(2, "unexpected argument 'extra'", "load", "tiny.json", "extra")
    }

    @Test func generateAndInspect() throws {
        let s = try Sandbox()
        let r = try s.ok("generate", "--products", "40", "--experts", "5", "--seed", "9", "--db", "g.db")
        #expect(r.stdout.contains("40 products") && r.stdout.contains("5 experts"))
        let report = try s.ok("inspect", "--db", "g.db", "--json").json()
        #expect(report["pageSize"] as? Int == 4096)
        let records = try #require(report["records"] as? [String: Int])
        #expect(records["product"] == 40 && records["expert"] == 5 && records["rec"] == 60)
        let pages = try #require(report["pages"] as? [String: Int])
        #expect((pages["leaf"] ?? 0) >= 1 && pages["meta"] == 2)
        let tables = try #require(report["tables"] as? [[String: Any]])
        #expect(tables.first?["name"] as? String == "kv")
        let text = try s.ok("inspect", "--db", "g.db").stdout
        for part in ["page size    4096 bytes", "log ", "free ", "last txid", "depth", "fill", "product       40"] {
            #expect(text.contains(part), "inspect lacks \"\(part)\": \(text)")
        }

        try s.fails(2, "--products must be an integer", "generate", "--products", "many", "--db", "g.db")
        try s.fails(2, "--products must be in 1...", "generate", "--products", "0", "--db", "g.db")
        try s.fails(2, "--seed must be an integer", "generate", "--seed", "x", "--db", "g.db")
        try s.fails(2, "--products given twice", "generate", "--products", "1", "--products=2")
        try s.fails(2, "no database at", "inspect", "--db", "missing.db")
        try s.fails(2, "--page must be an integer", "inspect", "--page", "two", "--db", "g.db")
        let page = try s.ok("inspect", "--page", "0", "--db", "g.db").stdout
        #expect(page.contains("page 0: meta") && page.contains("checkpoint sequence"), "\(page)")
        let leaf = try s.ok("inspect", "--page", "2", "--db", "g.db", "--json").json()
        #expect(leaf["number"] as? Int == 2 && (leaf["hex"] as? String)?.count == 8192)
        try s.fails(1, "no such page", "inspect", "--page", "999999", "--db", "g.db")
    }

    @Test func dumpTablesAndUsageErrors() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        let products = try s.ok("dump", "--table", "product").lines
        #expect(products.count == 2)
        for line in products {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["table"] as? String == "product")
        }
        #expect(products[0].contains("\"key\":[\"lipstick\"]") && products[1].contains("\"key\":[\"mask\"]"), "key order")
        let all = try s.ok("dump").lines
        let tables = try all.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["table"] as? String
        }
        #expect(Set(tables.compactMap { $0 }).isSuperset(of: ["meta", "partner", "expert", "product", "rec", "showcase", "user"]))
        try s.fails(2, "unknown table 'nope'", "dump", "--table", "nope")
        try s.fails(2, "--table needs a value", "dump", "--table")
        try s.fails(2, "no database at", "dump", "--db", "none.db")
        try s.write("not-a-db", String(repeating: "hello ", count: 2000))
        try s.fails(2, "not a Vitrine database", "dump", "--db", "not-a-db")
    }

    @Test func checkCheckpointCompact() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        #expect(try s.ok("check").stdout == "ok\n")
        #expect(try s.ok("check", "--json").json()["ok"] as? Bool == true)
        let cp = try s.ok("checkpoint", "--json").json()
        #expect(cp["logBytes"] as? Int == 0)
        #expect(try s.ok("checkpoint").stdout.hasPrefix("checkpoint "))
        try s.fails(2, "no database at", "check", "--db", "none.db")
        try s.fails(2, "missing OUT", "compact")
        try s.ok("compact", "out.db")
        #expect(try s.ok("check", "--db", "out.db").stdout == "ok\n")
        #expect(try s.ok("dump", "--db", "out.db").stdout == (try s.ok("dump").stdout))
        try s.write("exists.db", "x")
        try s.fails(2, "already exists", "compact", "exists.db")
        let dump = try s.ok("dump").stdout
        let shrunk = try s.ok("shrink", "--json").json()
        let (before, after) = (shrunk["pagesBefore"] as? Int ?? -1, shrunk["pagesAfter"] as? Int ?? -1)
        #expect(after > 0 && after <= before, "\(shrunk)")
        #expect(shrunk["bytesAfter"] as? Int == after * 4096)
        #expect(try s.ok("shrink").stdout.hasPrefix("shrank "))
        #expect(try s.ok("check").stdout == "ok\n")
        #expect(try s.ok("dump").stdout == dump)
        try s.fails(2, "no database at", "shrink", "--db", "none.db")
    }

    @Test func shoppingFlow() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")

        let page = try s.ok("showcase", "mei", "--limit", "1", "--json").json()
        let items = try #require(page["items"] as? [[String: Any]])
        #expect(items.count == 1)
        #expect((items[0]["recommendation"] as? [String: Any])?["id"] as? String == "r2", "newest first")
        let next = try #require(page["next"] as? String)
        let second = try s.ok("showcase", "mei", "--limit", "1", "--after", next, "--json").json()
        #expect(((second["items"] as? [[String: Any]])?.first?["recommendation"] as? [String: Any])?["id"] as? String == "r1")
        let text = try s.ok("showcase", "mei", "--category", "beauty").stdout
        #expect(text.contains("敏感肌也能用") && text.contains("¥99.00") && text.contains("stock 50"))

        let cart = try s.ok("add-to-cart", "ann", "r1", "--qty", "2", "--json").json()
        #expect(cart["units"] as? Int == 2)
        #expect(try s.ok("cart", "ann").stdout.contains("2 × 补水面膜"))
        let order = try s.ok("checkout", "ann", "--key", "pay-1", "--json").json()
        let id = try #require(order["id"] as? String)
        #expect(order["status"] as? String == "placed")
        #expect(order["units"] as? Int == 2)
        #expect(order["totalFen"] as? Int == 19_800)
        let replay = try s.ok("checkout", "ann", "--key", "pay-1", "--json").json()
        #expect(replay["id"] as? String == id && replay["replay"] as? Bool == true)

        let shown = try s.ok("order", id, "--json").json()
        #expect(shown["id"] as? String == id && shown["status"] as? String == "placed" && shown["units"] as? Int == 2)
        #expect(try s.ok("order", id).stdout.contains("placed, 2 units"))

        let ledger = try s.ok("restock", "mask", "5", "--json").json()
        #expect(ledger["stock"] as? Int == 53 && ledger["sold"] as? Int == 2 && ledger["restocked"] as? Int == 5)
        let earnings = try s.ok("earnings", "mei", "--json").json()
        #expect(earnings["pendingFen"] as? Int == 1_584) // 8% of ¥198.00
        #expect(try s.ok("check").stdout == "ok\n")

        // Operation failures: exit 1.
        try s.fails(1, "unknown expert \"nobody\"", "showcase", "nobody")
        try s.fails(1, "no order \"nope\"", "order", "nope")
        try s.fails(1, "unknown recommendation \"r9\"", "add-to-cart", "ann", "r9")
        try s.fails(1, "out of stock", "add-to-cart", "ann", "r2", "--qty", "2")
        try s.fails(1, "the cart is empty", "checkout", "ann", "--key", "pay-2")
        try s.fails(1, "unknown product \"nothing\"", "restock", "nothing", "3")
        try s.fails(1, "unknown expert \"x\"", "earnings", "x")

        // Usage errors: exit 2.
        try s.fails(2, "missing EXPERT", "showcase")
        try s.fails(2, "--limit must be in 1...1000", "showcase", "mei", "--limit", "0")
        try s.fails(2, "--after", "showcase", "mei", "--after", "not-a-cursor")
        try s.fails(2, "missing RECOMMENDATION", "add-to-cart", "ann")
        try s.fails(2, "--qty must be in 1...99", "add-to-cart", "ann", "r1", "--qty", "100")
        try s.fails(2, "--key is required", "checkout", "ann")
        try s.fails(2, "missing USER", "cart")
        try s.fails(2, "missing ORDER_ID", "order")
        try s.fails(2, "N must be an integer", "restock", "mask", "lots")
        try s.fails(2, "N must be in 1...", "restock", "mask", "-3")
        try s.fails(2, "unknown option --verbose", "earnings", "mei", "--verbose")
        try s.fails(2, "--json takes no value", "cart", "ann", "--json=yes")
    }

    @Test func workloadPrintsOnlyAcks() throws {
        let s = try Sandbox()
        let r = try s.ok("workload", "--db", "w.db", "--seed", "3", "--threads", "2", "--ops", "80", "--durability", "grouped")
        let pattern =
            /ACK (checkout order=[0-9a-f-]+ key=\S+ user=\S+ units=[0-9]+|cancel order=[0-9a-f-]+|restock product=\S+ units=[0-9]+|confirm order=[0-9a-f-]+ partner=\S+ ref=\S+)/
        #expect(!r.lines.isEmpty)
        for line in r.lines { #expect(line.wholeMatch(of: pattern) != nil, "not an ACK line: \(line)") }
        #expect(try s.ok("check", "--db", "w.db").stdout == "ok\n")
        try s.fails(2, "--durability must be full, grouped or relaxed", "workload", "--db", "w.db", "--durability", "eventually")
        try s.fails(2, "--threads must be in 1...256", "workload", "--db", "w.db", "--threads", "0")
    }
}

/// `vitrine guest` issues a new guest id each time (issue 15: guest ids come from the store).
@Test func guestIssuesIDs() throws {
    let s = try Sandbox()
    try s.write("tiny.json", tinyCatalogue)
    try s.ok("load", "tiny.json")
    let first = try s.ok("guest").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    let second = try s.run(["guest", "--json"]).json()["guest"] as? String
    #expect(first.count == 36 && second?.count == 36 && first != second, "\(first) \(second ?? "nil")")
    #expect(try s.ok("check").stdout == "ok\n")
    let dump = try s.ok("dump", "--table", "guest").stdout
    #expect(dump.contains(first), "\(dump)")
}

/// `inspect` after an unclean stop says how the open recovered (an extension of its output: a
/// clean database prints what it always printed).
@Suite struct InspectRecoveryTests {
    @Test func inspectSaysTheOpenAdoptedTheKilledSessionsRecords() throws {
        let s = try Sandbox()
        _ = try s.ok("generate", "--products", "40", "--experts", "5", "--seed", "9", "--db", "g.db")
        let clean = try s.ok("inspect", "--db", "g.db", "--json").json()
        #expect((clean["recovery"] as? [String: Any])?["method"] as? String == "none")
        #expect(!(try s.ok("inspect", "--db", "g.db").stdout.contains("recovery")))
        // A session that commits twice and is killed (the files as it left them, put back in
        // place: same file, same boot).
        let path = s.path("g.db")
        let killed: (Data, Data)
        do {
            let db = try Database(path: path)
            for _ in 0..<2 {
                try db.write { tx in
                    let kv = try #require(try tx.table("kv"))
                    let (key, value) = try #require(try kv.range(from: [], to: []).first)
                    try kv.put(key, value)
                }
            }
            killed = (try Data(contentsOf: URL(fileURLWithPath: path)), try Data(contentsOf: URL(fileURLWithPath: path + "-wal")))
            db.close()
        }
        // Written over in place (the same inode), as the killed process left them.
        for (file, bytes) in [(path, killed.0), (path + "-wal", killed.1)] {
            let handle = try #require(FileHandle(forWritingAtPath: file))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: bytes)
            try handle.close()
        }
        let text = try s.ok("inspect", "--db", "g.db").stdout
        #expect(text.contains("recovery     adopted 2 log records at this open"), "\(text)")
        #expect(try s.ok("check", "--db", "g.db").stdout == "ok\n")
    }
}
