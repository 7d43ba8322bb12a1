// `vitrine restock PRODUCT N`: adds N units to a product's stock.

import Foundation
import Vitrine
import VitrineStore

enum Restock: Command {
    static let spec = CommandSpec(
        name: "restock",
        summary: "add N units to a product's stock",
        positionals: [
            PositionalSpec(name: "PRODUCT", help: "the product's id"),
            PositionalSpec(name: "N", help: "units to add, at least 1"),
        ],
        options: [.db, .json, .value("--key", "K", "restock key: a retry with the same key adds nothing (default: a fresh one)")],
        details: "Prints the product's stock ledger. Exit 1 when there is no such product.")

    struct LedgerJSON: Encodable {
        var product: String
        var stock, initialStock, restocked, sold: Int64
    }

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let product = ProductID(try ParsedArguments.text(args.positionals[0], "PRODUCT"))
        let units = try ParsedArguments.integer(args.positionals[1], "N", in: 1...1_000_000_000)
        let key = try args.string("--key").map { try ParsedArguments.text($0, "--key") } ?? "cli-" + UUID().uuidString.lowercased()
        return try withDatabase(args) { db in
            let p = try db.store().restock(product, units: units, restockKey: key)
            if args.json {
                try printJSON(
                    LedgerJSON(product: p.id.rawValue, stock: p.stock, initialStock: p.initialStock, restocked: p.restocked, sold: p.sold))
            } else {
                print("\(p.title) [\(p.id)]: stock \(p.stock) (initial \(p.initialStock) + restocked \(p.restocked) - sold \(p.sold))")
            }
            return 0
        }
    }
}
