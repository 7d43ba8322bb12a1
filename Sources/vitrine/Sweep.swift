// `vitrine sweep`: reclaims expired reservation holds and expired idempotency keys.

import Foundation
import Vitrine
import VitrineStore

enum Sweep: Command {
    static let spec = CommandSpec(
        name: "sweep",
        summary: "delete expired reservation holds and idempotency keys (past their retention), a bounded batch each",
        options: [
            .db, .json,
            .value("--limit", "N", "at most N of each per call, 1...1000 (default 1000); run again while it reports N"),
        ],
        details: """
            Expired holds and keys already count for nothing; this reclaims their space. Idempotency
            keys are kept for the store's retention (30 days) after their order: a checkout retried
            later places a new order. Prints what was removed (with --json: {"holds":H,"idempotencyKeys":K}).
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let limit = Int(try args.integer("--limit", default: 1000, in: 1...1000) ?? 1000)
        return try withDatabase(args) { db in
            let store = try db.store()
            let holds = try store.sweepExpiredReservations(limit: limit)
            let keys = try store.sweepExpiredIdempotencyKeys(limit: limit)
            if args.json {
                struct Result: Encodable { var holds: Int; var idempotencyKeys: Int }
                try printJSON(Result(holds: holds, idempotencyKeys: keys))
            } else {
                print("swept \(holds) expired hold(s), \(keys) expired idempotency key(s)")
            }
            return 0
        }
    }
}
