import Foundation
import Testing

@testable import Vitrine

@Suite struct CatalogueTests {
    static let seedsURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("seeds/catalogue.json")
    static let demoSeed: UInt64 = 20_150_601

    @Test func generatorIsDeterministic() throws {
        let size = CatalogueSize(experts: 10, products: 50, recommendations: 60, users: 5)
        let a = try CatalogueGenerator(seed: 7).catalogue(size).jsonData()
        let b = try CatalogueGenerator(seed: 7).catalogue(size).jsonData()
        let c = try CatalogueGenerator(seed: 8).catalogue(size).jsonData()
        #expect(a == b && a != c)
        // Pieces equal the whole, and any index is reachable without generating the rest.
        let whole = CatalogueGenerator(seed: 7).catalogue(size)
        #expect(CatalogueGenerator(seed: 7).catalogue(size, products: 20..<30).products == Array(whole.products[20..<30]))
        let far = CatalogueGenerator(seed: 7).product(at: 2_999_999)
        #expect(far.id == "prd-2999999" && far.category == CatalogueGenerator.categories[2_999_999 % 8])
        // Any index, even a nonsensical one, gives an item rather than a trap.
        for i in [Int.min, -1, Int.max] {
            _ = CatalogueGenerator(seed: 7).product(at: i)
            _ = CatalogueGenerator(seed: 7).expert(at: i)
            _ = CatalogueGenerator(seed: 7).user(at: i)
            _ = CatalogueGenerator(seed: 7).recommendation(at: i, size)
        }
    }

    @Test func generatedCatalogueImportsAndIsSound() throws {
        let store = try makeStore()
        let size = CatalogueSize.scaled(products: 400)
        let catalogue = CatalogueGenerator(seed: 99).catalogue(size)
        let summary = try store.importCatalogue(catalogue, batchSize: 100)
        #expect(summary.products == 400 && summary.recommendations == size.recommendations)
        // Recommendations are of products in one of the expert's categories.
        for r in catalogue.recommendations.prefix(50) {
            let expert = try store.expert(r.expert)
            #expect(expert.categories.contains(try store.product(r.product).category))
        }
        try store.importCatalogue(catalogue) // repeatable
        try expectIntact(store)
    }

    /// The checked-in demo catalogue loads, imports, and is what the generator makes from its seed.
    /// Regenerate it with `VITRINE_WRITE_SEEDS=1 swift test --filter CatalogueTests`.
    @Test func checkedInSeedsLoad() throws {
        let generated = CatalogueGenerator(seed: Self.demoSeed).catalogue(.demo)
        if ProcessInfo.processInfo.environment["VITRINE_WRITE_SEEDS"] == "1" {
            try generated.jsonData().write(to: Self.seedsURL)
        }
        let seeds = try Catalogue(contentsOf: Self.seedsURL)
        #expect(seeds == generated)
        #expect(seeds.partners.map(\.id) == ["tmall", "taobao", "weimai"])
        #expect(seeds.experts.count >= 24 && seeds.products.count >= 200 && !seeds.users.isEmpty)
        #expect(seeds.recommendations.contains { $0.reason.unicodeScalars.contains { $0.value >= 0x4E00 } })
        #expect(seeds.recommendations.contains { $0.reason.hasPrefix("Bought") || $0.reason.hasPrefix("Official") })
        let store = try makeStore()
        try store.importCatalogue(seeds)
        let feed = try store.interestFeed(for: seeds.users[0].id, limit: 5)
        #expect(!feed.items.isEmpty)
        try expectIntact(store)
    }

    @Test func malformedCataloguesAreRejectedClearly() throws {
        func message(_ json: String) -> String? {
            do {
                _ = try Catalogue(json: Data(json.utf8))
                return nil
            } catch VitrineError.invalidCatalogue(let text) {
                return text
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(message("{") != nil)
        #expect(message("[]") != nil)
        #expect(message(#"{"format":"vitrine-catalogue"}"#) == "version: missing")
        #expect(message(#"{"format":"other","version":1}"#) == #"format is "other", expected "vitrine-catalogue""#)
        #expect(message(#"{"format":"vitrine-catalogue","version":2}"#)?.contains("version 2") == true)
        #expect(message(#"{"format":"vitrine-catalogue","version":1,"products":[{"id":"p"}]}"#) == "products[0].partner: missing")
        #expect(
            message(
                #"{"format":"vitrine-catalogue","version":1,"experts":[{"id":"e","displayName":"x","categories":[],"commissionBasisPoints":"800"}]}"#
            )
                == "experts[0].commissionBasisPoints: expected Int64")
        #expect(
            message(
                #"{"format":"vitrine-catalogue","version":1,"users":[{"id":"u","displayName":"a","interests":[]},{"id":"u","displayName":"b","interests":[]}]}"#
            )
                == #"users[1]: duplicate id "u""#)
        #expect(message(#"{"format":"vitrine-catalogue","version":1}"#) == nil)
    }

    @Test func importAppliesDomainChecks() throws {
        let store = try makeStore()
        let bad = Catalogue(products: [
            Catalogue.ProductEntry(
                id: "p", partner: "tmall", link: "http://tmall.com/1", title: "t", priceFen: 1, merchant: "m", category: "c",
                initialStock: 1)
        ])
        #expect(throws: VitrineError.linkNotHTTPS(link: "http://tmall.com/1", scheme: "http")) { try store.importCatalogue(bad) }
    }
}
