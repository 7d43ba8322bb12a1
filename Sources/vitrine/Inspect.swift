// `vitrine inspect [--page N]`: the file's shape (sizes, page counts by kind, trees, free pages,
// last transaction, records per table), or one page.

import Foundation
import Vitrine
import VitrineStore

enum Inspect: Command {
    static let spec = CommandSpec(
        name: "inspect",
        summary: "show page size, file and log size, pages by kind, trees, free pages, last txid, records per table",
        options: [.db, .json, .value("--page", "N", "show page N instead: header fields, cells and a hex view")],
        details: "The database is only read.")

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
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let page = try args.integer("--page", default: nil, in: 0...Int64.max).map(UInt64.init)
        return try withDatabase(args) { db in
            if let page { return try showPage(db.database.inspectPage(page), json: args.json) }
            let s = try db.database.statistics()
            let counts = try db.engine.recordCounts()
            let report = Report(
                path: db.path, pageSize: s.pageSize, pageCount: s.pageCount, fileBytes: s.fileBytes, logBytes: s.logBytes,
                pages: .init(meta: 2, catalog: s.catalogPages, branch: s.tables.reduce(0) { $0 + $1.branchPages },
                             leaf: s.tables.reduce(0) { $0 + $1.leafPages }, overflow: s.tables.reduce(0) { $0 + $1.overflowPages },
                             free: s.freePages),
                lastTransactionId: s.lastTransactionId, checkpointSequence: s.checkpointSequence,
                tables: s.tables.map { .init(name: $0.name, entries: $0.entries, depth: $0.depth, branchPages: $0.branchPages,
                                             leafPages: $0.leafPages, overflowPages: $0.overflowPages, fillFactor: $0.fillFactor) },
                records: Dictionary(uniqueKeysWithValues: counts.map { ($0.table, $0.count) }))
            if args.json {
                try printJSON(report)
                return 0
            }
            let p = report.pages
            print("database     \(report.path)")
            print("page size    \(report.pageSize) bytes")
            print("file         \(report.fileBytes) bytes, \(report.pageCount) pages")
            print("log          \(report.logBytes) bytes")
            print("pages        meta \(p.meta), catalog \(p.catalog), branch \(p.branch), leaf \(p.leaf), overflow \(p.overflow), free \(p.free)")
            print("last txid    \(report.lastTransactionId) (checkpoint \(report.checkpointSequence))")
            print("tables")
            for t in report.tables {
                print("  \(t.name): \(t.entries) entries, depth \(t.depth), \(t.branchPages) branch + \(t.leafPages) leaf + "
                      + "\(t.overflowPages) overflow pages, fill \(String(format: "%.1f%%", t.fillFactor * 100))")
            }
            print("records")
            let width = counts.map(\.table.count).max() ?? 0
            for c in counts { print("  \(c.table.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(c.count)") }
            return 0
        }
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
            try printJSON(PageJSON(number: page.number, kind: page.kind,
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
