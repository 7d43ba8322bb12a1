// `vitrine sweep`: reclaims expired reservation holds and expired idempotency keys, and removes
// idle guests (with their carts and holds).

import Foundation
import Vitrine
import VitrineStore

enum Sweep: Command {
    static let spec = CommandSpec(
        name: "sweep",
        summary: "delete expired reservation holds and idempotency keys (past their retention), and idle guests, a bounded batch each",
        options: [
            .db, .json,
            .value("--limit", "N", "at most N of each per call, 1...1000 (default 1000); run again while it reports N"),
            .value(
                "--guest-retention", "SECONDS",
                "remove guests idle this long, 1...316224000 (default 2592000, 30 days)"),
        ],
        details: """
            Expired holds and keys already count for nothing; this reclaims their space. Idempotency
            keys are kept for the store's retention (30 days) after their order: a checkout retried
            later places a new order. A guest whose cart has not changed for the guest retention is
            removed with its cart lines, and their holds are released (its id is then unknown).
            Each kind is swept in transactions of a bounded size, so a large --limit also fits an
            etcd cluster's limits. Prints what was removed, the guests on a second line (with
            --json: {"holds":H,"idempotencyKeys":K,"guests":G}).
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let limit = Int(try args.integer("--limit", default: 1000, in: 1...1000) ?? 1000)
        let retention = try args.integer("--guest-retention", default: 30 * 86_400, in: 1...(10 * 366 * 86_400)) ?? 30 * 86_400
        var configuration = Configuration.standard
        configuration.guestRetention = .seconds(retention)
        return try withDatabase(args) { db in
            let store = try db.store(configuration)
            let holds = try store.sweepExpiredReservations(limit: limit)
            let keys = try store.sweepExpiredIdempotencyKeys(limit: limit)
            let guests = try store.sweepIdleGuests(limit: limit)
            if args.json {
                struct Result: Encodable { var holds: Int; var idempotencyKeys: Int; var guests: Int }
                try printJSON(Result(holds: holds, idempotencyKeys: keys, guests: guests))
            } else {
                print("swept \(holds) expired hold(s), \(keys) expired idempotency key(s)")
                print("swept \(guests) idle guest(s)")
            }
            return 0
        }
    }
}
