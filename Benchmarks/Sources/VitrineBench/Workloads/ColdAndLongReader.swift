// 11. Cold cache: point reads, showcase pages and a full scan right after the database's files
// were dropped from the OS page cache. 12. A long-running reader: one snapshot held open for the
// whole measurement while one thread checks out (relaxed), with the file growth it causes.
//
// Cold: each measurement closes the engine (its maps go: the kernel does not drop pages a process
// maps), syncs each file of the database and drops it from the page cache with
// posix_fadvise(POSIX_FADV_DONTNEED), opens the engine again (untimed) and runs a fixed number of
// operations, each answer checked as in rows 2-4. Not as root-free as dropping all caches, but it
// needs no privilege and touches only these files.
//
// Long reader: thread 0 opens a read transaction, reads the stock of 100 products, and holds the
// snapshot until the measurement ends, then reads them again: they must be unchanged (snapshot
// isolation), while thread 1 checks out random products. Reported: checkouts/s (with latency) and
// how much the database's files grew on disk over the round: what an engine keeps because a
// reader might still need it (SQLite's WAL cannot be checkpointed past the reader, LMDB and
// Vitrine cannot reuse pages freed after the reader's snapshot).

import Foundation

struct ColdReads: Workload {
    let id = "11"
    let title = "Cold cache: point reads, showcase pages, full scan after dropping the files from the page cache"
    let comparesConfigurations = false
    let metrics = [
        Metric(name: "cold point reads", unit: "reads/s", higherIsBetter: true),
        Metric(name: "cold showcase pages", unit: "pages/s", higherIsBetter: true),
        Metric(name: "cold full scan", unit: "rows/s", higherIsBetter: true),
    ]

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let directory = try context.mainDirectory(E.self)
        let data = context.data
        let reads = min(10_000, max(1_000, data.productCount / 10)), pages = min(1_000, max(100, data.expertCount / 10))
        func cold<T>(_ body: (E.Session) throws -> T) throws -> T {
            try dropFromPageCache(directory)
            let opened = try Opened(E.self, directory: directory, durability: .durable)
            defer { opened.close() }
            return try body(opened.session)
        }
        return EngineRun(
            round: { round in
                var rng = SplitMix64(seed: 0xB000 + UInt64(round))
                let readSeconds = try cold { session in
                    try measureSeconds {
                        try session.read { tx in
                            for _ in 0..<reads {
                                let i = rng.below(data.productCount)
                                guard try tx.withValue(.products, data.productIDs[i], { Dataset.isProduct(i, $0) }) == true else {
                                    throw BenchFailure("cold point read: product \(i) missing or wrong")
                                }
                            }
                        }
                    }
                }
                var scratch = Scratch()
                let pageSeconds = try cold { session in
                    try measureSeconds {
                        for _ in 0..<pages {
                            let expert = rng.below(data.expertCount)
                            _ = try session.read { tx in try Showcase.page(tx, data, expert: expert, &scratch) }
                        }
                    }
                }
                let scanSeconds = try cold { session in try measureSeconds { _ = try ProductScan.verified(session, data) } }
                return [Double(reads) / readSeconds, Double(pages) / pageSeconds, Double(data.productCount) / scanSeconds]
            },
            finish: {})
    }
}

/// Syncs every file in `directory` and asks the kernel to drop its cached pages.
func dropFromPageCache(_ directory: String) throws {
    for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
        let fd = open(directory + "/" + file, O_RDONLY)
        guard fd >= 0 else { continue }
        defer { close(fd) }
        _ = fsync(fd)
        let code = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        guard code == 0 else { throw BenchFailure("posix_fadvise(DONTNEED) on \(file) failed (\(code))") }
    }
}

struct LongReader: Workload {
    let id = "12"
    let title = "A long-running reader: one snapshot held for the whole measurement while 1 thread checks out (relaxed)"
    static let name = "relaxed checkout beside a long reader, 1 thread"
    let metrics =
        [Metric(name: LongReader.name, unit: "txn/s", higherIsBetter: true)] + Latency.metrics(LongReader.name)
        + [Metric(name: "file growth beside a long reader", unit: "MiB", higherIsBetter: false)]

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let directory = try context.mainDirectory(E.self)
        let opened = try Opened(E.self, directory: directory, durability: .relaxed)
        let data = context.data
        let seconds = context.size.seconds
        return EngineRun(
            round: { round in
                let nonce = context.nextNonce()
                let engine = opened.engine
                let holding = StopFlag(), stop = StopFlag()
                let sizeBefore = diskBytes(directory)
                let results = ResultBox()
                _ = try runThreads(2) { t in
                    let session = try engine.makeSession()
                    if t == 0 {
                        return {
                            try session.read { tx in
                                let first = try (1...100).map { try tx.withValue(.stock, data.productIDs[$0], { Dataset.int64($0) }) }
                                holding.set()
                                while !stop.isSet { usleep(1000) }
                                let last = try (1...100).map { try tx.withValue(.stock, data.productIDs[$0], { Dataset.int64($0) }) }
                                guard first == last else { throw BenchFailure("the long reader's snapshot changed under it") }
                            }
                        }
                    }
                    var rng = SplitMix64(seed: 0xC000 + UInt64(round))
                    var scratch = Scratch()
                    var orders = OrderSequence(nonce: nonce, thread: 0)
                    return {
                        defer { stop.set() }
                        while !holding.isSet { usleep(100) }
                        var acknowledged: [UInt64] = [], latencies: [UInt64] = []
                        acknowledged.reserveCapacity(1 << 16)
                        latencies.reserveCapacity(1 << 16)
                        let rate = try timedOperations(seconds: seconds, latencies: &latencies) {
                            let product = data.randomProduct(&rng), user = rng.below(data.userIDs.count)
                            try session.write { tx in try Checkout.one(tx, data, product: product, user: user, &orders, &scratch) }
                            acknowledged.append(Sale.pack(product: product, user: user))
                        }
                        results.set(rate, latencies, acknowledged)
                    }
                }
                let growth = Double(diskBytes(directory) - sizeBefore) / 1_048_576
                let (rate, latencies, acknowledged) = results.get()
                try Verify.checkouts(opened.session, context, engine: E.name, nonce: nonce, acknowledged: acknowledged)
                return [rate] + Latency.values(latencies) + [growth]
            },
            finish: { opened.close() })
    }
}

/// The writer thread's results, handed to the round.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (Double, [UInt64], [UInt64]) = (.nan, [], [])
    func set(_ rate: Double, _ latencies: [UInt64], _ acknowledged: [UInt64]) {
        lock.lock(); value = (rate, latencies, acknowledged); lock.unlock()
    }
    func get() -> (Double, [UInt64], [UInt64]) { lock.lock(); defer { lock.unlock() }; return value }
}
