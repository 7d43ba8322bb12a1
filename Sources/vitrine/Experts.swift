// `vitrine experts`: the expert directory, by expert id, a page at a time.

import Foundation
import Vitrine
import VitrineStore

enum Experts: Command {
    static let spec = CommandSpec(
        name: "experts",
        summary: "the expert directory: every expert with categories and commission, by id",
        options: [.db, .json, .limit, .after],
        details: """
            With --json: {"items": [{"id", "displayName", "categories", "commissionBasisPoints"}],
            "next": CURSOR} ("next" absent on the last page).
            """)

    struct PageJSON: Encodable {
        var items: [Expert]
        var next: String?
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let limit = try args.pageLimit()
        let cursor = try args.pageCursor()
        return try withDatabase(args) { db in
            let page = try db.readingStore().experts(after: cursor, limit: limit)
            if args.json {
                try printJSON(PageJSON(items: page.items, next: page.next?.token))
                return 0
            }
            print("\(page.items.count) expert(s)")
            for e in page.items {
                print(
                    "- \(e.displayName) [\(e.id)] \(e.categories.joined(separator: ", ")), commission \(percent(e.commissionBasisPoints))")
            }
            printNextPage(page.next)
            return 0
        }
    }
}
