// The discovery index checked both ways (part of `checkIntegrity`): every product has its three
// entries (`prod_cat`, `prod_merch`, `prod_partner`, Store+Discovery.swift), and every
// entry is one of the entries of the product it names, as that product is now. A product that
// does not decode is left to the record check.

extension Store {
    func checkDiscoveryIndex<R: OrderedKeyValueReader>(
        _ tx: R, products: [ProductID: Product], report: (IntegrityProblem.Kind, String, String) -> Void
    ) throws {
        for p in products.values.sorted(by: { $0.id < $1.id }) {
            for key in Keys.productIndexEntries(of: p) where try tx.get(key) == nil {
                report(.missingIndexEntry, "product \(p.id)", Tuple.describe(key))
            }
        }
        for prefix in Keys.productIndexTables {
            try tx.scan(prefix) { pair in
                guard case .string(let id)? = (try? Tuple(unpacking: pair.key))?.elements.last else {
                    report(.corruptRecord, Tuple.describe(pair.key), "index key must end with a product id")
                    return
                }
                let isBacked = products[ProductID(id)].map { Keys.productIndexEntries(of: $0).contains(pair.key) } ?? false
                if !isBacked {
                    report(.danglingIndexEntry, Tuple.describe(pair.key), "product \(id) is missing or not indexed here")
                }
            }
        }
    }
}
