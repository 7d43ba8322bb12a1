// 5. Durable add-to-cart, 6. durable checkout (1 and N threads), 7. flash sale, 8. relaxed
// checkout: write transactions on the catalogue database, one commit per operation.
//
// Durable single-threaded runs open engines with `.durable`, multi-threaded ones with
// `.durableConcurrent` (Vitrine's group commit); relaxed runs with `.relaxed`. Products and users
// are drawn at random (same sequence for every engine in a round); the flash sale hammers one.

import Foundation

struct DurableAddToCart: Workload {
    let id = "5"
    let title = "Durable add-to-cart, 1 thread"
    let metrics =
        [Metric(name: "durable add-to-cart, 1 thread", unit: "txn/s", higherIsBetter: true)]
        + Latency.metrics("durable add-to-cart, 1 thread")

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: .durable)
        let data = context.data
        return EngineRun(
            round: { round in
                var rng = SplitMix64(seed: 0x5000 + UInt64(round))
                var scratch = Scratch()
                var acknowledged: [UInt64] = [], latencies: [UInt64] = []
                acknowledged.reserveCapacity(1 << 16)
                latencies.reserveCapacity(1 << 16)
                let rate = try timedOperations(seconds: context.size.seconds, latencies: &latencies) {
                    let product = data.randomProduct(&rng), user = rng.below(data.userIDs.count)
                    try opened.session.write { tx in try AddToCart.one(tx, data, product: product, user: user, &scratch) }
                    acknowledged.append(Sale.pack(product: product, user: user))
                }
                try Verify.cartLines(opened.session, context, engine: E.name, acknowledged: acknowledged)
                return [rate] + Latency.values(latencies)
            },
            finish: { opened.close() })
    }
}

/// Checkout of random products for `threads` threads, for the configured time, at `durability`.
struct CheckoutThroughput: Workload {
    let id: String
    let title: String
    let threads: Int
    let durability: Durability
    var metrics: [Metric] {
        let mode = durability == .relaxed ? "relaxed" : "durable"
        let name = "\(mode) checkout, \(threads) thread\(threads == 1 ? "" : "s")"
        let rate = Metric(name: name, unit: "txn/s", higherIsBetter: true)
        guard threads > 1 else { return [rate] + Latency.metrics(name) }
        return [rate] + Latency.metrics(name)
            + [Metric(name: name + ": callers per commit", unit: "mean", higherIsBetter: true, followsPrevious: true)]
    }

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: durability)
        let data = context.data
        let threads = threads, seconds = context.size.seconds
        return EngineRun(
            round: { round in
                let nonce = context.nextNonce()
                if threads == 1 {
                    var rng = SplitMix64(seed: 0x6000 + UInt64(round))
                    var scratch = Scratch()
                    var orders = OrderSequence(nonce: nonce, thread: 0)
                    var acknowledged: [UInt64] = [], latencies: [UInt64] = []
                    acknowledged.reserveCapacity(1 << 16)
                    latencies.reserveCapacity(1 << 16)
                    let rate = try timedOperations(seconds: seconds, latencies: &latencies) {
                        let product = data.randomProduct(&rng), user = rng.below(data.userIDs.count)
                        try opened.session.write { tx in
                            try Checkout.one(tx, data, product: product, user: user, &orders, &scratch)
                        }
                        acknowledged.append(Sale.pack(product: product, user: user))
                    }
                    try Verify.checkouts(opened.session, context, engine: E.name, nonce: nonce, acknowledged: acknowledged)
                    return [rate] + Latency.values(latencies)
                }
                let stop = StopFlag()
                let done = Tally()
                let latencies = LatencyLog()
                let sales = SalesLog()
                let engine = opened.engine
                let before = engine.batchCounts()
                let elapsed = try runThreads(
                    threads,
                    whileRunning: {
                        Thread.sleep(forTimeInterval: seconds)
                        stop.set()
                    },
                    prepare: { t in
                        let session = try engine.makeSession()
                        var rng = SplitMix64(seed: 0x6100 + UInt64(round) << 8 + UInt64(t))
                        var scratch = Scratch()
                        var orders = OrderSequence(nonce: nonce, thread: UInt32(t))
                        return {
                            var count = 0
                            var mine: [UInt64] = [], acknowledged: [UInt64] = []
                            mine.reserveCapacity(1 << 14)
                            acknowledged.reserveCapacity(1 << 14)
                            defer { done.add(count); latencies.add(mine); sales.add(acknowledged) }
                            while !stop.isSet {
                                let product = data.randomProduct(&rng), user = rng.below(data.userIDs.count)
                                let start = monotonicNanoseconds()
                                try session.write { tx in
                                    try Checkout.one(tx, data, product: product, user: user, &orders, &scratch)
                                }
                                mine.append(monotonicNanoseconds() - start)
                                acknowledged.append(Sale.pack(product: product, user: user))
                                count += 1
                            }
                        }
                    })
                let after = engine.batchCounts()
                try Verify.checkouts(opened.session, context, engine: E.name, nonce: nonce, acknowledged: sales.all)
                var perCommit = 1.0
                if let before, let after, after.batches > before.batches {
                    let batched = after.callers - before.callers
                    perCommit = Double(done.total) / Double(after.batches - before.batches + max(0, done.total - batched))
                }
                return [Double(done.total) / elapsed] + Latency.values(latencies.all) + [perCommit]
            },
            finish: { opened.close() })
    }
}

/// A flash sale: `callers` concurrent callers check out one hot product until it sells out.
/// Each engine serves them in its best form (`BenchEngine.runCrowd`): SQLite and LMDB one thread
/// per caller behind their writer lock; Vitrine 8 threads on its contended-write path, or a crowd
/// of Swift tasks on `batchWrite`. Reported: units/s, each checkout's latency as its caller saw it
/// (p50, p99, p99.9), and callers per commit (1 where each caller's transaction commits alone).
struct FlashSale: Workload {
    let id: String
    let callers: Int
    var title: String { "Flash sale: \(callers) concurrent callers check out one hot product until it sells out" }
    var metrics: [Metric] {
        let who = callers == 8 ? "8 threads" : "\(callers) callers"
        let name = "durable flash sale, \(who)"
        return [Metric(name: name, unit: "units/s", higherIsBetter: true)] + Latency.metrics(name)
            + [Metric(name: name + ": callers per commit", unit: "mean", higherIsBetter: true, followsPrevious: true)]
    }

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: .durableConcurrent)
        let data = context.data
        let callers = callers, stock = context.size.flashSaleStock
        let hot = Dataset.hotProduct
        return EngineRun(
            round: { round in
                var stockValue = [UInt8]()
                Dataset.int64Value(Int64(stock), into: &stockValue)
                try opened.session.write { tx in try tx.put(.stock, data.productIDs[hot], stockValue) }

                let nonce = context.nextNonce()
                let before = opened.engine.batchCounts()
                let (elapsed, latencies) = try opened.engine.runCrowd(callers) { tx, caller, index in
                    var orders = OrderSequence(nonce: nonce, thread: UInt32(caller), next: index)
                    var scratch = Scratch(forShowcases: false)
                    let user = Int((UInt64(caller) &* 0x9E37_79B9 &+ index) % UInt64(data.userIDs.count))
                    try Checkout.one(tx, data, product: hot, user: user, &orders, &scratch)
                }
                let after = opened.engine.batchCounts()

                // Units sold must equal the stock exactly: no oversell, no lost sale.
                let (left, orders) = try opened.session.read { tx in
                    (
                        try tx.withValue(.stock, data.productIDs[hot], { Dataset.int64($0) }) ?? nil,
                        try Checkout.countOrders(tx, nonce: nonce)
                    )
                }
                guard latencies.count == stock, left == 0, orders == stock else {
                    throw BenchFailure(
                        "flash sale on \(E.name): stock \(stock), acknowledged \(latencies.count), "
                            + "orders stored \(orders), units left \(left.map(String.init) ?? "none")")
                }
                var perCommit = 1.0
                if let before, let after, after.batches > before.batches {
                    // Callers served by batches (sold-out refusals included) per batch commit;
                    // contended callers that took the plain path count as commits of one.
                    let batched = after.callers - before.callers
                    let total = stock + callers
                    perCommit = Double(total) / Double(after.batches - before.batches + max(0, total - batched))
                }
                return [Double(stock) / elapsed] + Latency.values(latencies) + [perCommit]
            },
            finish: { opened.close() })
    }
}
