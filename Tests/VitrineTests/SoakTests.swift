// The soak (issue 5, "Processes and load"): the checkout workload for a fixed number of
// operations from 2 writer threads against an engine-backed store, while 4 reader threads page
// through showcases and the interest feed and read carts. Sampled meanwhile: resident memory
// (/proc/self/statm) and the log (logical bytes from statistics(), and the -wal file's size).
// Asserts: memory stays flat (the last quarter's peak RSS is at most the first quarter's plus a
// margin), the log stays bounded (checkpoints keep happening under readers), and at the end the
// domain invariants and the engine's verify() are clean.
//
// Knobs: VITRINE_SOAK_OPS (default 3000), VITRINE_SOAK_DURABILITY (full/grouped/relaxed,
// default grouped), VITRINE_SOAK_CHECKPOINT_KIB (the auto-checkpoint threshold, default 1024, so
// that a small run checkpoints many times). Foundation `Thread`s, not GCD: blocking work on a
// 2-core machine would starve the global queues. Prints one summary line:
//   soak: 3000 ops (... checkouts), 4 readers: ... reads, peak RSS ... MiB (first quarter ..., last quarter ...), max log ... KiB ...

import Foundation
import Synchronization
import Testing
import VitrineStore
@_spi(Testing) import VitrineTestSupport

@testable import Vitrine

@Suite(.serialized) struct SoakTests {
    struct Sample {
        var opsDone: Int
        var rss: Int64
        var logBytes: Int64
        var walBytes: Int64
        var at = Date()
    }

    /// What the threads share.
    final class State: Sendable {
        let claimed = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let checkouts = Atomic<Int>(0)
        let reads = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let failures = Mutex<[String]>([])
        let samples = Mutex<[Sample]>([])
        @Sendable func fail(_ message: String) { failures.withLock { if $0.count < 20 { $0.append(message) } } }
    }

    static func residentBytes() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int64(fields[1]) else { return 0 }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// Runs `body` on a new Foundation thread; the returned semaphore is signalled when it ends.
    static func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            done.signal()
        }
        thread.name = name
        thread.stackSize = 8 << 20
        thread.start()
        return done
    }

    @Test func soakKeepsMemoryFlatAndTheLogBounded() throws {
        let env = ProcessInfo.processInfo.environment
        let totalOps = max(100, Int(env["VITRINE_SOAK_OPS"] ?? "") ?? 3000)
        let durability = Durability(rawValue: env["VITRINE_SOAK_DURABILITY"] ?? "") ?? .grouped
        let checkpointBytes = max(64, Int(env["VITRINE_SOAK_CHECKPOINT_KIB"] ?? "") ?? 1024) << 10
        let seed = UInt64(env["VITRINE_SOAK_SEED"] ?? "20261105") ?? UInt64.random(in: 1...UInt64(UInt32.max))

        let dir = FileManager.default.temporaryDirectory.path + "/vitrine-soak-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/soak.db"
        var options = DatabaseOptions(durability: durability, checkpointLogBytes: checkpointBytes)
        options.logGrowthBytes = 256 << 10
        let growth = options.logGrowthBytes
        let engine = try EngineStore(path: path, options: options)
        let database = engine.database
        defer { database.close() }
        let store = try Store(backend: engine)

        // A catalogue like the workload's: small, some scarce stock.
        var catalogue = CatalogueGenerator(seed: seed).catalogue(
            CatalogueSize(experts: 8, products: 48, recommendations: 96, users: 16, favouritesPerUser: 0))
        for i in catalogue.products.indices where i % 3 == 0 { catalogue.products[i].initialStock = Int64(1 + i % 4) }
        try store.importCatalogue(catalogue, batchSize: 1 << 20)
        let recs = catalogue.recommendations.map { (product: $0.product, recommendation: $0.id) }
        let products = Array(Set(recs.map(\.product))).sorted()
        let users = catalogue.users.map(\.id)
        let experts = catalogue.experts.map(\.id)
        #expect(!recs.isEmpty && !users.isEmpty && !experts.isEmpty)

        let state = State()
        let fail = state.fail

        let writerCount = 2, readerCount = 4
        var finished: [DispatchSemaphore] = []
        for w in 0..<writerCount {
            finished.append(
                Self.spawn("soak-writer-\(w)") {
                    var rng = SeededRandom(seed: seed &+ UInt64(w + 1) &* 0x9E37_79B9_7F4A_7C15)
                    var placed: [OrderID] = []
                    var n = 0
                    while state.claimed.wrappingAdd(1, ordering: .relaxed).oldValue < totalOps {
                        n += 1
                        let user = users[Int.random(in: 0..<users.count, using: &rng)]
                        do {
                            switch Int.random(in: 0..<100, using: &rng) {
                            case 0..<45:
                                let r = recs[Int.random(in: 0..<recs.count, using: &rng)]
                                try store.addToCart(
                                    .user(user), product: r.product, recommendation: r.recommendation,
                                    quantity: Int64.random(in: 1...3, using: &rng))
                            case 45..<70:
                                let result = try store.checkout(user: user, idempotencyKey: "soak-\(w)-\(n)", acceptPriceChanges: true)
                                placed.append(result.order.id)
                                state.checkouts.add(1, ordering: .relaxed)
                            case 70..<80:
                                try store.restock(
                                    products[Int.random(in: 0..<products.count, using: &rng)],
                                    units: Int64.random(in: 1...10, using: &rng), restockKey: "soak-r-\(w)-\(n)")
                            default:
                                if !placed.isEmpty {
                                    try store.cancelOrder(placed.remove(at: Int.random(in: 0..<placed.count, using: &rng)))
                                }
                            }
                        } catch let error as VitrineError {
                            if case .corruptRecord = error { fail("writer \(w): \(error)") }
                        } catch {
                            fail("writer \(w): \(error)")
                        }
                        state.done.add(1, ordering: .relaxed)
                    }
                })
        }
        var readersFinished: [DispatchSemaphore] = []
        for r in 0..<readerCount {
            readersFinished.append(
                Self.spawn("soak-reader-\(r)") {
                    var rng = SeededRandom(seed: seed ^ UInt64(100 + r))
                    while !state.stop.load(ordering: .relaxed) {
                        do {
                            switch Int.random(in: 0..<3, using: &rng) {
                            case 0:
                                // A whole showcase, page by page.
                                let expert = experts[Int.random(in: 0..<experts.count, using: &rng)]
                                var cursor: PageCursor? = nil
                                var pages = 0
                                repeat {
                                    let page = try store.showcase(of: expert, after: cursor, limit: 5)
                                    for e in page.items where e.product.stock < 0 || e.recommendation.quantity < 0 {
                                        fail("reader \(r): negative stock or quantity in showcase of \(expert): \(e)")
                                    }
                                    cursor = page.next
                                    pages += 1
                                } while cursor != nil && pages < 100
                            case 1:
                                _ = try store.interestFeed(for: users[Int.random(in: 0..<users.count, using: &rng)], limit: 20)
                            default:
                                let cart = try store.cart(.user(users[Int.random(in: 0..<users.count, using: &rng)]))
                                for item in cart.items where item.line.quantity <= 0 {
                                    fail("reader \(r): cart line with quantity \(item.line.quantity)")
                                }
                            }
                            state.reads.add(1, ordering: .relaxed)
                        } catch {
                            fail("reader \(r): \(error)")
                        }
                    }
                })
        }
        let samplerDone = Self.spawn("soak-sampler") {
            while !state.stop.load(ordering: .relaxed) {
                let stats = try? database.statistics()
                let sample = Sample(
                    opsDone: state.done.load(ordering: .relaxed), rss: Self.residentBytes(),
                    logBytes: stats?.logBytes ?? -1, walBytes: Self.fileSize(path + "-wal"))
                state.samples.withLock { $0.append(sample) }
                usleep(20_000)
            }
        }
        let started = Date()
        for f in finished { f.wait() }
        let seconds = Date().timeIntervalSince(started)
        state.stop.store(true, ordering: .relaxed)
        for f in readersFinished { f.wait() }
        samplerDone.wait()

        for message in state.failures.withLock({ $0 }) { Issue.record(Comment(rawValue: message)) }
        let all = state.samples.withLock { $0 }
        #expect(all.count >= 4, "only \(all.count) samples")
        let firstQuarter = all.filter { $0.opsDone < totalOps / 4 }
        let lastQuarter = all.filter { $0.opsDone >= totalOps * 3 / 4 }
        let firstPeak = firstQuarter.map(\.rss).max() ?? 0
        let lastPeak = lastQuarter.map(\.rss).max() ?? 0
        let peak = all.map(\.rss).max() ?? 0
        let maxLog = all.map(\.logBytes).max() ?? 0
        let maxWal = all.map(\.walBytes).max() ?? 0
        let stats = try database.statistics()
        let margin: Int64 = 64 << 20
        if !firstQuarter.isEmpty && !lastQuarter.isEmpty {
            #expect(
                lastPeak <= firstPeak + margin,
                "RSS grew: first quarter peak \(firstPeak >> 20) MiB, last quarter peak \(lastPeak >> 20) MiB")
        }
        // One commit's record on top of the threshold (the checkpoint runs after the commit
        // that crosses it), and the file's growth step (it doubles) on top of that.
        #expect(maxLog <= Int64(checkpointBytes) + (1 << 20), "log reached \(maxLog) bytes, threshold \(checkpointBytes)")
        #expect(maxWal <= 2 * Int64(checkpointBytes) + 2 * Int64(growth) + (1 << 20), "-wal file reached \(maxWal) bytes")

        let problems = try store.checkIntegrity()
        #expect(problems.isEmpty, "integrity: \(problems.prefix(5))")
        let report = try database.verify()
        #expect(report.isClean, "verify: \(report)")

        // Writer throughput in the first and the last quarter (ops/s), and the carts left behind
        // (out-of-stock checkouts leave their carts full), to tell a slowdown with size apart.
        func rate(_ q: [Sample]) -> Int {
            guard let a = q.first, let b = q.last, b.at > a.at else { return 0 }
            return Int(Double(b.opsDone - a.opsDone) / b.at.timeIntervalSince(a.at))
        }
        let cartLines = try users.map { try store.cart(.user($0)).items.count }
        let mib = { (b: Int64) in String(format: "%.1f", Double(b) / 1_048_576) }
        print(
            "soak: \(totalOps) ops (\(state.checkouts.load(ordering: .relaxed)) checkouts, \(durability), 2 writers) in "
                + "\(String(format: "%.1f", seconds)) s, 4 readers: \(state.reads.load(ordering: .relaxed)) reads, "
                + "peak RSS \(mib(peak)) MiB (first quarter \(mib(firstPeak)), last quarter \(mib(lastPeak))), "
                + "max log \(maxLog >> 10) KiB (checkpoint at \(checkpointBytes >> 10) KiB, -wal file max \(maxWal >> 10) KiB), "
                + "writer ops/s first quarter \(rate(firstQuarter)), last quarter \(rate(lastQuarter)), "
                + "cart lines max \(cartLines.max() ?? 0), \(all.count) samples, data file \(mib(stats.fileBytes)) MiB, checkpoints \(stats.checkpointSequence), "
                + "integrity ok, verify \(report.isClean ? "ok" : "FAILED") (seed \(seed))")
    }
}
