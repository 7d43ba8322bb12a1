// `inspect --map FILE.svg` and `inspect --text-map`: the picture is well-formed XML with a
// legend whose page counts are those of `inspect --json`; `workload --map` shows the pages
// frozen until the next checkpoint, which are gone once the database is closed.

import Foundation
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// What the tests read from the SVG: the root's attributes, whether there is a legend, and
/// the page count of each kind the legend names.
final class SVGSummary: NSObject, XMLParserDelegate {
    var root: [String: String] = [:]
    var hasLegend = false
    var kinds: [String: Int] = [:]
    var tables: [String: Int] = [:]
    var texts: [String] = []
    private var elements = 0

    static func parse(_ data: Data) throws -> SVGSummary {
        let summary = SVGSummary()
        let parser = XMLParser(data: data)
        parser.delegate = summary
        #expect(parser.parse(), "the SVG is not well-formed XML: \(String(describing: parser.parserError))")
        return summary
    }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        elements += 1
        if elements == 1 { root = attributes; root["element"] = name }
        if attributes["id"] == "legend" { hasLegend = true }
        if let kind = attributes["data-kind"], let pages = attributes["data-pages"].flatMap(Int.init) { kinds[kind] = pages }
        if let table = attributes["data-table"], let pages = attributes["data-pages"].flatMap(Int.init) { tables[table] = pages }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { texts.append(string) }
}

@Suite(.serialized) struct PageMapTests {
    @Test func svgMapIsWellFormedWithALegendAndInspectsCounts() throws {
        let s = try Sandbox()
        try s.ok("demo")
        let report = try s.ok("inspect", "--json").json()
        let pages = try #require(report["pages"] as? [String: Int])
        let pageCount = try #require(report["pageCount"] as? Int)

        let written = try s.ok("inspect", "--map", "map.svg", "--json").json()
        #expect(written["pages"] as? Int == pageCount)
        let svg = try SVGSummary.parse(Data(contentsOf: s.dir.appendingPathComponent("map.svg")))
        #expect(svg.root["element"] == "svg")
        #expect(svg.root["data-pages"] == "\(pageCount)")
        #expect(svg.hasLegend, "the SVG has no legend")
        for kind in ["meta", "catalog", "branch", "leaf", "overflow"] {
            #expect(svg.kinds[kind] == pages[kind], "\(kind): map \(svg.kinds[kind] ?? -1), inspect \(pages[kind] ?? -1)")
        }
        // inspect counts as free every page not in use: free, frozen, and the free list's own.
        let free = (svg.kinds["free"] ?? -1) + (svg.kinds["frozen"] ?? -1) + (svg.kinds["free-list"] ?? -1)
        #expect(free == pages["free"], "free pages: map \(free), inspect \(pages["free"] ?? -1)")
        #expect(svg.kinds["unaccounted"] == 0)
        #expect(svg.kinds.values.reduce(0, +) == pageCount)
        // Pages of each record table are told apart, and the legend names them.
        #expect(svg.tables["product"] ?? 0 > 0 && svg.tables["rec"] ?? 0 > 0, "tables in the legend: \(svg.tables)")
        // The figures inspect prints are in the picture.
        let text = svg.texts.joined(separator: "\n")
        #expect(text.contains("meta \(pages["meta"] ?? -1), catalog \(pages["catalog"] ?? -1)"), "figures missing: \(text)")

        // The plain inspect output is unchanged by the new options.
        #expect(try s.ok("inspect").stdout.hasPrefix("database     vitrine.db\npage size    4096 bytes\n"))
        try s.fails(2, "alternatives", "inspect", "--map", "x.svg", "--text-map")
        try s.fails(2, "alternatives", "inspect", "--map", "x.svg", "--page", "2")
    }

    @Test func textMapHasOneCharacterPerPageOnASmallFile() throws {
        let s = try Sandbox()
        try s.ok("demo")
        let pageCount = try #require(try s.ok("inspect", "--json").json()["pageCount"] as? Int)
        let map = try s.ok("inspect", "--text-map", "--json").json()
        #expect(map["pagesPerCharacter"] as? Int == 1)
        let rows = try #require(map["rows"] as? [String])
        #expect(rows.joined().count == pageCount)
        #expect(rows.joined().hasPrefix("##"), "pages 0 and 1 are the meta pages: \(rows)")
        let text = try s.ok("inspect", "--text-map").stdout
        #expect(text.contains("page map: \(pageCount) pages, one character per page"), "\(text)")
    }

    @Test func workloadMapShowsFrozenPagesUntilTheCheckpoint() throws {
        let s = try Sandbox()
        try s.ok("demo")
        let run = try s.ok("workload", "--ops", "200", "--threads", "1", "--map", "during.svg")
        #expect(run.lines.allSatisfy { $0.hasPrefix("ACK ") }, "workload --map wrote to stdout: \(run.stdout)")
        let during = try SVGSummary.parse(Data(contentsOf: s.dir.appendingPathComponent("during.svg")))
        #expect(during.kinds["frozen"] ?? 0 > 0, "copy-on-write since the last checkpoint froze no page: \(during.kinds)")
        try s.ok("inspect", "--map", "after.svg")
        let after = try SVGSummary.parse(Data(contentsOf: s.dir.appendingPathComponent("after.svg")))
        #expect(after.kinds["frozen"] == 0, "the closing checkpoint released them: \(after.kinds)")
        try s.fails(2, "--map needs --ops", "workload", "--map", "x.svg")
    }
}
