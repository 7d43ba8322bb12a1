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
    let metrics = [Metric(name: "add-to-cart", unit: "txn/s", higherIsBetter: true)]

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: .durable)
        let data = context.data
        return EngineRun(
            round: { round in
                var rng = SplitMix64(seed: 0x5000 + UInt64(round))
                var scratch = Scratch()
                let rate = try throughput(seconds: context.size.seconds) {
                    let product = data.randomProduct(&rng), user = rng.below(data.userIDs.count)
                    try opened.session.write { tx in try AddToCart.one(tx, data, product: product, user: user, &scratch) }
                    return 1
                }
                return [rate]
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
    var metrics: [Metric] { [Metric(name: "checkout, \(threads) thread\(threads == 1 ? "" : "s")", unit: "txn/s", higherIsBetter: true)] }

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
                    let rate = try throughput(seconds: seconds) {
                        let product = data.randomProduct(&rng), user = rng.below(data.userIDs.count)
                        try opened.session.write { tx in
                            try Checkout.one(tx, data, product: product, user: user, &orders, &scratch)
                        }
                        return 1
                    }
                    return [rate]
                }
                let stop = StopFlag()
                let done = Tally()
                let engine = opened.engine
                let elapsed = try runThreads(threads, whileRunning: {
                    Thread.sleep(forTimeInterval: seconds)
                    stop.set()
                }, prepare: { t in
                    let session = try engine.makeSession()
                    var rng = SplitMix64(seed: 0x6100 + UInt64(round) << 8 + UInt64(t))
                    var scratch = Scratch()
                    var orders = OrderSequence(nonce: nonce, thread: UInt32(t))
                    return {
                        var count = 0
                        defer { done.add(count) }
                        while !stop.isSet {
                            let product = data.randomProduct(&rng), user = rng.below(data.userIDs.count)
                            try session.write { tx in
                                try Checkout.one(tx, data, product: product, user: user, &orders, &scratch)
                            }
                            count += 1
                        }
                    }
                })
                return [Double(done.total) / elapsed]
            },
            finish: { opened.close() })
    }
}

struct FlashSale: Workload {
    let id = "7"
    let title = "Flash sale: 8 threads check out one hot product until it sells out"
    let metrics = [Metric(name: "flash sale", unit: "units/s", higherIsBetter: true)]

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: .durableConcurrent)
        let data = context.data
        let threads = context.size.threads, stock = context.size.flashSaleStock
        let hot = Dataset.hotProduct
        return EngineRun(
            round: { round in
                var stockValue = [UInt8]()
                Dataset.int64Value(Int64(stock), into: &stockValue)
                try opened.session.write { tx in try tx.put(.stock, data.productIDs[hot], stockValue) }

                let nonce = context.nextNonce()
                let sold = Tally()
                let engine = opened.engine
                let elapsed = try runThreads(threads) { t in
                    let session = try engine.makeSession()
                    var rng = SplitMix64(seed: 0x7000 + UInt64(round) << 8 + UInt64(t))
                    var scratch = Scratch()
                    var orders = OrderSequence(nonce: nonce, thread: UInt32(t))
                    return {
                        var count = 0
                        defer { sold.add(count) }
                        while true {
                            let user = rng.below(data.userIDs.count)
                            do {
                                try session.write { tx in
                                    try Checkout.one(tx, data, product: hot, user: user, &orders, &scratch)
                                }
                            } catch is SoldOut {
                                return
                            }
                            count += 1
                        }
                    }
                }

                // Units sold must equal the stock exactly: no oversell, no lost sale.
                let (left, orders) = try opened.session.read { tx in
                    (try tx.withValue(.stock, data.productIDs[hot], { Dataset.int64($0) }) ?? nil,
                     try Checkout.countOrders(tx, nonce: nonce))
                }
                guard sold.total == stock, left == 0, orders == stock else {
                    throw BenchFailure("flash sale on \(E.name): stock \(stock), acknowledged \(sold.total), "
                        + "orders stored \(orders), units left \(left.map(String.init) ?? "none")")
                }
                return [Double(stock) / elapsed]
            },
            finish: { opened.close() })
    }
}
