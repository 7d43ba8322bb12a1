// `vitrine compact OUT`: writes a compacted copy of the database (live records only, no free pages).

import Foundation
import Vitrine
import VitrineStore

enum Compact: Command {
    static let spec = CommandSpec(
        name: "compact",
        summary: "write a compacted copy of the database to OUT",
        positionals: [PositionalSpec(name: "OUT", help: "the new database file (must not exist)")],
        options: [.db, .quiet],
        details:
            "The source database is only read (from one snapshot; it stays open for writes meanwhile). OUT and OUT-wal must not exist; the copy has no free pages and an empty log."
    )

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let out = try ParsedArguments.text(args.positionals[0], "OUT")
        guard !FileManager.default.fileExists(atPath: out) else { throw UsageError("\(out) already exists") }
        return try withDatabase(args) { db in
            guard URL(fileURLWithPath: out).standardizedFileURL != URL(fileURLWithPath: db.path).standardizedFileURL else {
                throw UsageError("OUT must differ from the database")
            }
            var progress = ProgressLine("compact", quiet: args.quiet)
            try db.database.compact(to: out) { progress.update("entries", $0, of: $1) }
            progress.finish()
            print("compacted \(db.path) into \(out)")
            return 0
        }
    }
}
