import Foundation
import Synchronization
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// The batch commit path: many callers' closures in one transaction, each in its own savepoint.
/// Sizes: VITRINE_BATCH_OPS (model test), VITRINE_FLASH_TASKS (flash sale); seed: VITRINE_SEED.
@Suite struct BatchTests {
    struct SoldOut: Error, Equatable {}
    struct Refused: Error, Equatable {}

    static func u64(_ v: [UInt8]?) -> UInt64 {
        guard let v, v.count == 8 else { return 0 }
        return v.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }
    static func bytes64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    /// Takes one unit of stock and records an order, or throws `SoldOut`.
    static func buy(_ tx: WriteTransaction, buyer: String) throws -> UInt64 {
        let t = try tx.createTable("shop")
        let stock = u64(try t.get(bytes("stock")))
        guard stock > 0 else { throw SoldOut() }
        try t.put(bytes("stock"), bytes64(stock - 1))
        try t.put(bytes("order/" + buyer), bytes64(stock))
        return stock
    }

    static func setUp(_ db: Database, stock: UInt64) throws {
        try db.write { tx in try tx.createTable("shop").put(bytes("stock"), bytes64(stock)) }
    }

    static func orders(_ db: Database) throws -> (stock: UInt64, orders: Int) {
        try db.read { tx in
            let t = try tx.table("shop")
            let stock = u64(try t?.get(bytes("stock")))
            let orders = try t?.range(from: bytes("order/"), to: bytes("order0")).count ?? 0
            return (stock, orders)
        }
    }

    @Test(arguments: [Durability.full, .grouped, .relaxed])
    func flashSaleThreadsSellExactlyTheStock(durability: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: durability))
        let stock: UInt64 = 300
        try Self.setUp(db, stock: stock)
        let sold = Atomic<Int>(0), refused = Atomic<Int>(0), other = Atomic<Int>(0)
        let group = ThreadGroup()
        group.spawn(16) { thread in
            for i in 0..<40 {
                do {
                    _ = try db.batchWrite { tx in try Self.buy(tx, buyer: "\(thread)-\(i)") }
                    sold.add(1, ordering: .relaxed)
                } catch is SoldOut {
                    refused.add(1, ordering: .relaxed)
                } catch {
                    other.add(1, ordering: .relaxed)
                }
            }
        }
        group.join()
        let stats = db.batchStatistics()
        #expect(sold.load(ordering: .relaxed) == Int(stock))
        #expect(refused.load(ordering: .relaxed) == 16 * 40 - Int(stock))
        #expect(other.load(ordering: .relaxed) == 0)
        let after = try Self.orders(db)
        #expect(after.stock == 0 && after.orders == Int(stock))
        #expect(stats.closures == 16 * 40)
        #expect(try db.verify().isClean)
        db.close()
        // Reopened: every acknowledged order is there.
        let again = try Database(path: dir.file())
        let reopened = try Self.orders(again)
        #expect(reopened.stock == 0 && reopened.orders == Int(stock))
        again.close()
        print(
            "batch flash sale (\(durability)): 640 callers, \(stock) sold, \(stats.batches) batches, mean \(stats.meanSize), p99 \(stats.p99Size)"
        )
    }

    @Test func flashSaleTasksSellExactlyTheStock() async throws {
        let tasks = envInt("VITRINE_FLASH_TASKS", default: 512)
        let stock = UInt64(tasks / 3)
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: .grouped))
        try Self.setUp(db, stock: stock)
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<tasks {
                group.addTask {
                    do {
                        _ = try await db.batchWrite { tx in try Self.buy(tx, buyer: "task-\(i)") }
                        return true
                    } catch is SoldOut {
                        return false
                    }
                }
            }
            var r: [Bool] = []
            for try await o in group { r.append(o) }
            return r
        }
        #expect(outcomes.filter { $0 }.count == Int(stock))
        let after = try Self.orders(db)
        #expect(after.stock == 0 && after.orders == Int(stock))
        let stats = db.batchStatistics()
        #expect(stats.closures == tasks)
        print(
            "batch flash sale (async): \(tasks) tasks, \(stock) sold, \(stats.batches) batches, mean \(stats.meanSize), p99 \(stats.p99Size)"
        )
        db.close()
    }

    /// One operation of the model test: its result, or the error it threw, as a string.
    enum Op: Sendable {
        case deposit(String, UInt64)
        case withdraw(String, UInt64) // throws Refused when short
        case transfer(String, String, UInt64)
        case close(String) // deletes the account
        case audit // sums every account

        func run(_ tx: WriteTransaction) throws -> String {
            let t = try tx.createTable("bank")
            func balance(_ a: String) throws -> UInt64 { BatchTests.u64(try t.get(bytes(a))) }
            switch self {
            case .deposit(let a, let n):
                try t.put(bytes(a), BatchTests.bytes64(try balance(a) + n))
                return "ok \(try balance(a))"
            case .withdraw(let a, let n):
                let b = try balance(a)
                try t.put(bytes("log/" + a), BatchTests.bytes64(n)) // undone when refused
                guard b >= n else { throw Refused() }
                try t.put(bytes(a), BatchTests.bytes64(b - n))
                return "ok \(b - n)"
            case .transfer(let from, let to, let n):
                let b = try balance(from)
                try t.put(bytes(to), BatchTests.bytes64(try balance(to) + n))
                guard b >= n else { throw Refused() }
                try t.put(bytes(from), BatchTests.bytes64(b - n))
                return "ok"
            case .close(let a):
                return "closed \(try t.delete(bytes(a)))"
            case .audit:
                return "sum \(try t.range(from: bytes("a"), to: bytes("b")).reduce(UInt64(0)) { $0 + BatchTests.u64($1.value) })"
            }
        }
    }

    static func randomOp(_ rng: inout SeededRandom) -> Op {
        let account = { (rng: inout SeededRandom) in "a\(Int.random(in: 0..<12, using: &rng))" }
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<30: return .deposit(account(&rng), UInt64.random(in: 1...50, using: &rng))
        case 30..<65: return .withdraw(account(&rng), UInt64.random(in: 1...60, using: &rng))
        case 65..<85: return .transfer(account(&rng), account(&rng), UInt64.random(in: 1...40, using: &rng))
        case 85..<93: return .close(account(&rng))
        default: return .audit
        }
    }

    static func state(_ db: Database) throws -> [[UInt8]: [UInt8]] {
        try db.read { tx in
            var m: [[UInt8]: [UInt8]] = [:]
            for (k, v) in try tx.table("bank")?.range(from: [], to: []) ?? [] { m[k] = v }
            return m
        }
    }

    /// Random operations from many threads go through batches of whatever sizes the timing gives
    /// (a random delay and count bound per round); each closure records its place. Replaying the
    /// same operations one by one, in that order, with plain `write` must give every operation
    /// the same result and the database the same contents.
    @Test func batchesEqualOneByOneInBatchOrder() throws {
        let seed = envSeed(default: 20_261_130)
        let total = envInt("VITRINE_BATCH_OPS", default: 3000)
        var rng = SeededRandom(seed: seed)
        let dir = TempDir(); defer { dir.remove() }
        var compared = 0
        var round = 0
        while compared < total {
            round += 1
            var options = DatabaseOptions(durability: .grouped)
            options.batch = BatchLimits(
                maxCount: Int.random(in: 1...64, using: &rng), maxLogBytes: Int.random(in: 200...20_000, using: &rng),
                maxDelayMicroseconds: Int.random(in: 0...300, using: &rng))
            let batched = try Database(path: dir.file("batched-\(round).db"), options: options)
            let threads = Int.random(in: 2...12, using: &rng)
            let perThread = Int.random(in: 10...60, using: &rng)
            let ops: [[Op]] = (0..<threads).map { _ in (0..<perThread).map { _ in Self.randomOp(&rng) } }
            let order = Mutex<[(op: Op, result: String)]>([])
            let group = ThreadGroup()
            group.spawn(threads) { t in
                for op in ops[t] {
                    // The closure runs exactly once; its place in `order` is its place in the batch
                    // sequence, since batch closures run one at a time on the batch thread.
                    _ = try? batched.batchWrite { tx in
                        do {
                            let r = try op.run(tx)
                            order.withLock { $0.append((op, r)) }
                            return r
                        } catch {
                            order.withLock { $0.append((op, "refused")) }
                            throw error
                        }
                    }
                }
            }
            group.join()
            let sequence = order.withLock { $0 }
            #expect(sequence.count == threads * perThread)
            let single = try Database(path: dir.file("single-\(round).db"))
            for (i, step) in sequence.enumerated() {
                let r: String
                do { r = try single.write { tx in try step.op.run(tx) } } catch { r = "refused" }
                #expect(r == step.result, "round \(round) step \(i): \(step.op)")
            }
            #expect(try Self.state(batched) == Self.state(single), "round \(round)")
            #expect(try batched.verify().isClean)
            compared += sequence.count
            batched.close()
            single.close()
        }
        print("batch model: \(compared) operations in \(round) rounds, seed \(seed)")
    }

    @Test func aClosureCannotWriteAgainInsideTheBatch() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        #expect(throws: StoreError.nestedWriteTransaction) {
            try db.batchWrite { _ in try db.write { _ in } }
        }
        #expect(throws: StoreError.nestedWriteTransaction) {
            try db.batchWrite { _ in try db.batchWrite { _ in } }
        }
        #expect(throws: StoreError.nestedWriteTransaction) {
            try db.write { _ in try db.batchWrite { _ in } }
        }
        db.close()
        #expect(throws: StoreError.closed) { try db.batchWrite { _ in } }
    }

    /// A close while the batch thread waits for stragglers refuses the queued caller with
    /// `.closed` instead of running it (formats/write-ahead-log.md 8.5b).
    @Test func closeDuringTheStragglerWaitRefusesTheQueue() throws {
        let dir = TempDir(); defer { dir.remove() }
        var options = DatabaseOptions(durability: .grouped)
        options.batch = BatchLimits(maxCount: 8, maxDelayMicroseconds: 1_000_000)
        let db = try Database(path: dir.file(), options: options)
        let outcome = Mutex<String?>(nil)
        let group = ThreadGroup()
        group.spawn(1) { _ in
            do {
                try db.batchWrite { tx in try tx.createTable("t").put(bytes("k"), [1]) }
                outcome.withLock { $0 = "committed" }
            } catch {
                outcome.withLock { $0 = "\(error)" }
            }
        }
        // Wait until the closure is queued and the batch thread is waiting for more callers.
        while db.batch.queued == 0 { usleep(1000) }
        db.close()
        group.join()
        #expect(outcome.withLock { $0 } == "\(StoreError.closed)")
    }

    /// `write(batching: .whenContended)`: a lone writer and a second one take the plain path (two
    /// share a sync through group commit); a third, while two are writing, joins a batch
    /// (`Database.contendedBatchThreshold`). The first writer's closure holds the writer lock
    /// until the other two have arrived.
    @Test func whenContendedBatchesFromTheThirdConcurrentWriter() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: .grouped))
        defer { db.close() }
        try Self.setUp(db, stock: 10)
        let release = Mutex(false)
        // Set inside the first closure: the writer lock is held, so the second writer cannot
        // commit and leave before the third arrives (waiting for the counter alone could see the
        // first writer counted but not yet at the lock, found by review).
        let holding = Mutex(false)
        let group = ThreadGroup()
        group.spawn(1) { _ in
            _ = try? db.write(batching: .whenContended) { tx in
                holding.withLock { $0 = true }
                while !release.withLock({ $0 }) { usleep(200) }
                return try Self.buy(tx, buyer: "first")
            }
        }
        while !holding.withLock({ $0 }) { usleep(200) }
        group.spawn(1) { _ in _ = try? db.write(batching: .whenContended) { tx in try Self.buy(tx, buyer: "second") } }
        while db.writersInFlight.load(ordering: .relaxed) < 2 { usleep(200) }
        group.spawn(1) { _ in _ = try? db.write(batching: .whenContended) { tx in try Self.buy(tx, buyer: "third") } }
        while db.writersInFlight.load(ordering: .relaxed) < 3 { usleep(200) }
        release.withLock { $0 = true }
        group.join()
        #expect(try Self.orders(db) == (7, 3))
        let batches = db.batchStatistics()
        #expect(batches.closures == 1, "\(batches)")
    }
}
