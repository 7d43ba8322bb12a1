// `vitrine pages --out DIR`: the shop as static web pages (VitrinePages does the work).

import Foundation
import Vitrine
import VitrinePages
import VitrineStore

enum Pages: Command {
    static let spec = CommandSpec(
        name: "pages",
        summary: "write the shop as static web pages: showcases, products, carts, intermediate pages, an index",
        options: [
            .db, .json, .quiet,
            .value("--out", "DIR", "the directory to write into (new, empty, or written before by this command), required"),
            .value("--user", "ID", "the cart of this user only (default: every user with a cart, up to --limit)"),
            .value("--limit", "N", "at most N showcases, N carts and N intermediate pages, 1...1000000 (default 1000)"),
            .value("--showcase-size", "N", "the newest N recommendations per showcase, 1...1000 (default 50)"),
        ],
        details: """
            Pages: DIR/index.html; DIR/showcase/, DIR/product/, DIR/cart/, DIR/order/ (one page per expert,
            product, user and order awaiting payment; file names derived from the ids: plain ids as they are,
            others encoded). Product pages are written for the products the other pages show. Every page
            stands alone: inline CSS, no script, nothing loaded from elsewhere. A link to a partner is written
            only when it passes the partner link policy again; otherwise it is shown as text with the reason.
            Prints one summary line (with --json: an object), and the limits reached. The database is only read.
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let out = try ParsedArguments.text(try args.required("--out"), "--out")
        var options = ShopPagesOptions()
        let limit = Int(try args.integer("--limit", default: 1000, in: 1...1_000_000) ?? 1000)
        options.maxShowcases = limit
        options.maxCarts = limit
        options.maxOrders = limit
        options.showcaseSize = Int(try args.integer("--showcase-size", default: 50, in: 1...1000) ?? 50)
        if let user = args.string("--user") { options.users = [UserID(try ParsedArguments.text(user, "--user"))] }
        return try withDatabase(args) { db in
            let started = Date()
            var progress = ProgressLine("pages", quiet: args.quiet)
            let summary: ShopPagesSummary
            do {
                summary = try ShopPages(store: db.readingStore(), options: options)
                    .write(to: URL(fileURLWithPath: out)) { what, n in progress.update(what, n) }
            } catch let error as ShopPagesError {
                progress.finish()
                throw CLIError(message: error.description, code: 2)
            }
            progress.finish()
            if args.json {
                struct Result: Encodable {
                    var out: String
                    var summary: ShopPagesSummary
                    var files: Int
                }
                try printJSON(Result(out: out, summary: summary, files: summary.files))
                return 0
            }
            print(
                "wrote \(summary.files) pages to \(out) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s: "
                    + "\(summary.showcases) showcases, \(summary.products) products, \(summary.carts) carts, "
                    + "\(summary.orders) intermediate pages, the index"
                    + (summary.skipped > 0 ? " (\(summary.skipped) skipped)" : ""))
            for limit in summary.limitsReached { print("limit reached: \(limit) (--limit)") }
            return 0
        }
    }
}
