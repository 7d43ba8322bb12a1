// 9. Mixed: reader threads load showcase pages while writer threads check out (durable, group
// commit where the engine has it), for the configured time. Both throughputs are reported.
// Row 9 keeps to the machine's cores (a reader per core and one writer, who mostly waits on the
// disk); row 9b is the oversubscribed form (8 readers + 2 writers), where the scheduler decides
// much of the result. SQLite's busy-handler calls and WAL size are logged per round, to show
// what its variance there comes from.

import Foundation

struct Mixed: Workload {
    let id: String
    let readers: Int
    let writers: Int
    var title: String {
        "Mixed: \(readers) threads read showcases while \(writers) thread\(writers == 1 ? "" : "s") check\(writers == 1 ? "s" : "") out (durable)"
    }
    var metrics: [Metric] {
        let who = "\(readers)R+\(writers)W"
        let reads = "mixed \(who) (durable): showcase reads", checkouts = "mixed \(who) (durable): checkouts"
        return [Metric(name: reads, unit: "pages/s", higherIsBetter: true)] + Latency.metrics(reads)
            + [Metric(name: checkouts, unit: "txn/s", higherIsBetter: true)] + Latency.metrics(checkouts)
    }

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let opened = try Opened(E.self, directory: context.mainDirectory(E.self), durability: .durableConcurrent)
        let data = context.data
        let readers = readers, seconds = context.size.seconds
        return EngineRun(
            round: { round in
                let nonce = context.nextNonce()
                let stop = StopFlag()
                let pages = Tally(), checkouts = Tally()
                let sales = SalesLog()
                let readLatencies = LatencyLog(), writeLatencies = LatencyLog()
                let engine = opened.engine
                let before = engine.diagnostics()
                let elapsed = try runThreads(
                    readers + self.writers,
                    whileRunning: {
                        Thread.sleep(forTimeInterval: seconds)
                        stop.set()
                    },
                    prepare: { t in
                        let session = try engine.makeSession()
                        var rng = SplitMix64(seed: 0x9000 + UInt64(round) << 8 + UInt64(t))
                        var scratch = Scratch()
                        if t < readers {
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
                        var orders = OrderSequence(nonce: nonce, thread: UInt32(t))
                        return {
                            var count = 0
                            var acknowledged: [UInt64] = [], mine: [UInt64] = []
                            acknowledged.reserveCapacity(1 << 14)
                            mine.reserveCapacity(1 << 14)
                            defer { checkouts.add(count); sales.add(acknowledged); writeLatencies.add(mine) }
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
                if let before, let after = engine.diagnostics() {
                    log(
                        "    \(E.name): busy-handler calls \(after.busyCalls - before.busyCalls), "
                            + "WAL \(format(Double(after.logBytes) / 1_048_576, unit: "MiB")) MiB after the round")
                }
                try Verify.checkouts(opened.session, context, engine: E.name, nonce: nonce, acknowledged: sales.all)
                return [Double(pages.total) / elapsed] + Latency.values(readLatencies.all)
                    + [Double(checkouts.total) / elapsed] + Latency.values(writeLatencies.all)
            },
            finish: { opened.close() })
    }
}
