// Issue 15, "Why" 2 and 8 from the command line: `load` checks dump lines as the API would and
// tells a one-line catalogue from dump lines; a catalogue never changes the partners; `check`
// reports links and partners written around the API.

import Foundation
import Testing
import Vitrine
import VitrineStore

@Suite(.serialized) struct LinkPolicyCLITests {
    static func jsonLine(_ record: DumpedRecord) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(record), as: UTF8.self)
    }

    @Test func loadRefusesDumpLinesTheAPIWouldRefuse() throws {
        let s = try Sandbox()
        let js = Product(
            id: "js", partner: "nonexistent", link: "javascript:alert(document.cookie)", title: "T", priceFen: 1,
            merchant: "M", category: "c", initialStock: 1)
        try s.write("bad.jsonl", try Self.jsonLine(DumpedRecord(key: Tuple(["product", "js"]).packed, value: js.recordBytes)) + "\n")
        let r = try s.fails(1, "bad.jsonl: 2 problems found; nothing was restored", "load", "bad.jsonl")
        #expect(r.stdout.contains(#"domain: invalidRecord: ("product", "js"): linkNotHTTPS"#), "\(r.stdout)")
        #expect(r.stdout.contains("domain: invalidLink: product js: partner nonexistent is not registered"), "\(r.stdout)")
        #expect(try s.ok("dump", "--table", "product").stdout.isEmpty)

        // A partner redefined to a public suffix, in dump lines, is refused too.
        let partner = Partner(id: "tmall", name: "T", domains: ["com"])
        try s.write("partner.jsonl", try Self.jsonLine(DumpedRecord(key: Tuple(["partner", "tmall"]).packed, value: partner.recordBytes)))
        let p = try s.fails(1, "nothing was restored", "load", "partner.jsonl")
        #expect(p.stdout.contains(#"domain: invalidRecord: ("partner", "tmall")"#), "\(p.stdout)")
        #expect(try s.ok("check").stdout == "ok\n")
    }

    @Test func checkReportsLinksAndPartnersWrittenAroundTheAPI() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        let database = try Database(path: s.path("vitrine.db"))
        try database.write { tx in
            let kv = try #require(try tx.table("kv"))
            let key = Tuple(["product", "mask"]).packed
            var mask = try Product(recordBytes: try #require(try kv.get(key)))
            mask.link = #"https://evil.com\@detail.tmall.com/"#
            try kv.put(key, mask.recordBytes)
            try kv.put(Tuple(["partner", "weimai"]).packed, Partner(id: "weimai", name: "W", domains: ["com"]).recordBytes)
        }
        database.close()
        let r = try s.run(["check"])
        #expect(r.status == 1, "check exited \(r.status): \(r.stdout)")
        #expect(r.stdout.contains("domain: invalidLink: product mask"), "\(r.stdout)")
        #expect(r.stdout.contains("domain: invalidPartner: partner weimai"), "\(r.stdout)")
    }

    @Test func loadTellsAOneLineCatalogueFromDumpLines() throws {
        let s = try Sandbox()
        let object = try JSONSerialization.jsonObject(with: Data(tinyCatalogue.utf8))
        let oneLine = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        #expect(!oneLine.contains("\n"))
        try s.write("one.json", oneLine + "\n")
        #expect(try s.ok("load", "one.json").stdout.contains("imported one.json"))
        #expect(try s.ok("dump", "--table", "product").stdout.contains("mask"))
        try s.write("odd.jsonl", #"{"name":"neither"}"# + "\n")
        try s.fails(1, "cannot tell a catalogue from dump lines", "load", "odd.jsonl")
        try s.write("both.jsonl", #"{"format":"vitrine-catalogue","table":"product"}"# + "\n")
        try s.fails(1, "cannot tell a catalogue from dump lines", "load", "both.jsonl")
    }

    @Test func catalogueNeverChangesPartners() throws {
        let s = try Sandbox()
        let hijack = #"{"format":"vitrine-catalogue","version":1,"partners":[{"id":"tmall","name":"天猫 Tmall","domains":["evil.com"]}]}"#
        try s.write("hijack.json", hijack)
        try s.fails(1, #"partner "tmall" differs from the registered one"#, "load", "hijack.json")
        let jd = #"{"format":"vitrine-catalogue","version":1,"partners":[{"id":"jd","name":"京东","domains":["jd.com"]}]}"#
        try s.write("jd.json", jd)
        try s.fails(1, #"partner "jd" is not registered"#, "load", "jd.json")
        try s.ok("load", "jd.json", "--add-partners")
        #expect(try s.ok("dump", "--table", "partner").stdout.contains(#""jd.com""#))
        try s.fails(1, #"partner "tmall" differs from the registered one"#, "load", "hijack.json", "--add-partners")
        let seeds = try s.ok("dump", "--table", "partner").stdout
        #expect(!seeds.contains("evil.com"))
    }
}
