// `vitrine guest`: issues a guest id (guest carts take only ids the store issued).

import Foundation
import Vitrine
import VitrineStore

enum GuestCommand: Command {
    static let spec = CommandSpec(
        name: "guest",
        summary: "issue a guest id for a guest cart (merged into a user's cart on sign-in)",
        options: [.db, .json],
        details: """
            Prints the new guest id (with --json: {"guest":"ID"}). The library's guest cart
            operations refuse ids the store did not issue.
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        try withDatabase(args) { db in
            let id = try db.store().issueGuestID()
            if args.json {
                struct Result: Encodable { var guest: String }
                try printJSON(Result(guest: id))
            } else {
                print(id)
            }
            return 0
        }
    }
}
