// 15. Price updates while showcase pages are read: 1 writer thread rewrites product records with
// a new price (relaxed, one product per transaction) while 2 reader threads load showcase pages
// (checked as in row 3), on the catalogue database; both throughputs, with latency.
//
// The writer keeps the last price it had acknowledged for each product; after the round every
// product it touched must hold exactly that price (and still be that product's record).

import Foundation

struct PriceUpdates: Workload {
    let id = "15"
    let readers = 2
    let title = "Price updates: 1 thread updates prices (relaxed) while 2 threads read showcase pages"
    static let reads = "showcase reads beside price updates, 2 threads", writes = "relaxed price updates beside showcase reads, 1 thread"
    let metrics =
        [Metric(name: PriceUpdates.reads, unit: "pages/s", higherIsBetter: true)] + Latency.metrics(PriceUpdates.reads)
        + [Metric(name: PriceUpdates.writes, unit: "txn/s", higherIsBetter: true)] + Latency.metrics(PriceUpdates.writes)

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: .relaxed)
        let data = context.data
        let readers = readers, seconds = context.size.seconds
        return EngineRun(
            round: { round in
                let stop = StopFlag()
                let pages = Tally(), updates = Tally()
                let readLatencies = LatencyLog(), writeLatencies = LatencyLog()
                let prices = PriceLog()
                let engine = opened.engine
                let elapsed = try runThreads(
                    readers + 1,
                    whileRunning: {
                        Thread.sleep(forTimeInterval: seconds)
                        stop.set()
                    },
                    prepare: { t in
                        let session = try engine.makeSession()
                        var rng = SplitMix64(seed: 0xF000 + UInt64(round) << 8 + UInt64(t))
                        if t < readers {
                            var scratch = Scratch()
                            return {
                                var count = 0
                                var mine: [UInt64] = []
                                mine.reserveCapacity(1 << 16)
                                defer { pages.add(count); readLatencies.add(mine) }
                                while !stop.isSet {
                                    let expert = rng.below(data.expertCount)
                                    let start = monotonicNanoseconds()
                                    _ = try session.read { tx in try Showcase.page(tx, data, expert: expert, &scratch) }
                                    mine.append(monotonicNanoseconds() - start)
                                    count += 1
                                }
                            }
                        }
                        var value = [UInt8]()
                        // 0: not updated this round (prices are >= 1); an array, so recording allocates nothing.
                        var last = [Int64](repeating: 0, count: data.productCount)
                        return {
                            var count = 0
                            var mine: [UInt64] = []
                            mine.reserveCapacity(1 << 16)
                            defer { updates.add(count); writeLatencies.add(mine); prices.set(last) }
                            while !stop.isSet {
                                let product = data.randomProduct(&rng)
                                let price = Int64(1 + rng.below(1_000_000))
                                data.productValue(product, into: &value)
                                value.withUnsafeMutableBytes { $0.storeBytes(of: price.littleEndian, toByteOffset: 4, as: Int64.self) }
                                let start = monotonicNanoseconds()
                                try session.write { tx in try tx.put(.products, data.productIDs[product], value) }
                                mine.append(monotonicNanoseconds() - start)
                                last[product] = price
                                count += 1
                            }
                        }
                    })
                try opened.session.read { tx in
                    for (product, price) in prices.get().enumerated() where price != 0 {
                        let stored = try tx.withValue(.products, data.productIDs[product]) { bytes -> Int64? in
                            Dataset.isProduct(product, bytes)
                                ? Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: Int64.self)) : nil
                        }
                        guard stored == price else {
                            throw BenchFailure("price of product \(product): acknowledged \(price), stored \(String(describing: stored))")
                        }
                    }
                }
                return [Double(pages.total) / elapsed] + Latency.values(readLatencies.all)
                    + [Double(updates.total) / elapsed] + Latency.values(writeLatencies.all)
            },
            finish: { opened.close() })
    }
}

/// The writer's last acknowledged price per product, handed to the round.
private final class PriceLog: @unchecked Sendable {
    private let lock = NSLock()
    private var value: [Int64] = []
    func set(_ prices: [Int64]) { lock.lock(); value = prices; lock.unlock() }
    func get() -> [Int64] { lock.lock(); defer { lock.unlock() }; return value }
}
