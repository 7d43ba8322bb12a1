// `vitrine order ORDER_ID`: one order; exit 1 when there is none.

import Foundation
import Vitrine
import VitrineStore

enum OrderCommand: Command {
    static let spec = CommandSpec(
        name: "order",
        summary: "show an order: status, total units, lines, commission",
        positionals: [PositionalSpec(name: "ORDER_ID", help: "the order's id")],
        options: [.db, .json],
        details: "Exit 1 when there is no such order. The JSON carries id, status and units (total units).")

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let id = OrderID(try ParsedArguments.text(args.positionals[0], "ORDER_ID"))
        return try withDatabase(args) { db in
            let order = try db.readingStore().order(id)
            if args.json { try printJSON(OrderJSON(order)) } else { printOrder(order) }
            return 0
        }
    }
}
