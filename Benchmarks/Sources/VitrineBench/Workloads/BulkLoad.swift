// 1. Bulk load of the catalogue, random-order and in-order keys, and the file size afterwards.
//
// Each round loads every product into a fresh database, `loadBatch` products per transaction with
// relaxed durability, then makes it all durable in the main file (checkpoint / sync); the timing
// covers the loading and that final flush, not the open. The size is the disk space (allocated
// blocks) of every file of the database after close. In-order loads pass the `appending` hint (LMDB: `MDB_APPEND`).
// Each engine loads in its bulk mode where it has one (`BenchEngine.bulkLoad`): Vitrine's
// `bulkLoad(.unlogged)` logs nothing and checkpoints once, at the end (a crash before that takes
// the load back to its start; LMDB's `MDB_NOSYNC` load syncs nothing before the end either);
// LMDB never checkpoints; SQLite keeps its checkpoints (its faster way).

struct BulkLoad: Workload {
    let id = "1"
    let title = "Bulk load of the catalogue"
    let metrics = [
        Metric(name: "random-order load (relaxed)", unit: "products/s", higherIsBetter: true),
        Metric(name: "in-order load (relaxed)", unit: "products/s", higherIsBetter: true),
        Metric(name: "size on disk after random-order load", unit: "MiB", higherIsBetter: false),
        Metric(name: "size on disk after in-order load", unit: "MiB", higherIsBetter: false),
    ]

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let products = Double(context.data.productCount)
        func load(inOrder: Bool) throws -> (rate: Double, mib: Double) {
            let directory = try context.directory(E.name, "load", fresh: true)
            defer { context.removeDirectory(directory) }
            let opened = try Opened(E.self, directory: directory, durability: .relaxed)
            let seconds = try measureSeconds {
                try opened.engine.bulkLoad {
                    try context.loadProducts(
                        opened.session, order: inOrder ? context.data.sortedProducts : nil,
                        appending: inOrder)
                }
                try opened.engine.checkpoint()
            }
            opened.close()
            return (products / seconds, Double(diskBytes(directory)) / 1_048_576)
        }
        return EngineRun(
            round: { _ in
                let random = try load(inOrder: false)
                let sorted = try load(inOrder: true)
                return [random.rate, sorted.rate, random.mib, sorted.mib]
            },
            finish: {})
    }
}
