// `vitrine feed USER`: a user's interest feed (recommendations in the categories the user
// follows), newest first, a page at a time.

import Foundation
import Vitrine
import VitrineStore

enum Feed: Command {
    static let spec = CommandSpec(
        name: "feed",
        summary: "a user's interest feed: recommendations in the user's categories, newest first",
        positionals: [PositionalSpec(name: "USER", help: "the user's id (a user record with interests)")],
        options: [.db, .json, .limit, .after],
        details: """
            Entries are printed as 'showcase' prints them; the JSON has the same shape as the
            showcase's, with "user" in place of "expert". Exit 1 when there is no such user.
            """)

    struct PageJSON: Encodable {
        var user: String
        var items: [Showcase.EntryJSON]
        var next: String?
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let user = UserID(try ParsedArguments.text(args.positionals[0], "USER"))
        let limit = try args.pageLimit()
        let cursor = try args.pageCursor()
        return try withDatabase(args) { db in
            let page = try db.readingStore().interestFeed(for: user, after: cursor, limit: limit)
            if args.json {
                try printJSON(
                    PageJSON(
                        user: user.rawValue,
                        items: page.items.map {
                            Showcase.EntryJSON(recommendation: $0.recommendation, product: $0.product, available: $0.available)
                        },
                        next: page.next?.token))
                return 0
            }
            print("feed of \(user): \(page.items.count) recommendation(s)")
            for entry in page.items { Showcase.printEntry(entry) }
            printNextPage(page.next)
            return 0
        }
    }
}
