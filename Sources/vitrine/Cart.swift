// `vitrine cart USER`: a user's cart with current prices and availability.

import Foundation
import Vitrine
import VitrineStore

enum CartCommand: Command {
    static let spec = CommandSpec(
        name: "cart",
        summary: "a user's cart: lines, current prices, availability",
        positionals: [PositionalSpec(name: "USER", help: "the user's id")],
        options: [.db, .json])

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let user = UserID(try ParsedArguments.text(args.positionals[0], "USER"))
        return try withDatabase(args) { db in
            let cart = try db.readingStore().cart(.user(user))
            if args.json { try printJSON(CartJSON(user, cart)) } else { printCart(user, cart) }
            return 0
        }
    }
}
