// `vitrine checkout USER --key K`: buys the whole cart as one order.

import Foundation
import Vitrine
import VitrineStore

enum Checkout: Command {
    static let spec = CommandSpec(
        name: "checkout",
        summary: "buy a user's whole cart as one order (retry-safe with the same --key)",
        positionals: [PositionalSpec(name: "USER", help: "the buyer's id")],
        options: [
            .db, .json,
            .value("--key", "K", "idempotency key, required: a retry with the same key returns the same order"),
            .flag("--accept-price-changes", "buy at the current prices when they changed since the lines were added"),
            .value("--expect-total", "FEN", "the total the buyer agreed to, in fen: buy only at exactly this total"),
        ],
        details: """
            Prints the order. Exit 1 when the cart is empty, stock is short or prices changed (with
            --expect-total: when the total is not that one), or when
            the key was already used and the cart holds lines its order did not buy: the old order is
            printed (with "linesNotBought" in --json), the lines stay in the cart; buy them with a new key.
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let user = UserID(try ParsedArguments.text(args.positionals[0], "USER"))
        let key = try ParsedArguments.text(try args.required("--key"), "--key")
        let expectedTotal = try args.integer("--expect-total", default: nil, in: 0...Int64.max)
        return try withDatabase(args) { db in
            let result = try db.store().checkout(
                user: user, idempotencyKey: key, acceptPriceChanges: args.flag("--accept-price-changes"),
                expectedTotalFen: expectedTotal)
            let notBought = result.linesNotBought
            if args.json {
                try printJSON(OrderJSON(result.order, replay: result.isReplay, linesNotBought: notBought.isEmpty ? nil : notBought))
            } else {
                if result.isReplay { print("already placed with key \(key):") }
                printOrder(result.order)
                for c in result.priceChanges {
                    print("  price of \(c.product) changed: \(money(c.oldUnitPriceFen)) -> \(money(c.newUnitPriceFen))")
                }
                for l in notBought { print("  not bought: \(l.quantity) × [\(l.product)]\(l.recommendation.map { " via \($0)" } ?? "")") }
            }
            guard notBought.isEmpty else {
                let lines = notBought.count == 1 ? "1 cart line" : "\(notBought.count) cart lines"
                throw CLIError.failed(
                    "\(lines) not bought: key \"\(key)\" was already used for order \(result.order.id); use a new key")
            }
            return 0
        }
    }
}
