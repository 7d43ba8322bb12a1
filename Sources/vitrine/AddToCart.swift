// `vitrine add-to-cart USER RECOMMENDATION [--qty N]`: adds a recommended product to a cart.

import Foundation
import Vitrine
import VitrineStore

enum AddToCart: Command {
    static let spec = CommandSpec(
        name: "add-to-cart",
        summary: "add the product of a recommendation to a user's cart",
        positionals: [
            PositionalSpec(name: "USER", help: "the user's id"),
            PositionalSpec(name: "RECOMMENDATION", help: "the recommendation's id (its product is added)"),
        ],
        options: [.db, .json, .value("--qty", "N", "units to add, 1...99 (default 1)")],
        details: "Prints the cart. Exit 1 when the recommendation is unknown or withdrawn, or stock is short.")

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let user = UserID(try ParsedArguments.text(args.positionals[0], "USER"))
        let rid = RecommendationID(try ParsedArguments.text(args.positionals[1], "RECOMMENDATION"))
        let allowed = Configuration.standard.lineQuantity
        let qty = try args.integer("--qty", default: 1, in: allowed) ?? 1
        return try withDatabase(args) { db in
            let store = try db.store()
            let recommendation = try store.recommendation(rid)
            let cart = try store.addToCart(.user(user), product: recommendation.product, recommendation: rid, quantity: qty)
            if args.json { try printJSON(CartJSON(user, cart)) } else { printCart(user, cart) }
            return 0
        }
    }
}
