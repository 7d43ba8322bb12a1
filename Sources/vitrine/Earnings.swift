// `vitrine earnings EXPERT`: an expert's commission, pending and settled, per order.

import Foundation
import Vitrine
import VitrineStore

enum Earnings: Command {
    static let spec = CommandSpec(
        name: "earnings",
        summary: "an expert's commission: pending, settled, and per order",
        positionals: [PositionalSpec(name: "EXPERT", help: "the expert's id")],
        options: [
            .db, .json,
            .value("--limit", "N", "one page of N orders (1...1000), by order id; without it, every order, newest first"),
            .value("--after", "CURSOR", "the next page after the one that printed this cursor"),
        ],
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
        var next: String?
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let expert = ExpertID(try ParsedArguments.text(args.positionals[0], "EXPERT"))
        let cursor = try args.string("--after").map { token in
            do { return try PageCursor(token: token) } catch { throw UsageError("--after: not a cursor this tool printed") }
        }
        let limit = try args.integer("--limit", default: cursor == nil ? nil : 20, in: 1...1000)
        return try withDatabase(args) { db in
            let store = try db.readingStore()
            let e: (pendingFen: Int64, settledFen: Int64, orders: [OrderEarning], next: PageCursor?)
            if let limit {
                let page = try store.earningsPage(of: expert, after: cursor, limit: Int(limit))
                e = (page.pendingFen, page.settledFen, page.orders.items, page.orders.next)
            } else {
                let all = try store.earnings(of: expert)
                e = (all.pendingFen, all.settledFen, all.orders, nil)
            }
            if args.json {
                try printJSON(
                    EarningsJSON(
                        expert: expert.rawValue, pendingFen: e.pendingFen, settledFen: e.settledFen,
                        orders: e.orders.map {
                            OrderJSON(
                                order: $0.order.rawValue, commissionFen: $0.commissionFen,
                                status: statusName($0.status), placedAt: $0.placedAt.millisecondsSinceEpoch)
                        },
                        next: e.next?.token))
                return 0
            }
            print("earnings of \(expert): pending \(money(e.pendingFen)), settled \(money(e.settledFen)), \(e.orders.count) order(s)")
            for o in e.orders { print("  \(o.order): \(money(o.commissionFen)) \(statusName(o.status))") }
            if let next = e.next { print("next page: --after \(next.token)") }
            return 0
        }
    }
}
