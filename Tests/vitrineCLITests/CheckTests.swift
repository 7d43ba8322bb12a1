// `check` finds planted problems: a corrupted tree page in a closed file, and a stock ledger
// broken through the engine API. It exits 1 and names them.

import Foundation
import Testing
import Vitrine
import VitrineStore

@Suite(.serialized) struct CheckTests {
    /// A reachable leaf page of the "kv" table, found by reading the closed file as
    /// formats/database-file.md describes it (meta page -> catalog -> table root -> a leaf).
    static func leafPage(of file: [UInt8]) throws -> Int {
        func u16(_ o: Int) -> Int { Int(file[o]) | Int(file[o + 1]) << 8 }
        func u64(_ o: Int) -> Int { (0..<8).reduce(0) { $0 | Int(file[o + $1]) << (8 * $1) } }
        let page = 4096
        // The meta slot with the higher checkpoint sequence.
        let meta = u64(16) >= u64(page + 16) ? 0 : page
        let catalog = u64(meta + 40) * page
        #expect(file[catalog + 4] == 3, "the catalog root is a leaf")
        // Catalog leaf cell: u16 keyLength | u32 valueInfo | key | value (table id u32, root u64, count u64).
        var root = 0
        for i in 0..<u16(catalog + 6) {
            let cell = catalog + u16(catalog + 32 + 2 * i)
            let keyLength = u16(cell)
            let key = String(decoding: file[(cell + 6)..<(cell + 6 + keyLength)], as: UTF8.self)
            if key == "kv" { root = u64(cell + 6 + keyLength + 4) }
        }
        var p = try #require(root == 0 ? nil : root, "no kv table in the catalog")
        // Down the last child of each branch (branch cell: u16 keyLength | u64 child | key).
        while file[p * page + 4] == 2 {
            let base = p * page
            let cell = base + u16(base + 32 + 2 * (u16(base + 6) - 1))
            p = u64(cell + 2)
        }
        #expect(file[p * page + 4] == 3)
        return p
    }

    @Test func corruptedPageIsNamed() throws {
        let s = try Sandbox()
        try s.ok("generate", "--products", "200", "--seed", "4") // closed: checkpointed, no log
        let url = s.dir.appendingPathComponent("vitrine.db")
        var file = [UInt8](try Data(contentsOf: url))
        let leaf = try Self.leafPage(of: file)
        #expect(leaf >= 2)
        for o in 2048..<2056 { file[leaf * 4096 + o] ^= 0x5A }
        try Data(file).write(to: url)

        let r = try s.run(["check"])
        #expect(r.status == 1, "check exited \(r.status): \(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("engine: ") && r.stdout.contains("page \(leaf)"), "check does not name page \(leaf): \(r.stdout)")
        #expect(!r.stdout.hasPrefix("ok"))
        let json = try s.run(["check", "--json"]).json()
        #expect(json["ok"] as? Bool == false)
        let problems = try #require(json["problems"] as? [[String: Any]])
        #expect(problems.contains { $0["page"] as? Int == leaf })
        // Other commands refuse cleanly rather than trap.
        let dump = try s.run(["dump"])
        #expect(!dump.killedBySignal && dump.status != 0 && dump.stderr.contains("page \(leaf)"), "\(dump.stderr)")
    }

    @Test func brokenLedgerIsNamed() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        // Through the engine API: sold off by 3 on one product, and a value that is no product.
        let database = try Database(path: s.path("vitrine.db"))
        try database.write { tx in
            let kv = try #require(try tx.table("kv"))
            let key = Tuple(["product", "mask"]).packed
            var mask = try Product(recordBytes: try #require(try kv.get(key)))
            mask.sold += 3
            try kv.put(key, mask.recordBytes)
            try kv.put(Tuple(["product", "lipstick"]).packed, [3, 1, 0xFF, 0xFF])
        }
        database.close()

        let r = try s.run(["check"])
        #expect(r.status == 1, "check exited \(r.status): \(r.stderr)")
        #expect(r.stdout.contains("domain: ledgerMismatch: product mask"), "\(r.stdout)")
        #expect(r.stdout.contains("domain: soldMismatch: product mask: sold 3 != live order lines 0"), "\(r.stdout)")
        #expect(r.stdout.contains("domain: corruptRecord: (\"product\", \"lipstick\")"), "\(r.stdout)")
        #expect(r.stdout.contains("problems found"))
        // dump keeps going and shows the bad value raw.
        let dump = try s.ok("dump", "--table", "product")
        #expect(dump.stdout.contains(#""rawValue":"0301ffff""#))
    }
}

/// `check` reports live holds above a product's stock (issue 15) and exits 1.
@Test func holdsAboveStockAreNamed() throws {
    let s = try Sandbox()
    try s.write("tiny.json", tinyCatalogue)
    try s.ok("load", "tiny.json")
    let database = try Database(path: s.path("vitrine.db"))
    try database.write { tx in
        let kv = try #require(try tx.table("kv"))
        let mask = try Product(recordBytes: try #require(try kv.get(Tuple(["product", "mask"]).packed)))
        let forever = Timestamp(millisecondsSinceEpoch: .max)
        let line = CartLine(product: "mask", recommendation: nil, quantity: 99, unitPriceFen: mask.priceFen, addedAt: forever)
        try kv.put(Tuple(["cart", 1, "u", "mask", .null]).packed, line.recordBytes)
        let hold = Hold(owner: .user("u"), product: "mask", recommendation: nil, quantity: mask.stock + 1, expiresAt: forever)
        try kv.put(Tuple(["hold", "mask", .null, 1, "u"]).packed, hold.recordBytes)
    }
    database.close()
    let r = try s.run(["check"])
    #expect(r.status == 1, "check exited \(r.status): \(r.stderr)")
    #expect(r.stdout.contains("domain: holdsExceedStock: product mask"), "\(r.stdout)")
}
