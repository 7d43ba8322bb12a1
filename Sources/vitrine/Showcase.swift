// `vitrine showcase EXPERT`: an expert's recommendations, newest first, a page at a time.

import Foundation
import Vitrine
import VitrineStore

enum Showcase: Command {
    static let spec = CommandSpec(
        name: "showcase",
        summary: "an expert's showcase: recommendations with reasons, prices and stock, newest first",
        positionals: [PositionalSpec(name: "EXPERT", help: "the expert's id")],
        options: [
            .db, .json,
            .value("--category", "C", "only recommendations in this category"),
            .value("--limit", "N", "page size, 1...1000 (default 20)"),
            .value("--after", "CURSOR", "the next page after the one that printed this cursor"),
        ],
        details: "Exit 1 when there is no such expert.")

    struct EntryJSON: Encodable {
        var recommendation: Recommendation
        var product: Product
        /// Units buyable through the recommendation now (its quantity and the stock, less holds).
        var available: Int64
    }

    struct PageJSON: Encodable {
        var expert: String
        var items: [EntryJSON]
        var next: String?
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let expert = ExpertID(try ParsedArguments.text(args.positionals[0], "EXPERT"))
        let limit = Int(try args.integer("--limit", default: 20, in: 1...1000) ?? 20)
        let category = try args.string("--category").map { try ParsedArguments.text($0, "--category") }
        let cursor = try args.string("--after").map { token in
            do { return try PageCursor(token: token) } catch { throw UsageError("--after: not a cursor this tool printed") }
        }
        return try withDatabase(args) { db in
            let page = try db.readingStore().showcase(of: expert, category: category, after: cursor, limit: limit)
            if args.json {
                try printJSON(
                    PageJSON(
                        expert: expert.rawValue,
                        items: page.items.map {
                            EntryJSON(recommendation: $0.recommendation, product: $0.product, available: $0.available)
                        },
                        next: page.next?.token))
                return 0
            }
            print("showcase of \(expert)\(category.map { " in \($0)" } ?? ""): \(page.items.count) recommendation(s)")
            for entry in page.items { printEntry(entry) }
            if let next = page.next { print("next page: --after \(next.token)") }
            return 0
        }
    }

    static func printEntry(_ e: ShowcaseEntry) {
        let r = e.recommendation, p = e.product
        print(
            "- \(p.title) [\(p.id)] \(money(p.priceFen)), stock \(p.stock)\(p.isOnSale ? "" : " (off sale)"), "
                + "\(e.available) of \(r.offeredQuantity) left through \(r.id)")
        print("  “\(r.reason)” — \(p.merchant), \(p.partner)")
    }
}
