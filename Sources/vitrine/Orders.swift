// `vitrine orders USER`: a user's orders, newest first, a page at a time.

import Foundation
import Vitrine
import VitrineStore

enum OrdersCommand: Command {
    static let spec = CommandSpec(
        name: "orders",
        summary: "a user's orders, newest first",
        positionals: [PositionalSpec(name: "USER", help: "the user's id")],
        options: [.db, .json, .limit, .after],
        details: """
            Each order is printed as 'order' prints it; with --json: {"user", "items": [ORDER as
            'order --json' prints it], "next": CURSOR} ("next" absent on the last page).
            A user without orders has an empty list.
            """)

    struct PageJSON: Encodable {
        var user: String
        var items: [OrderJSON]
        var next: String?
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let user = UserID(try ParsedArguments.text(args.positionals[0], "USER"))
        let limit = try args.pageLimit()
        let cursor = try args.pageCursor()
        return try withDatabase(args) { db in
            let page = try db.readingStore().orders(of: user, after: cursor, limit: limit)
            if args.json {
                try printJSON(PageJSON(user: user.rawValue, items: page.items.map { OrderJSON($0) }, next: page.next?.token))
                return 0
            }
            print("orders of \(user): \(page.items.count) order(s)")
            for order in page.items { printOrder(order) }
            printNextPage(page.next)
            return 0
        }
    }
}
