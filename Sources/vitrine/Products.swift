// `vitrine products (--category C | --merchant M | --partner P)`: products of one category,
// merchant or partner platform, by product id, a page at a time.

import Foundation
import Vitrine
import VitrineStore

enum Products: Command {
    static let spec = CommandSpec(
        name: "products",
        summary: "products in a category, of a merchant or on a partner platform, by id",
        options: [
            .db, .json,
            .value("--category", "C", "products in this category"),
            .value("--merchant", "M", "products of this merchant (the exact name)"),
            .value("--partner", "P", "products on this partner platform (tmall, taobao, weimai, ...)"),
            .limit, .after,
        ],
        details: """
            Exactly one of --category, --merchant, --partner. With --json: {"items": [PRODUCT],
            "next": CURSOR} ("next" absent on the last page). Exit 1 when --partner names no
            registered partner; an unknown category or merchant has an empty list.
            """)

    struct PageJSON: Encodable {
        var items: [Product]
        var next: String?
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        var filters: [ProductFilter] = []
        if let c = args.string("--category") { filters.append(.category(try ParsedArguments.text(c, "--category"))) }
        if let m = args.string("--merchant") { filters.append(.merchant(try ParsedArguments.text(m, "--merchant"))) }
        if let p = args.string("--partner") { filters.append(.partner(PartnerID(try ParsedArguments.text(p, "--partner")))) }
        guard filters.count == 1 else { throw UsageError("give exactly one of --category, --merchant, --partner") }
        let limit = try args.pageLimit()
        let cursor = try args.pageCursor()
        return try withDatabase(args) { db in
            let page = try db.readingStore().products(filters[0], after: cursor, limit: limit)
            if args.json {
                try printJSON(PageJSON(items: page.items, next: page.next?.token))
                return 0
            }
            print("\(page.items.count) product(s)")
            for p in page.items {
                print(
                    "- \(p.title) [\(p.id)] \(money(p.priceFen)), stock \(p.stock)\(p.isOnSale ? "" : " (off sale)") — \(p.merchant), \(p.partner), \(p.category)"
                )
            }
            printNextPage(page.next)
            return 0
        }
    }
}
