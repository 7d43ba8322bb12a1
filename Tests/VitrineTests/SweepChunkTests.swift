// The sweeps work in transactions that each fit a backend's limits: etcd refuses a transaction of
// more than 2048 compares (keys read) or writes before sending it, and a sweep with a limit near
// 1000 used to make one transaction of 2000 and more (issue: `vitrine sweep --etcd --limit 1000`).

import Foundation
import Testing

@testable import Vitrine

/// An in-memory store that counts the keys each write transaction reads and writes, and refuses
/// one over `maxOperations` of either (as etcd does, counting every read, never merging ranges).
final class CountingStore: OrderedKeyValueStore, @unchecked Sendable {
    let inner = InMemoryKeyValueStore()
    let maxOperations: Int
    private let lock = NSLock()
    private var _writeTransactions = 0
    var writeTransactions: Int { lock.withLock { _writeTransactions } }

    init(maxOperations: Int) { self.maxOperations = maxOperations }

    struct TooLarge: Error { var reads: Int; var writes: Int }

    final class Writer: OrderedKeyValueWriter {
        let inner: InMemoryKeyValueStore.Writer
        var reads = 0
        var writes = 0
        init(_ inner: InMemoryKeyValueStore.Writer) { self.inner = inner }
        func get(_ key: [UInt8]) throws -> [UInt8]? {
            reads += 1
            return try inner.get(key)
        }
        func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            reads += 1
            return try inner.getRange(from: begin, to: end, limit: limit, reverse: reverse)
        }
        func set(_ key: [UInt8], _ value: [UInt8]) throws {
            writes += 1
            try inner.set(key, value)
        }
        func clear(_ key: [UInt8]) throws {
            writes += 1
            try inner.clear(key)
        }
        func clearRange(from begin: [UInt8], to end: [UInt8]) throws {
            writes += 1
            try inner.clearRange(from: begin, to: end)
        }
        func atomicAdd(_ key: [UInt8], _ delta: Int64) throws {
            reads += 1
            writes += 1
            try inner.atomicAdd(key, delta)
        }
    }

    func read<T>(_ body: (InMemoryKeyValueStore.Reader) throws -> T) throws -> T { try inner.read(body) }

    func write<T>(_ body: (Writer) throws -> T) throws -> T {
        lock.withLock { _writeTransactions += 1 }
        return try inner.write { tx in
            let counting = Writer(tx)
            let result = try body(counting)
            guard counting.reads <= maxOperations, counting.writes <= maxOperations else {
                throw TooLarge(reads: counting.reads, writes: counting.writes) // rolls back
            }
            return result
        }
    }
}

@Suite struct SweepChunkTests {
    /// 1000 expired holds and 1000 expired idempotency keys: one call each with limit 1000 removes
    /// them all, in several transactions of at most 1024 reads and 1024 writes (half of etcd's
    /// 2048: one transaction for the call used to read about 2000 keys and clear 2000, at the
    /// edge of the limit, and the guest sweep's items are larger).
    @Test func aSweepOfAThousandFitsEtcdTransactions() throws {
        let clock = ManualClock()
        let backend = CountingStore(maxOperations: 1024)
        let store = try Store(backend: backend, configuration: Configuration(clock: .manual(clock)))
        let past = clock.now
        try backend.inner.write { tx in
            for i in 0..<1000 {
                let h = Hold(owner: .user(UserID("u\(i)")), product: "p", recommendation: nil, quantity: 1, expiresAt: past)
                try tx.store(h, Keys.hold(h))
                try tx.set(Keys.holdExpiry(h), [])
                try tx.store(IdempotencyRecord(order: OrderID("o\(i)")), Keys.idempotency(UserID("u\(i)"), "k"))
                try tx.set(Keys.idempotencyByTime(past, UserID("u\(i)"), "k"), [])
            }
        }
        clock.advance(milliseconds: 31 * 86_400_000)
        let before = backend.writeTransactions
        #expect(try store.sweepExpiredReservations(limit: 1000) == 1000)
        #expect(try store.sweepExpiredIdempotencyKeys(limit: 1000) == 1000)
        #expect(backend.writeTransactions - before > 2) // it took more than one transaction each
        let left = try backend.inner.read { tx in
            let holds = try tx.getRange(from: Keys.allHolds.range.begin, to: Keys.allHolds.range.end, limit: 0, reverse: false)
            let keys = try tx.getRange(from: Tuple(["idem"]).range.begin, to: Tuple(["idem"]).range.end, limit: 0, reverse: false)
            return holds.count + keys.count
        }
        #expect(left == 0)
        // A call with nothing (left) to sweep takes one transaction.
        let after = backend.writeTransactions
        #expect(try store.sweepExpiredReservations(limit: 5) == 0)
        #expect(backend.writeTransactions - after == 1)
    }

    /// 20 idle guests with full carts (50 held lines each): one call removes them all, in
    /// transactions of at most 1024 reads and writes (one transaction would clear over 2000 keys).
    @Test func aSweepOfFullGuestCartsFitsEtcdTransactions() throws {
        let clock = ManualClock()
        let backend = CountingStore(maxOperations: 1024)
        let store = try Store(
            backend: backend,
            configuration: Configuration(reservationHold: .seconds(7200), guestRetention: .seconds(3600), clock: .manual(clock)))
        var products: [ProductID] = []
        for i in 0..<50 {
            let p = Product(
                id: ProductID("p\(i)"), partner: "tmall", link: "https://detail.tmall.com/item.htm?id=\(1000 + i)",
                title: "面膜 \(i) 号", priceFen: 9_900, merchant: "官方旗舰店", category: "beauty", initialStock: 100)
            products.append(try store.upsertProduct(p).id)
        }
        for _ in 0..<20 {
            let g = try store.issueGuestID()
            for p in products { try store.addToCart(.guest(g), product: p, quantity: 2) }
        }
        #expect(try store.reservations(of: "p0").count == 20)
        clock.advance(milliseconds: 3_600_000)
        let before = backend.writeTransactions
        #expect(try store.sweepIdleGuests(limit: 1000) == 20)
        #expect(backend.writeTransactions - before == 3) // 8 + 8 + 4 guests
        for p in products { #expect(try store.reservations(of: p).isEmpty) }
        #expect(try store.checkIntegrity().isEmpty)
    }

    /// 100 orders of 20 lines each, all past their payment window: one expiry call of limit 1000
    /// expires them all, in transactions of at most 1024 reads and writes (one transaction of all
    /// of them is refused by the counting store, as etcd would refuse it), returning every unpaid
    /// unit to stock.
    @Test func anExpiryOfManyLargeOrdersFitsEtcdTransactions() throws {
        let clock = ManualClock()
        let backend = CountingStore(maxOperations: 1024)
        let store = try Store(backend: backend, configuration: Configuration(paymentWindow: .seconds(60), clock: .manual(clock)))
        var products: [ProductID] = []
        for i in 0..<20 {
            let p = Product(
                id: ProductID("p\(i)"), partner: "tmall", link: "https://detail.tmall.com/item.htm?id=\(1000 + i)",
                title: "面膜 \(i) 号", priceFen: 9_900, merchant: "官方旗舰店", category: "beauty", initialStock: 1000)
            products.append(try store.upsertProduct(p).id)
        }
        for u in 0..<100 {
            for p in products { try store.addToCart(.user(UserID("u\(u)")), product: p, quantity: 2) }
            _ = try store.checkout(user: UserID("u\(u)"), idempotencyKey: "k")
        }
        #expect(try store.product("p0").stock == 800)
        clock.advance(milliseconds: 61_000)
        let before = backend.writeTransactions
        #expect(try store.expireOverdueOrders(limit: 1000).count == 100)
        #expect(backend.writeTransactions - before == 26) // 25 of 4 orders, then one that finds none
        for p in products { #expect(try store.product(p).stock == 1000) }
        #expect(try store.checkIntegrity().isEmpty)
    }
}
