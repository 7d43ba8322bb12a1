// `vitrine merge GUEST USER`: moves a guest cart into a user's cart (on sign-in).

import Foundation
import Vitrine
import VitrineStore

enum Merge: Command {
    static let spec = CommandSpec(
        name: "merge",
        summary: "merge a guest cart (from 'vitrine guest') into a user's cart",
        positionals: [
            PositionalSpec(name: "GUEST", help: "the guest id 'vitrine guest' issued"),
            PositionalSpec(name: "USER", help: "the user's id"),
        ],
        options: [.db, .json],
        details: """
            Prints the user's cart after the merge (as 'cart' prints it). A line in both carts
            takes the larger quantity; live holds move with their lines and keep their expiry.
            Merging again changes nothing (the guest cart is empty). Exit 1 when the store did not
            issue GUEST, or the merged cart would be too long (nothing is merged).
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let guest = try ParsedArguments.text(args.positionals[0], "GUEST")
        let user = UserID(try ParsedArguments.text(args.positionals[1], "USER"))
        return try withDatabase(args) { db in
            let cart = try db.store().mergeGuestCart(guest, into: user)
            if args.json { try printJSON(CartJSON(user, cart)) } else { printCart(user, cart) }
            return 0
        }
    }
}
