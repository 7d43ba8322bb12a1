// dump -> load -> dump is byte-identical; and the library's record dump underneath it.

import Foundation
import Testing
import Vitrine
import VitrineStore

@Suite(.serialized) struct DumpLoadTests {
    @Test func dumpLoadDumpIsIdentical() throws {
        let s = try Sandbox()
        // Every kind of record: catalogue, favourites, carts, orders (placed and cancelled),
        // idempotency keys, earnings and their counters, restocks.
        try s.ok("demo")
        try s.ok("workload", "--seed", "11", "--threads", "2", "--ops", "120")
        try s.ok("add-to-cart", "user-0001", "rec-000003")
        let first = try s.ok("dump").stdout
        for table in [
            "\"table\":\"cart\"", "\"table\":\"earn_total\"", "\"table\":\"idem\"", "\"table\":\"restock\"", "\"table\":\"meta\"",
        ] {
            #expect(first.contains(table), "dump lacks \(table)")
        }
        try s.write("all.jsonl", first)
        let loaded = try s.ok("load", "all.jsonl", "--db", "copy.db")
        #expect(loaded.stdout.contains("restored \(first.split(separator: "\n").count) records"))
        let second = try s.ok("dump", "--db", "copy.db").stdout
        #expect(second == first, "dump of the loaded copy differs")
        #expect(try s.ok("check", "--db", "copy.db").stdout == "ok\n")
    }

    @Test func oneTableRoundTrips() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        let products = try s.ok("dump", "--table", "product").stdout
        try s.write("products.jsonl", products)
        try s.ok("load", "products.jsonl", "--db", "p.db")
        #expect(try s.ok("dump", "--table", "product", "--db", "p.db").stdout == products)
    }

    @Test func undecodableRecordsAreKeptRaw() throws {
        // A key that is no table's tuple, and a product value that is not a product.
        let odd = DumpedRecord(key: [0xFE, 0x01, 0x00], value: [0xDE, 0xAD])
        let bad = DumpedRecord(key: Tuple(["product", "p"]).packed, value: [3, 1, 0xFF])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let oddJSON = String(decoding: try encoder.encode(odd), as: UTF8.self)
        let badJSON = String(decoding: try encoder.encode(bad), as: UTF8.self)
        #expect(oddJSON == #"{"rawKey":"fe0100","rawValue":"dead"}"#)
        #expect(badJSON == #"{"key":["p"],"rawValue":"0301ff","table":"product"}"#)
        #expect(try JSONDecoder().decode(DumpedRecord.self, from: Data(oddJSON.utf8)) == odd)
        #expect(try JSONDecoder().decode(DumpedRecord.self, from: Data(badJSON.utf8)) == bad)
        #expect(odd.table == nil && bad.table == "product")
    }

    @Test func decodedRecordsRoundTripExactly() throws {
        let product = Product(
            id: "p", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=1", title: "补水面膜",
            priceFen: 9_900, merchant: "云朵", category: "beauty", initialStock: 5)
        let records = [
            DumpedRecord(key: Tuple(["product", "p"]).packed, value: product.recordBytes),
            DumpedRecord(
                key: Tuple(["earn_total", "e", "pending"]).packed, value: withUnsafeBytes(of: Int64(-42).littleEndian) { Array($0) }),
            DumpedRecord(key: Tuple(["showcase", "e", 1_433_116_800_000, "r"]).packed, value: []),
            DumpedRecord(key: Tuple(["hold_exp", 5, "p", .null, 1, "u"]).packed, value: []),
            DumpedRecord(key: Tuple(["cart", 1, .bytes([0, 1]), "p", .null]).packed, value: []), // bytes element, odd value
        ]
        for r in records {
            let json = try JSONEncoder().encode(r)
            #expect(try JSONDecoder().decode(DumpedRecord.self, from: json) == r, "\(String(decoding: json, as: UTF8.self))")
        }
        #expect(String(decoding: try JSONEncoder().encode(records[1]), as: UTF8.self).contains("-42"))
    }

    @Test func readingStoreWritesNothing() throws {
        let s = try Sandbox()
        let engine = try EngineStore(path: s.path("r.db"))
        let before = engine.database.lastTransactionId
        let store = try Store(readingFrom: engine)
        #expect(try store.checkIntegrity().isEmpty)
        #expect(engine.database.lastTransactionId == before)
        #expect(try engine.recordCounts().allSatisfy { $0.count == 0 })
        engine.database.close()
    }
}
