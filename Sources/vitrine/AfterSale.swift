// After-sale subcommands: `cancel-lines` (part of an order before settlement) and `return`
// (refund, with or without restock, also after settlement), and `conversion` of a recommendation.

import Foundation
import Vitrine
import VitrineStore

/// The line an after-sale subcommand names: --product, optional --rec, --qty.
private func line(_ args: ParsedArguments) throws -> CheckoutLine {
    let product = ProductID(try ParsedArguments.text(try args.required("--product"), "--product"))
    let rec = try args.string("--rec").map { RecommendationID(try ParsedArguments.text($0, "--rec")) }
    let qty = try args.integer("--qty", default: 1, in: 1...Int64.max) ?? 1
    return CheckoutLine(product: product, recommendation: rec, quantity: qty)
}

private let lineOptions: [OptionSpec] = [
    .value("--product", "P", "the product of the order line, required"),
    .value("--rec", "R", "the recommendation of the order line (absent: the line bought without one)"),
    .value("--qty", "N", "units (default 1)"),
]

enum CancelLines: Command {
    static let spec = CommandSpec(
        name: "cancel-lines",
        summary: "cancel units of one line of an order awaiting payment or paid: stock and commission go back",
        positionals: [PositionalSpec(name: "ORDER_ID", help: "the order's id")],
        options: [.db, .json] + lineOptions,
        details:
            "Cancelling the last kept unit cancels the order. Exit 1 when the order is settled, cancelled or expired, or the line has fewer units left."
    )

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let id = OrderID(try ParsedArguments.text(args.positionals[0], "ORDER_ID"))
        let l = try line(args)
        return try withDatabase(args) { db in
            let order = try db.store().cancelLines(of: id, [l])
            if args.json { try printJSON(OrderJSON(order)) } else { printOrder(order) }
            return 0
        }
    }
}

enum ReturnCommand: Command {
    static let spec = CommandSpec(
        name: "return",
        summary: "return and refund units of a paid or settled order; the commission on them is clawed back",
        positionals: [PositionalSpec(name: "ORDER_ID", help: "the order's id")],
        options: [.db, .json] + lineOptions + [.flag("--restock", "put the returned units back in stock")],
        details: """
            Prints the refund and the clawback per expert, then the order (with --json:
            {"order":{...},"refundFen":N,"clawbackFen":{"expert":N}}). Exit 1 when the order is not paid or settled,
            or the line has fewer units left.
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let id = OrderID(try ParsedArguments.text(args.positionals[0], "ORDER_ID"))
        let l = try line(args)
        return try withDatabase(args) { db in
            let r = try db.store().returnLines(of: id, [l], restock: args.flag("--restock"))
            let clawback = Dictionary(uniqueKeysWithValues: r.clawbackFen.map { ($0.key.rawValue, $0.value) })
            if args.json {
                struct Result: Encodable { var order: OrderJSON; var refundFen: Int64; var clawbackFen: [String: Int64] }
                try printJSON(Result(order: OrderJSON(r.order), refundFen: r.refundFen, clawbackFen: clawback))
            } else {
                print(
                    "refund \(money(r.refundFen))"
                        + clawback.sorted { $0.key < $1.key }.map { ", clawback \(money($0.value)) from \($0.key)" }.joined())
                printOrder(r.order)
            }
            return 0
        }
    }
}

enum Conversion: Command {
    static let spec = CommandSpec(
        name: "conversion",
        summary: "how a recommendation converts: favourites of its product, cart lines, orders, paid orders",
        positionals: [PositionalSpec(name: "REC", help: "the recommendation's id")],
        options: [.db, .json],
        details: "Reads every favourite, cart line and order (a report). Exit 1 when there is no such recommendation.")

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let id = RecommendationID(try ParsedArguments.text(args.positionals[0], "REC"))
        return try withDatabase(args) { db in
            let c = try db.readingStore().conversion(of: id)
            if args.json { try printJSON(c); return 0 }
            print(
                "recommendation \(id): \(c.favourites) favourite(s), \(c.cartLines) cart line(s), \(c.orders) order(s), \(c.paidOrders) paid, \(c.unitsKept) unit(s) kept"
            )
            return 0
        }
    }
}
