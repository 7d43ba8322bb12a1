// `vitrine check`: the engine's full verification and the domain's invariants. Prints `ok` and
// exits 0, or prints every problem, one per line, and exits 1. Damage found while opening (a
// corrupt page or log) is a problem found, not a file that cannot be opened.

import Foundation
import Vitrine
import VitrineStore

enum Check: Command {
    static let spec = CommandSpec(
        name: "check",
        summary: "verify the file (every page, tree and free page) and the domain invariants",
        options: [.db, .json, .quiet],
        details: """
            Engine: page checksums and structure, key order and bounds, tree depth, overflow chains,
            entry counts, every page used or free exactly once. Domain: each product's stock ledger,
            sold equal to the live order lines, no negative quantities, order lines pointing at
            existing products and recommendations, order arithmetic, earnings, cart lines, indexes,
            ids and other key strings in one byte form (NFC, no control or invisible characters),
            live holds within stock (and each within its cart line), partners (domains never a
            public suffix) and every product link re-checked against the link policy and its
            partner's domains.
            Prints "ok" (exit 0), or one line per problem (exit 1):
              engine: [table 'kv', ][page N: ]WHAT
              domain: KIND: SUBJECT: DETAIL
            The database is only read (opening it may replay its write-ahead log).
            """)

    struct Problem: Encodable {
        var source: String
        var page: UInt64?
        var table: String?
        var kind: String?
        var subject: String?
        var message: String

        var line: String {
            if source == "domain" { return "domain: \(kind ?? "?"): \(subject ?? "?"): \(message)" }
            var parts: [String] = []
            if let table { parts.append("table '\(table)'") }
            if let page { parts.append("page \(page)") }
            return "engine: " + (parts.isEmpty ? "" : parts.joined(separator: ", ") + ": ") + message
        }
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let problems = try findProblems(path: args.dbPath, quiet: args.quiet)
        if args.json {
            struct Result: Encodable { var ok: Bool; var problems: [Problem] }
            try printJSON(Result(ok: problems.isEmpty, problems: problems))
        } else if problems.isEmpty {
            print("ok")
        } else {
            for p in problems { print(p.line) }
            print("\(problems.count) problem\(problems.count == 1 ? "" : "s") found in \(args.dbPath)")
        }
        return problems.isEmpty ? 0 : 1
    }

    static func findProblems(path: String, quiet: Bool = true) throws -> [Problem] {
        let db: OpenDatabase
        do {
            db = try OpenDatabase(path: path, mustExist: true, passingCorruption: true)
        } catch let error as StoreError {
            return [engineProblem(error)] // damage met while opening is a finding
        }
        defer { db.close() }
        var problems: [Problem] = []
        var progress = ProgressLine("check", quiet: quiet)
        defer { progress.finish() }
        let report = try db.database.verify { progress.update("engine: pages", $0, of: $1) }
        progress.note("domain invariants")
        problems += report.problems.map { Problem(source: "engine", page: $0.page, table: $0.table, message: $0.message) }
        do {
            let store = try Store(readingFrom: db.engine)
            problems += try store.checkIntegrity().map {
                Problem(source: "domain", kind: $0.kind.rawValue, subject: $0.subject, message: $0.detail)
            }
        } catch let error as StoreError {
            problems.append(engineProblem(error))
        } catch let error as VitrineError {
            guard case .corruptRecord = error else { throw error }
            problems.append(Problem(source: "domain", kind: "corruptRecord", subject: "format marker", message: describe(error)))
        }
        return problems
    }

    static func engineProblem(_ error: StoreError) -> Problem {
        switch error {
        case .corruptPage(let page, let reason): return Problem(source: "engine", page: page, message: reason)
        default: return Problem(source: "engine", message: error.description)
        }
    }
}
