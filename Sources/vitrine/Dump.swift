// `vitrine dump [--table NAME]`: every record, decoded, as JSON Lines in key order.

import Foundation
import Vitrine
import VitrineStore

enum Dump: Command {
    static let spec = CommandSpec(
        name: "dump",
        summary: "print every record, decoded, as JSON Lines in key order",
        options: [.db, .value("--table", "NAME", "only this table (\(RecordTables.all.joined(separator: ", ")))"), .quiet],
        details: """
            One JSON object per line: {"key":[...],"table":"product","value":{...}}. Index entries
            have "value":null; counters an integer. A key or value that does not decode is printed
            raw, as hex ("rawKey", "rawValue"), so nothing is lost. 'vitrine load' reads this back:
            dump, load into a new file, dump again, and the output is identical.
            The database is only read. It is one snapshot: writers may continue meanwhile.
            Progress shows on stderr when stdout goes to a file and stderr is a terminal.
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let table = try args.string("--table").map { name -> String in
            guard RecordTables.all.contains(name) else {
                throw UsageError("unknown table '\(name)' (tables: \(RecordTables.all.joined(separator: ", ")))")
            }
            return name
        }
        return try withDatabase(args) { db in
            _ = try db.readingStore()
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let out = FileHandle.standardOutput
            var buffer = Data()
            // On a terminal the records are the progress; going to a file, count them.
            var progress = ProgressLine("dump", quiet: args.quiet || isatty(STDOUT_FILENO) == 1)
            defer { progress.finish() }
            // (The engine knows its tables' counts; on etcd the progress counts without a total.)
            let total =
                progress.enabled && table == nil && args.etcd == nil
                ? try db.database.read { tx in
                    try tx.tableNames().reduce(0) { $0 + (try tx.table($1)?.count ?? 0) }
                } : nil
            var done = 0
            try db.backend.forEachRecord(table: table) { record in
                done += 1
                if let total { progress.update("records", done, of: total) } else { progress.update("records", done) }
                buffer.append(try encoder.encode(record))
                buffer.append(UInt8(ascii: "\n"))
                if buffer.count >= 1 << 16 {
                    out.write(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            out.write(buffer)
            return 0
        }
    }
}
