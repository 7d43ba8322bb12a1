// `vitrine checkpoint`: copies the write-ahead log's transactions into the data file.

import Foundation
import Vitrine
import VitrineStore

enum CheckpointCommand: Command {
    static let spec = CommandSpec(
        name: "checkpoint",
        summary: "write the log's committed transactions into the data file and empty the log",
        options: [.db, .json])

    static func run(_ args: ParsedArguments) throws -> Int32 {
        try withDatabase(args) { db in
            try db.database.checkpoint()
            let s = try db.database.statistics()
            if args.json {
                struct Result: Encodable { var lastTransactionId: UInt64; var checkpointSequence: UInt64; var logBytes: Int64 }
                try printJSON(
                    Result(lastTransactionId: s.lastTransactionId, checkpointSequence: s.checkpointSequence, logBytes: s.logBytes))
            } else {
                print("checkpoint \(s.checkpointSequence): through transaction \(s.lastTransactionId), log \(s.logBytes) bytes")
            }
            return 0
        }
    }
}
