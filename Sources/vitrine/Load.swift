// `vitrine load FILE`: imports a catalogue (the seeds JSON format) or restores the JSON Lines
// that `dump` writes, after checking them as the API would (Store+Restore.swift). The format is
// told by the first non-blank line (see `format(of:)`): a JSON object there with "format" is a
// catalogue on one line, one with "table" or "rawKey" is a dump record; a first line that is no
// whole JSON object starts a catalogue over many lines; anything else is refused as ambiguous.

import Foundation
import Vitrine
import VitrineStore

enum Load: Command {
    static let spec = CommandSpec(
        name: "load",
        summary: "import a catalogue (seeds JSON) or the JSON Lines that 'dump' writes",
        positionals: [PositionalSpec(name: "FILE", help: "the file to read ('-' for standard input)")],
        options: [.db, .flag("--add-partners", "let a catalogue add partners that are not registered yet"), .quiet],
        details: """
            A catalogue (format "vitrine-catalogue", see seeds/README.md) is imported with every domain
            check; importing it again changes nothing. Its partners must be registered already with
            the same name and domains (the defaults are: Tmall, Taobao, Weimai); a catalogue never
            changes a partner, and adds new ones only with --add-partners.
            JSON Lines from 'vitrine dump' are restored exactly, record by record, so that 'dump' of
            the new database prints the same lines, once every record has been checked as the API
            would check it (ids, texts, links and partners, ledgers, orders, earnings, indexes):
            each problem is printed on stdout as 'check' prints it, nothing is written, exit 1.
            The file is a catalogue when its first line is a JSON object with "format", or is not a
            whole JSON object; dump lines when it is one with "table" or "rawKey".
            The database is created if it does not exist.
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let file = try ParsedArguments.text(args.positionals[0], "FILE")
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw CLIError.cannotOpen("cannot read \(file): \(describe(error).message)")
            }
        }
        let format = try format(of: data, file: file)
        return try withDatabase(args, mustExist: false) { db in
            let store = try db.store()
            switch format {
            case .dumpLines:
                let lines = try readLines(data, file: file)
                let records = Store<CLIBackend>.recordsWithDiscoveryEntries(lines)
                let problems = try store.restoreProblems(records)
                guard problems.isEmpty else {
                    for p in problems { print("domain: \(p.kind.rawValue): \(p.subject): \(p.detail)") }
                    throw CLIError.failed("\(file): \(problems.count) problem\(problems.count == 1 ? "" : "s") found; nothing was restored")
                }
                try restore(records, into: db.backend, quiet: args.quiet)
                print("restored \(lines.count) records from \(file) into \(db.path)")
            case .catalogue:
                let catalogue: Catalogue
                do { catalogue = try Catalogue(json: data) } catch {
                    throw CLIError.failed("\(file): \(describe(error).message)")
                }
                let summary = try ChunkedCatalogue(catalogue)
                    .importInto(store, label: "load", addingPartners: args.flags.contains("--add-partners"), quiet: args.quiet)
                print("imported \(file) into \(db.path): \(describe(summary))")
            }
            return 0
        }
    }

    enum Format: Equatable { case catalogue, dumpLines }

    /// What the file holds, told by its first non-blank line (see the top of the file). An empty
    /// file is zero dump lines.
    /// - Throws: ``CLIError/failed(_:)`` when the first line is a JSON object that is neither a
    ///   catalogue nor a dump record, or looks like both.
    static func format(of data: Data, file: String) throws -> Format {
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.isEmpty { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed))) as? [String: Any] else {
                return .catalogue // a catalogue spread over lines (or not JSON: the catalogue reader says why)
            }
            let isCatalogue = object["format"] != nil
            let isRecord = object["table"] != nil || object["rawKey"] != nil
            switch (isCatalogue, isRecord) {
            case (true, false): return .catalogue
            case (false, true): return .dumpLines
            default:
                throw CLIError.failed(
                    "\(file): cannot tell a catalogue from dump lines: the first line is a JSON object with "
                        + (isCatalogue
                            ? "both \"format\" and \"table\"/\"rawKey\""
                            : "neither \"format\" (a catalogue) nor \"table\"/\"rawKey\" (a dump record)"))
            }
        }
        return .dumpLines // empty: zero records
    }

    /// Every dump record of the file, in order.
    static func readLines(_ data: Data, file: String) throws -> [DumpedRecord] {
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let decoder = JSONDecoder()
        var records: [DumpedRecord] = []
        for (i, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                records.append(try decoder.decode(DumpedRecord.self, from: Data(line)))
            } catch {
                throw CLIError.failed("\(file):\(i + 1): not a dump record: \(decodingText(error))")
            }
        }
        return records
    }

    /// Writes checked records, 2048 to a transaction (256 on etcd).
    static func restore(_ records: [DumpedRecord], into engine: CLIBackend, quiet: Bool) throws {
        var progress = ProgressLine("load", quiet: quiet)
        var start = 0
        while start < records.count {
            let end = min(records.count, start + engine.restoreChunk)
            try engine.restore(Array(records[start..<end]))
            progress.update("records", end, of: records.count)
            start = end
        }
        progress.finish()
    }

    static func decodingText(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch e {
        case .dataCorrupted(let c): return "\(path(c.codingPath)) \(c.debugDescription)"
        case .keyNotFound(let k, let c): return "\(path(c.codingPath + [k])) missing"
        case .typeMismatch(let t, let c): return "\(path(c.codingPath)) expected \(t)"
        case .valueNotFound(let t, let c): return "\(path(c.codingPath)) expected \(t), found null"
        @unknown default: return "\(e)"
        }
    }
}
