// Importing a catalogue piece by piece, so that `load` and `generate` can show progress and a
// generated catalogue of any size never has to be in memory at once. The pieces go through the
// library's `importCatalogue` in its dependency order: partners, experts and users; products;
// recommendations; favourites.

import Foundation
import Vitrine
import VitrineStore

/// A catalogue whose products and recommendations are made (or sliced) on demand.
struct ChunkedCatalogue {
    var head: Catalogue
    var productCount: Int
    var products: (Range<Int>) -> [Catalogue.ProductEntry]
    var recommendationCount: Int
    var recommendations: (Range<Int>) -> [Catalogue.RecommendationEntry]
    var favourites: [Favourite]

    init(_ c: Catalogue) {
        head = Catalogue(partners: c.partners, experts: c.experts, users: c.users)
        productCount = c.products.count
        products = { Array(c.products[$0]) }
        recommendationCount = c.recommendations.count
        recommendations = { Array(c.recommendations[$0]) }
        favourites = c.favourites
    }

    init(generator g: CatalogueGenerator, size: CatalogueSize) {
        head = Catalogue(
            partners: Partner.defaults, experts: (0..<size.experts).map(g.expert(at:)),
            users: (0..<size.users).map(g.user(at:)))
        productCount = size.products
        products = { $0.map(g.product(at:)) }
        recommendationCount = size.recommendations
        recommendations = { $0.map { g.recommendation(at: $0, size) } }
        var favourites: [Favourite] = []
        for u in 0..<size.users {
            var seen = Set<ProductID>()
            for f in g.favourites(ofUser: u, size) where seen.insert(f.product).inserted { favourites.append(f) }
        }
        self.favourites = favourites
    }

    /// Imports everything; progress on stderr when it is a terminal.
    /// `addingPartners`: see ``Store/importCatalogue(_:batchSize:addingPartners:)``.
    func importInto(
        _ store: Store<CLIBackend>, label: String, chunk: Int = 4096, addingPartners: Bool = false,
        quiet: Bool = false
    ) throws -> ImportSummary {
        var progress = ProgressLine(label, quiet: quiet)
        var summary = try store.importCatalogue(head, addingPartners: addingPartners)
        var start = 0
        while start < productCount {
            let end = min(productCount, start + chunk)
            summary.products += try store.importCatalogue(Catalogue(products: products(start..<end))).products
            progress.update("products", end, of: productCount)
            start = end
        }
        start = 0
        while start < recommendationCount {
            let end = min(recommendationCount, start + chunk)
            summary.recommendations += try store.importCatalogue(Catalogue(recommendations: recommendations(start..<end))).recommendations
            progress.update("recommendations", end, of: recommendationCount)
            start = end
        }
        start = 0
        while start < favourites.count {
            let end = min(favourites.count, start + chunk)
            summary.favourites += try store.importCatalogue(Catalogue(favourites: Array(favourites[start..<end]))).favourites
            progress.update("favourites", end, of: favourites.count)
            start = end
        }
        progress.finish()
        return summary
    }
}

func describe(_ s: ImportSummary) -> String {
    "\(s.partners) partners, \(s.experts) experts, \(s.products) products, \(s.recommendations) recommendations, "
        + "\(s.users) users, \(s.favourites) favourites"
}

/// Whether `table` holds no records (`product`: a fresh or empty database).
func hasNoRecords(in table: String, _ engine: CLIBackend) throws -> Bool {
    struct FoundOne: Error {}
    do {
        try engine.forEachRecord(table: table) { _ in throw FoundOne() }
    } catch is FoundOne {
        return false
    }
    return true
}
