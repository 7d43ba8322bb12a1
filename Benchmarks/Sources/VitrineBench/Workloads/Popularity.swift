// 13. Skewed popularity: products drawn from a Zipf distribution (s = 1.0) instead of uniformly,
// for point reads (read transactions of 100 lookups, as row 2) and for durable single-thread
// checkouts (as row 6a). A few products take most of the traffic, as on a real showcase: their
// pages stay hot in every engine's cache, and checkouts rewrite the same few stock records.
//
// The generator is seeded per round, so every engine reads and buys the same sequence. Rank r
// (0 = most popular) is product 1 + r: ids are random bytes, so the popular products are spread
// over the key space, and the flash sale's hot product 0 is never drawn. Every answer is checked
// as in rows 2 and 6a (product record; orders, cart lines and conserved stock after the round).

import Foundation

/// Zipf-distributed ranks in 0..<n with exponent `s`: the cumulative weights once, then a binary
/// search per draw (no allocation per draw).
struct Zipf: Sendable {
    private let cumulative: [Double]

    init(n: Int, s: Double = 1.0) {
        var total = 0.0
        var sums = [Double]()
        sums.reserveCapacity(n)
        for rank in 1...max(1, n) {
            total += 1 / pow(Double(rank), s)
            sums.append(total)
        }
        cumulative = sums.map { $0 / total }
    }

    func next(_ rng: inout SplitMix64) -> Int {
        let u = Double(rng.next() >> 11) * 0x1p-53
        var low = 0, high = cumulative.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cumulative[mid] < u { low = mid + 1 } else { high = mid }
        }
        return low
    }
}

struct SkewedPopularity: Workload {
    let id = "13"
    let title = "Skewed popularity: Zipf-distributed products (s = 1.0) for point reads and durable 1-thread checkouts"
    static let reads = "Zipf point reads", checkouts = "durable Zipf checkout, 1 thread"
    let metrics =
        [
            Metric(name: SkewedPopularity.reads, unit: "reads/s", higherIsBetter: true),
            Metric(name: SkewedPopularity.checkouts, unit: "txn/s", higherIsBetter: true),
        ]
        + Latency.metrics(SkewedPopularity.checkouts)

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: .durable)
        let data = context.data
        let zipf = Zipf(n: data.productCount - 1)
        let perTransaction = context.size.readsPerTransaction, seconds = context.size.seconds
        return EngineRun(
            round: { round in
                var rng = SplitMix64(seed: 0xD000 + UInt64(round))
                let readRate = try throughput(seconds: seconds) {
                    try opened.session.read { tx in
                        for _ in 0..<perTransaction {
                            let i = 1 + zipf.next(&rng)
                            guard try tx.withValue(.products, data.productIDs[i], { Dataset.isProduct(i, $0) }) == true else {
                                throw BenchFailure("Zipf point read: product \(i) missing or wrong")
                            }
                        }
                    }
                    return perTransaction
                }
                let nonce = context.nextNonce()
                var orders = OrderSequence(nonce: nonce, thread: 0)
                var scratch = Scratch(forShowcases: false)
                var acknowledged: [UInt64] = [], latencies: [UInt64] = []
                acknowledged.reserveCapacity(1 << 16)
                latencies.reserveCapacity(1 << 16)
                let checkoutRate = try timedOperations(seconds: seconds, latencies: &latencies) {
                    let product = 1 + zipf.next(&rng), user = rng.below(data.userIDs.count)
                    try opened.session.write { tx in try Checkout.one(tx, data, product: product, user: user, &orders, &scratch) }
                    acknowledged.append(Sale.pack(product: product, user: user))
                }
                try Verify.checkouts(opened.session, context, engine: E.name, nonce: nonce, acknowledged: acknowledged)
                return [readRate, checkoutRate] + Latency.values(latencies)
            },
            finish: { opened.close() })
    }
}
