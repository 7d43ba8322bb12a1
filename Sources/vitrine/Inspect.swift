// `vitrine inspect [--page N | --map FILE.svg | --text-map]`: the file's shape (sizes, page counts
// by kind, trees, free pages, last transaction, records per table), or one page, or what every
// page holds drawn as SVG (PageMapPicture.swift) or as text (PageMapText.swift).

import Foundation
import Vitrine
import VitrineStore

enum Inspect: Command {
    static let spec = CommandSpec(
        name: "inspect",
        summary: "show page size, file and log size, pages by kind, trees, free pages, last txid, records per table",
        options: [
            .db, .json, .value("--page", "N", "show page N instead: header fields, cells and a hex view"),
            .value("--map", "FILE.svg", "draw every page (kind, table, how full) as an SVG picture into FILE.svg"),
            .flag("--text-map", "print the page map as text instead: one character per page or run of pages"),
        ],
        details: """
            The database is only read.
            --map writes the picture and prints one line (with --json: an object) saying where and
            at what scale. Both maps show pages in file order; beyond what fits, each cell is a run
            of consecutive pages.
            """)

    struct Report: Encodable {
        struct Pages: Encodable { var meta, catalog, branch, leaf, overflow, free: Int }
        struct Tree: Encodable {
            var name: String
            var entries, depth, branchPages, leafPages, overflowPages: Int
            var fillFactor: Double
        }
        var path: String
        var pageSize: Int
        var pageCount: UInt64
        var fileBytes: Int64
        var logBytes: Int64
        var pages: Pages
        var lastTransactionId: UInt64
        var checkpointSequence: UInt64
        var tables: [Tree]
        var records: [String: Int]
        /// What this open did with the log it found: "none", "adopted" (after a process crash in
        /// this boot: the records' state taken over) or "replayed" (re-executed), and how many records.
        struct Recovery: Encodable { var method: String; var records: Int }
        var recovery: Recovery
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let page = try args.integer("--page", default: nil, in: 0...Int64.max).map(UInt64.init)
        let mapPath = try args.string("--map").map { try ParsedArguments.text($0, "--map") }
        let textMap = args.flag("--text-map")
        if [page != nil, mapPath != nil, textMap].filter({ $0 }).count > 1 {
            throw UsageError("--page, --map and --text-map are alternatives: give one")
        }
        return try withDatabase(args) { db in
            if let page { return try showPage(db.database.inspectPage(page), json: args.json) }
            if textMap { return try showTextMap(PageMapText(map: pageMap(db)), json: args.json) }
            let (report, counts) = try self.report(db)
            if let mapPath {
                let written = try writeMap(db, report: report, counts: counts, to: mapPath)
                if args.json {
                    try printJSON(written)
                } else {
                    print(
                        "wrote \(written.map): \(written.pages) pages in \(written.cells) cells"
                            + (written.pagesPerCell > 1 ? " (runs of \(written.pagesPerCell) pages)" : " (one per page)"))
                }
                return 0
            }
            if args.json {
                try printJSON(report)
                return 0
            }
            for line in figures(report, counts) { print(line) }
            return 0
        }
    }

    /// What inspect reports, and the record counts.
    static func report(_ db: OpenDatabase) throws -> (Report, [(table: String, count: Int)]) {
        let s = try db.database.statistics()
        let counts = try db.engine.recordCounts()
        let report = Report(
            path: db.path, pageSize: s.pageSize, pageCount: s.pageCount, fileBytes: s.fileBytes, logBytes: s.logBytes,
            pages: .init(
                meta: 2, catalog: s.catalogPages, branch: s.tables.reduce(0) { $0 + $1.branchPages },
                leaf: s.tables.reduce(0) { $0 + $1.leafPages }, overflow: s.tables.reduce(0) { $0 + $1.overflowPages },
                free: s.freePages),
            lastTransactionId: s.lastTransactionId, checkpointSequence: s.checkpointSequence,
            tables: s.tables.map {
                .init(
                    name: $0.name, entries: $0.entries, depth: $0.depth, branchPages: $0.branchPages,
                    leafPages: $0.leafPages, overflowPages: $0.overflowPages, fillFactor: $0.fillFactor)
            },
            records: Dictionary(uniqueKeysWithValues: counts.map { ($0.table, $0.count) }),
            recovery: .init(method: s.recovery.method.rawValue, records: s.recovery.records))
        return (report, counts)
    }

    struct WrittenMap: Encodable { var map: String; var pages: Int; var cells: Int; var pagesPerCell: Int }

    /// Draws the page map of `db` into `path` (also for `workload --map`, which draws it before
    /// the closing checkpoint, so frozen pages show).
    static func writeMap(_ db: OpenDatabase, to path: String) throws -> WrittenMap {
        let (report, counts) = try self.report(db)
        return try writeMap(db, report: report, counts: counts, to: path)
    }

    static func writeMap(_ db: OpenDatabase, report: Report, counts: [(table: String, count: Int)], to path: String) throws -> WrittenMap {
        let map = try pageMap(db)
        let picture = PageMapPicture(map: map, title: "Vitrine page map: \(report.path)", figures: figures(report, counts))
        do {
            try Data(picture.svg().utf8).write(to: URL(fileURLWithPath: path))
        } catch {
            throw CLIError.failed("cannot write \(path): \(error.localizedDescription)")
        }
        return WrittenMap(map: path, pages: map.pages.count, cells: picture.cells, pagesPerCell: picture.pagesPerCell)
    }

    /// The page map, pages of the engine's tables labelled by the domain's record table their
    /// keys belong to (formats/records.md: the tables are key prefixes of one engine table).
    static func pageMap(_ db: OpenDatabase) throws -> PageMap {
        // A branch whose separators lie in different tables gets no key: "(several)".
        try db.database.pageMap { _, key in key.map { recordTable($0) ?? "(other)" } ?? "(several)" }
    }

    /// The record table of a key: its first tuple element (a string: 0x02, bytes, 0x00). Read
    /// from the prefix only, because a branch's separator may be a shortened key.
    static func recordTable(_ key: [UInt8]) -> String? {
        guard key.first == 0x02, let end = key.firstIndex(of: 0) else { return nil }
        let name = String(decoding: key[1..<end], as: UTF8.self)
        return RecordTables.all.contains(name) ? name : nil
    }

    /// The text `inspect` prints.
    static func figures(_ report: Report, _ counts: [(table: String, count: Int)]) -> [String] {
        var lines: [String] = []
        func print(_ line: String) { lines.append(line) }
        let p = report.pages
        print("database     \(report.path)")
        print("page size    \(report.pageSize) bytes")
        print("file         \(report.fileBytes) bytes, \(report.pageCount) pages")
        print("log          \(report.logBytes) bytes")
        print(
            "pages        meta \(p.meta), catalog \(p.catalog), branch \(p.branch), leaf \(p.leaf), overflow \(p.overflow), free \(p.free)")
        print("last txid    \(report.lastTransactionId) (checkpoint \(report.checkpointSequence))")
        // Only after an unclean stop: a clean database prints what it always printed.
        if report.recovery.method != RecoveryReport.Method.none.rawValue {
            print("recovery     \(report.recovery.method) \(report.recovery.records) log records at this open")
        }
        print("tables")
        for t in report.tables {
            print(
                "  \(t.name): \(t.entries) entries, depth \(t.depth), \(t.branchPages) branch + \(t.leafPages) leaf + "
                    + "\(t.overflowPages) overflow pages, fill \(String(format: "%.1f%%", t.fillFactor * 100))")
        }
        print("records")
        let width = counts.map(\.table.count).max() ?? 0
        for c in counts { print("  \(c.table.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(c.count)") }
        return lines
    }

    static func showTextMap(_ text: PageMapText, json: Bool) throws -> Int32 {
        if json {
            struct TextMapJSON: Encodable { var pages: Int; var pagesPerCharacter: Int; var rows: [String]; var tables: [String: String] }
            let (per, rows) = text.rows()
            try printJSON(
                TextMapJSON(
                    pages: text.map.pages.count, pagesPerCharacter: per, rows: rows.map(\.text),
                    tables: Dictionary(
                        text.map.tables.enumerated().map { (String(PageMapText.letter($0.offset)), $0.element) },
                        uniquingKeysWith: { a, _ in a })))
            return 0
        }
        for line in text.lines() { print(line) }
        return 0
    }

    static func showPage(_ page: PageInspection, json: Bool) throws -> Int32 {
        if json {
            struct PageJSON: Encodable {
                var number: UInt64
                var kind: String
                var header: [String: String]
                var cells: [String]
                var hex: String
            }
            try printJSON(
                PageJSON(
                    number: page.number, kind: page.kind,
                    header: Dictionary(page.header.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }),
                    cells: page.cells, hex: page.bytes.map { String(format: "%02x", $0) }.joined()))
            return 0
        }
        print("page \(page.number): \(page.kind) (raw view, not transactionally safe)")
        for (name, value) in page.header { print("  \(name): \(value)") }
        if let problem = page.problem { print("  problem: \(problem)") }
        print("cells: \(page.cells.count)")
        for (i, cell) in page.cells.enumerated() { print("  [\(i)] \(cell)") }
        for line in hexView(page.bytes) { print(line) }
        return 0
    }
}
