// 2. Random point reads, 3. showcase pages, 4. full scan: one thread on the catalogue database.
//
// Every engine gets the same random sequence in the same round (the generator is seeded by the
// round), and every value read is checked, so a wrong answer fails the run instead of looking fast.

import Foundation

struct PointReads: Workload {
    let id = "2"
    let comparesConfigurations = false
    let title = "Random point reads of products"
    let metrics = [Metric(name: "point reads", unit: "reads/s", higherIsBetter: true)]

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: .durable)
        let data = context.data
        let perTransaction = context.size.readsPerTransaction
        return EngineRun(
            round: { round in
                var rng = SplitMix64(seed: 0x2000 + UInt64(round))
                let rate = try throughput(seconds: context.size.seconds) {
                    try opened.session.read { tx in
                        for _ in 0..<perTransaction {
                            let i = rng.below(data.productCount)
                            guard try tx.withValue(.products, data.productIDs[i], { Dataset.isProduct(i, $0) }) == true else {
                                throw BenchFailure("point read: product \(i) missing or wrong")
                            }
                        }
                    }
                    return perTransaction
                }
                return [rate]
            },
            finish: { opened.close() })
    }
}

struct ShowcasePages: Workload {
    let id = "3"
    let comparesConfigurations = false
    let title = "Showcase pages (20 newest recommendations of a random expert, with their products)"
    let metrics = [Metric(name: "showcase pages", unit: "pages/s", higherIsBetter: true)]

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: .durable)
        let data = context.data
        return EngineRun(
            round: { round in
                var rng = SplitMix64(seed: 0x3000 + UInt64(round))
                var scratch = Scratch()
                let rate = try throughput(seconds: context.size.seconds) {
                    let expert = rng.below(data.expertCount)
                    _ = try opened.session.read { tx in try Showcase.page(tx, data, expert: expert, &scratch) }
                    return 1
                }
                return [rate]
            },
            finish: { opened.close() })
    }
}

struct FullScan: Workload {
    let id = "4"
    let comparesConfigurations = false
    let title = "Full scan of all products"
    let metrics = [Metric(name: "full scan", unit: "rows/s", higherIsBetter: true)]

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: .durable)
        let data = context.data
        return EngineRun(
            round: { _ in
                let rate = try throughput(seconds: context.size.seconds) {
                    try ProductScan.verified(opened.session, data)
                }
                return [rate]
            },
            finish: { opened.close() })
    }
}

enum ProductScan {
    /// One read transaction scanning every product in key order; each row's key must be the
    /// data set's next id and its value that product's record, and no row may be missing or
    /// extra. Returns the rows seen.
    static func verified<S: BenchSession>(_ session: S, _ data: Dataset) throws -> Int {
        let expected = data.productCount
        var rows = 0, wrongAt = -1
        try data.sortedIDBytes.withUnsafeBytes { ids in
            try data.sortedProducts.withUnsafeBufferPointer { order in
                try session.read { tx in
                    try tx.scan(.products, from: []) { key, value in
                        guard rows < expected, key.count == 16,
                            memcmp(key.baseAddress!, ids.baseAddress! + rows &* 16, 16) == 0,
                            Dataset.isProduct(order[rows], value)
                        else { wrongAt = rows; return false }
                        rows += 1
                        return true
                    }
                }
            }
        }
        guard wrongAt < 0, rows == expected else {
            throw BenchFailure(
                wrongAt >= 0
                    ? "full scan: row \(wrongAt) is not the expected product"
                    : "full scan: \(rows) rows, expected \(expected)")
        }
        return rows
    }
}
