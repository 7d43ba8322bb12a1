// The etcd backend against its contract: the same answers as the in-memory reference store for
// random transactions (own writes, clears, ranges with limits, both directions), conflicts
// detected for every kind of read (key changed, key deleted, key inserted where a range or a
// missing key was read), limits refused before anything is sent, atomicAdd under contention.

import Foundation
import Testing
import Vitrine
import VitrineEtcd

@Suite(.enabled(if: etcdSuiteEnabled), .ownCluster("backend"), .serialized)
struct EtcdBackendTests {
    func key(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Random transactions on both stores; every read must answer the same.
    @Test func randomTransactionsMatchTheInMemoryStore() throws {
        let cluster = try EtcdCluster.get()
        let etcd = try cluster.store(prefix: "model-" + UUID().uuidString)
        let memory = InMemoryKeyValueStore()
        var rng = SystemRandomNumberGenerator()
        let keys = (0..<24).map { "k\(String($0, radix: 36))" } + ["k", "k1a", "k1\u{0}"]
        func randomKey() -> [UInt8] { key(keys.randomElement(using: &rng) ?? "k") }
        var reads = 0
        for round in 0..<40 {
            // One script of operations, applied to both stores in one transaction each.
            var script: [(Int, [UInt8], [UInt8], Int, Bool)] = []
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                var (a, b) = (randomKey(), randomKey())
                if b.lexicographicallyPrecedes(a) { swap(&a, &b) }
                script.append((Int.random(in: 0..<6, using: &rng), a, b, Int.random(in: 0...5, using: &rng), Bool.random(using: &rng)))
            }
            func run<W: OrderedKeyValueWriter>(_ tx: W) throws -> [String] {
                var out: [String] = []
                for (op, a, b, limit, reverse) in script {
                    switch op {
                    case 0: try tx.set(a, Array("v\(round)".utf8))
                    case 1: try tx.clear(a)
                    case 2: try tx.clearRange(from: a, to: b)
                    case 3: out.append("\(try tx.get(a) ?? [])")
                    case 4: out.append("\(try tx.getRange(from: a, to: b, limit: limit, reverse: reverse).map { [$0.key, $0.value] })")
                    default: try tx.atomicAdd(key("counter"), 3)
                    }
                }
                out.append("\(try tx.getRange(from: [0], to: [0xFF], limit: 0, reverse: false).map { [$0.key, $0.value] })")
                return out
            }
            let expected = try memory.write { try run($0) }
            let got = try etcd.write { try run($0) }
            #expect(got == expected, "round \(round)")
            reads += got.count
        }
        let all = try etcd.read { try $0.getRange(from: [0], to: [0xFF], limit: 0, reverse: false) }
        let allMemory = try memory.read { try $0.getRange(from: [0], to: [0xFF], limit: 0, reverse: false) }
        #expect(all == allMemory)
        #expect(reads > 40)
    }

    /// Runs `body` in a write on `store`; in its first run, `interfere` commits through another
    /// client. Returns how many times the body ran.
    func runsWithInterference(
        _ store: EtcdKeyValueStore, _ other: EtcdKeyValueStore, interfere: @escaping (EtcdKeyValueStore.Writer) throws -> Void,
        _ body: (EtcdKeyValueStore.Writer) throws -> Void
    ) throws -> Int {
        var runs = 0
        try store.write { tx in
            runs += 1
            try body(tx)
            if runs == 1 { try other.write { try interfere($0) } }
            try tx.set(Array("written".utf8), [1])
        }
        return runs
    }

    @Test func everyKindOfStaleReadIsAConflict() throws {
        let cluster = try EtcdCluster.get()
        let prefix = "conflict-" + UUID().uuidString
        let store = try cluster.store(prefix: prefix)
        let other = try cluster.store(prefix: prefix)
        try store.write { tx in
            try tx.set(key("a"), [1])
            try tx.set(key("r/1"), [1])
            try tx.set(key("r/3"), [3])
        }
        // A key read, then changed.
        #expect(try runsWithInterference(store, other, interfere: { try $0.set(self.key("a"), [2]) }) { _ = try $0.get(key("a")) } == 2)
        // A key read, then deleted.
        #expect(try runsWithInterference(store, other, interfere: { try $0.clear(self.key("a")) }) { _ = try $0.get(key("a")) } == 2)
        // A key read as missing, then inserted.
        #expect(try runsWithInterference(store, other, interfere: { try $0.set(self.key("a"), [3]) }) { _ = try $0.get(key("a")) } == 2)
        // A range read, then a key inserted into it (a phantom).
        #expect(
            try runsWithInterference(store, other, interfere: { try $0.set(self.key("r/2"), [2]) }) {
                _ = try $0.getRange(from: key("r/"), to: key("r0"), limit: 0, reverse: false)
            } == 2)
        // A range read, then a key in it deleted.
        #expect(
            try runsWithInterference(store, other, interfere: { try $0.clear(self.key("r/2")) }) {
                _ = try $0.getRange(from: key("r/"), to: key("r0"), limit: 0, reverse: false)
            } == 2)
        // A range read with a limit covers only what it scanned: an insert past it is no conflict.
        #expect(
            try runsWithInterference(store, other, interfere: { try $0.set(self.key("r/9"), [9]) }) {
                _ = try $0.getRange(from: key("r/"), to: key("r0"), limit: 1, reverse: false)
            } == 1)
        // ... nor before it, in reverse.
        #expect(
            try runsWithInterference(store, other, interfere: { try $0.set(self.key("r/0"), [0]) }) {
                _ = try $0.getRange(from: key("r/"), to: key("r0"), limit: 1, reverse: true)
            } == 1)
        // A key written without being read: no conflict (a blind write).
        #expect(try runsWithInterference(store, other, interfere: { try $0.set(self.key("b"), [2]) }) { try $0.set(key("b"), [1]) } == 1)
        #expect(try store.read { try $0.get(key("b")) } == [1])
    }

    @Test func transactionsOverTheLimitsAreRefusedBeforeSending() throws {
        let cluster = try EtcdCluster.get()
        let prefix = "limits-" + UUID().uuidString
        let store = try cluster.store(prefix: prefix) { $0.maxTxnOps = 8 }
        #expect {
            try store.write { tx in for i in 0..<9 { try tx.set(Array("w\(i)".utf8), [1]) } }
        } throws: { error in
            guard case EtcdError.transactionTooLarge(let what, 9, 8) = error else { return false }
            return what == "writes"
        }
        #expect {
            try store.write { tx in
                for i in 0..<9 { _ = try tx.get(Array("r\(i)".utf8)) }
                try tx.set(Array("x".utf8), [1])
            }
        } throws: { error in
            guard case EtcdError.transactionTooLarge(_, 9, 8) = error else { return false }
            return true
        }
        let small = try cluster.store(prefix: prefix) { $0.maxRequestBytes = 4096 }
        #expect {
            try small.write { tx in try tx.set(Array("big".utf8), [UInt8](repeating: 7, count: 5000)) }
        } throws: { error in
            guard case EtcdError.transactionTooLarge(_, _, 4096) = error else { return false }
            return true
        }
        // Nothing of any of them was written.
        #expect(try store.read { try $0.getRange(from: [0], to: [0xFF], limit: 0, reverse: false) }.isEmpty)
    }

    @Test func atomicAddsFromManyThreadsAllCount() throws {
        let cluster = try EtcdCluster.get()
        let prefix = "add-" + UUID().uuidString
        let counter = key("counter")
        let errors = ErrorList()
        let group = DispatchGroup()
        for t in 0..<8 {
            let store = try cluster.store(prefix: prefix, endpoints: [cluster.endpoints[t % 3]] + cluster.endpoints)
            DispatchQueue.global().async(group: group) {
                do {
                    for _ in 0..<5 { try store.write { try $0.atomicAdd(counter, 5) } }
                } catch {
                    errors.append("\(error)")
                }
            }
        }
        group.wait()
        #expect(errors.all.isEmpty, "\(errors.all)")
        let store = try cluster.store(prefix: prefix)
        let value = try store.read { try $0.get(counter) }
        #expect(value.flatMap(decodeLittleEndianInt64) == 200)
    }
}

/// Errors collected from threads.
final class ErrorList: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func append(_ s: String) { lock.withLock { items.append(s) } }
    var all: [String] { lock.withLock { items } }
}
