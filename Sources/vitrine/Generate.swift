// `vitrine generate --products N --experts N --seed S`: a synthetic catalogue of any size, made
// by the library's deterministic generator and imported piece by piece.

import Foundation
import Vitrine
import VitrineStore

enum Generate: Command {
    static let spec = CommandSpec(
        name: "generate",
        summary: "generate a synthetic catalogue of any size into the database",
        options: [
            .db,
            .value("--products", "N", "products (default 320)"),
            .value("--experts", "N", "experts (default: products / 10, at least 8)"),
            .value("--seed", "S", "the generator's seed (default 20150601, the seeds' one)"),
            .quiet,
        ],
        details: """
            The same seed and sizes always give the same catalogue. Recommendations number 1.5 per
            product, users one per 12 products (at least 4), each with up to 5 favourites.
            Generating into a database that already holds the catalogue changes nothing.
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let products = Int(try args.integer("--products", default: 320, in: 1...100_000_000) ?? 320)
        let scaled = CatalogueSize.scaled(products: products)
        let experts = Int(try args.integer("--experts", default: Int64(scaled.experts), in: 1...10_000_000) ?? 8)
        let seed = try parseSeed(args.string("--seed") ?? "20150601")
        let size = CatalogueSize(experts: experts, products: products, recommendations: scaled.recommendations, users: scaled.users)
        return try withDatabase(args, mustExist: false) { db in
            let summary = try ChunkedCatalogue(generator: CatalogueGenerator(seed: seed), size: size)
                .importInto(try db.store(), label: "generate", quiet: args.quiet)
            print("generated into \(db.path) (seed \(seed)): \(describe(summary))")
            return 0
        }
    }
}

/// A seed: any unsigned 64-bit integer (a negative one is taken as its two's complement).
func parseSeed(_ text: String) throws -> UInt64 {
    if let u = UInt64(text) { return u }
    if let i = Int64(text) { return UInt64(bitPattern: i) }
    throw UsageError("--seed must be an integer, got '\(text)'")
}
