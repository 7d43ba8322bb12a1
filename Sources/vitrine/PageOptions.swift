// The paging options shared by the listing subcommands: --limit N and --after CURSOR (the
// cursor a previous page printed as "next page: --after CURSOR", or its JSON "next").

import Foundation
import Vitrine

extension OptionSpec {
    static let limit = value("--limit", "N", "page size, 1...1000 (default 20)")
    static let after = value("--after", "CURSOR", "the next page after the one that printed this cursor")
}

extension ParsedArguments {
    /// --limit, 1...1000 (default 20).
    func pageLimit() throws -> Int { Int(try integer("--limit", default: 20, in: 1...1000) ?? 20) }

    /// --after as a cursor; a usage error when it is not one this tool printed.
    func pageCursor() throws -> PageCursor? {
        try string("--after").map { token in
            do { return try PageCursor(token: token) } catch { throw UsageError("--after: not a cursor this tool printed") }
        }
    }
}

/// Prints where the next page starts, when there is one.
func printNextPage(_ next: PageCursor?) {
    if let next { print("next page: --after \(next.token)") }
}
