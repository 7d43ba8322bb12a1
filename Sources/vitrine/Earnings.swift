// `vitrine earnings EXPERT`: an expert's commission, pending and settled, per order.

import Foundation
import Vitrine
import VitrineStore

enum Earnings: Command {
    static let spec = CommandSpec(
        name: "earnings",
        summary: "an expert's commission: pending, settled, and per order",
        positionals: [PositionalSpec(name: "EXPERT", help: "the expert's id")],
        options: [.db, .json],
        details: "Exit 1 when there is no such expert.")

    struct OrderJSON: Encodable {
        var order: String
        var commissionFen: Int64
        var status: String
        var placedAt: Int64
    }

    struct EarningsJSON: Encodable {
        var expert: String
        var pendingFen: Int64
        var settledFen: Int64
        var orders: [OrderJSON]
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let expert = ExpertID(try ParsedArguments.text(args.positionals[0], "EXPERT"))
        return try withDatabase(args) { db in
            let e = try db.readingStore().earnings(of: expert)
            if args.json {
                try printJSON(EarningsJSON(
                    expert: expert.rawValue, pendingFen: e.pendingFen, settledFen: e.settledFen,
                    orders: e.orders.map { OrderJSON(order: $0.order.rawValue, commissionFen: $0.commissionFen,
                                                     status: statusName($0.status), placedAt: $0.placedAt.millisecondsSinceEpoch) }))
                return 0
            }
            print("earnings of \(expert): pending \(money(e.pendingFen)), settled \(money(e.settledFen)), \(e.orders.count) order(s)")
            for o in e.orders { print("  \(o.order): \(money(o.commissionFen)) \(statusName(o.status))") }
            return 0
        }
    }
}
