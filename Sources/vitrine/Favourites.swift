// `vitrine favourites USER [--add PRODUCT | --remove PRODUCT]`: a user's favourites, newest
// first, a page at a time; adds or removes one first when asked.

import Foundation
import Vitrine
import VitrineStore

enum FavouritesCommand: Command {
    static let spec = CommandSpec(
        name: "favourites",
        summary: "a user's favourites, newest first; --add/--remove a product first",
        positionals: [PositionalSpec(name: "USER", help: "the user's id")],
        options: [
            .db, .json,
            .value("--add", "PRODUCT", "add this product to the favourites first (again: no change)"),
            .value("--remove", "PRODUCT", "remove this product from the favourites first (absent: no change)"),
            .limit, .after,
        ],
        details: """
            Prints one page of the favourites with each product's price and stock. With --json:
            {"user", "items": [{"product": PRODUCT, "addedAt": ms}], "next": CURSOR} ("next"
            absent on the last page), and "removed": true|false with --remove.
            Exit 1 when --add names an unknown product.
            """)

    struct ItemJSON: Encodable {
        var product: Product
        var addedAt: Int64
    }

    struct PageJSON: Encodable {
        var user: String
        var items: [ItemJSON]
        var next: String?
        var removed: Bool?
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let user = UserID(try ParsedArguments.text(args.positionals[0], "USER"))
        let add = try args.string("--add").map { ProductID(try ParsedArguments.text($0, "--add")) }
        let remove = try args.string("--remove").map { ProductID(try ParsedArguments.text($0, "--remove")) }
        if add != nil && remove != nil { throw UsageError("--add and --remove cannot be given together") }
        let limit = try args.pageLimit()
        let cursor = try args.pageCursor()
        return try withDatabase(args) { db in
            var removed: Bool? = nil
            let store: Store<CLIBackend>
            if add != nil || remove != nil {
                store = try db.store()
                if let add { try store.addFavourite(user: user, product: add) }
                if let remove { removed = try store.removeFavourite(user: user, product: remove) }
            } else {
                store = try db.readingStore()
            }
            let page = try store.favourites(of: user, after: cursor, limit: limit)
            if args.json {
                try printJSON(
                    PageJSON(
                        user: user.rawValue,
                        items: page.items.map { ItemJSON(product: $0.product, addedAt: $0.favourite.addedAt.millisecondsSinceEpoch) },
                        next: page.next?.token, removed: removed))
                return 0
            }
            if let add { print("added \(add) to the favourites of \(user)") }
            if let remove, let removed {
                print(removed ? "removed \(remove) from the favourites of \(user)" : "\(remove) was not a favourite of \(user)")
            }
            print("favourites of \(user): \(page.items.count) product(s)")
            for e in page.items {
                let p = e.product
                print(
                    "- \(p.title) [\(p.id)] \(money(p.priceFen)), stock \(p.stock)\(p.isOnSale ? "" : " (off sale)"), added \(isoTime(e.favourite.addedAt))"
                )
            }
            printNextPage(page.next)
            return 0
        }
    }
}
