// `vitrine load FILE`: imports a catalogue (the seeds JSON format) or restores the JSON Lines
// that `dump` writes. The format is told by the first line: a JSON object on one line is JSON
// Lines, anything else is read as a catalogue.

import Foundation
import Vitrine
import VitrineStore

enum Load: Command {
    static let spec = CommandSpec(
        name: "load",
        summary: "import a catalogue (seeds JSON) or the JSON Lines that 'dump' writes",
        positionals: [PositionalSpec(name: "FILE", help: "the file to read ('-' for standard input)")],
        options: [.db],
        details: """
            A catalogue (format "vitrine-catalogue", see seeds/README.md) is imported with every domain
            check; importing it again changes nothing. JSON Lines from 'vitrine dump' are restored
            exactly, record by record, so that 'dump' of the new database prints the same lines.
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
        return try withDatabase(args, mustExist: false) { db in
            let store = try db.store()
            if isJSONLines(data) {
                let count = try restoreLines(data, file: file, into: db.engine)
                print("restored \(count) records from \(file) into \(db.path)")
            } else {
                let catalogue: Catalogue
                do { catalogue = try Catalogue(json: data) } catch {
                    throw CLIError.failed("\(file): \(describe(error).message)")
                }
                let summary = try ChunkedCatalogue(catalogue).importInto(store, label: "load")
                print("imported \(file) into \(db.path): \(describe(summary))")
            }
            return 0
        }
    }

    /// Whether the first non-blank line is a whole JSON object (a catalogue spans many lines).
    static func isJSONLines(_ data: Data) -> Bool {
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.isEmpty { continue }
            return (try? JSONSerialization.jsonObject(with: Data(trimmed))) is [String: Any]
        }
        return true  // empty: zero records
    }

    static func restoreLines(_ data: Data, file: String, into engine: EngineStore) throws -> Int {
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var progress = ProgressLine("load")
        let decoder = JSONDecoder()
        var batch: [DumpedRecord] = []
        var count = 0
        for (i, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            do {
                batch.append(try decoder.decode(DumpedRecord.self, from: Data(line)))
            } catch {
                throw CLIError.failed("\(file):\(i + 1): not a dump record: \(decodingText(error))")
            }
            if batch.count == 2048 {
                try engine.restore(batch)
                count += batch.count
                batch.removeAll(keepingCapacity: true)
                progress.update("lines", i + 1, of: lines.count)
            }
        }
        try engine.restore(batch)
        count += batch.count
        progress.finish()
        return count
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
