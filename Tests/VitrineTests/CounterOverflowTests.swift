// Earnings counters never wrap, even on a backend whose atomicAdd wraps as FoundationDB's ADD
// does (issue 15, "Why" 7: the domain relied on atomicAdd throwing on overflow).

import Testing

@testable import Vitrine

/// The in-memory store, except that `atomicAdd` wraps modulo 2^64 like FoundationDB's ADD.
struct WrappingAddStore: OrderedKeyValueStore {
    let base = InMemoryKeyValueStore()

    struct Writer: OrderedKeyValueWriter {
        let base: InMemoryKeyValueStore.Writer
        func get(_ key: [UInt8]) throws -> [UInt8]? { try base.get(key) }
        func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            try base.getRange(from: begin, to: end, limit: limit, reverse: reverse)
        }
        func set(_ key: [UInt8], _ value: [UInt8]) throws { try base.set(key, value) }
        func clear(_ key: [UInt8]) throws { try base.clear(key) }
        func clearRange(from begin: [UInt8], to end: [UInt8]) throws { try base.clearRange(from: begin, to: end) }
        func atomicAdd(_ key: [UInt8], _ delta: Int64) throws {
            let current = try base.get(key).flatMap(decodeLittleEndianInt64) ?? 0
            try base.set(key, encodeLittleEndianInt64(current &+ delta))
        }
    }

    func read<T>(_ body: (InMemoryKeyValueStore.Reader) throws -> T) throws -> T { try base.read(body) }
    func write<T>(_ body: (Writer) throws -> T) throws -> T { try base.write { try body(Writer(base: $0)) } }
}

@Suite struct CounterOverflowTests {
    func store() throws -> Store<WrappingAddStore> {
        let store = try Store(
            backend: WrappingAddStore(), configuration: Configuration(settlementWindow: .zero, clock: .manual(ManualClock())))
        try store.upsertExpert(Expert(id: "mei", displayName: "Mei", categories: ["beauty"], commissionBasisPoints: 1000))
        try store.upsertProduct(
            Product(
                id: "p", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=1", title: "t", priceFen: 10_000,
                merchant: "m", category: "beauty", initialStock: 10))
        try store.postRecommendation(id: "r", expert: "mei", product: "p", reason: "good", quantity: 10)
        return store
    }

    func setCounter(_ store: Store<WrappingAddStore>, _ key: [UInt8], _ value: Int64) throws {
        try store.backend.write { tx in try tx.set(key, encodeLittleEndianInt64(value)) }
    }

    @Test func checkoutRefusesAPendingTotalThatWouldWrap() throws {
        let store = try store()
        try setCounter(store, Keys.pendingTotal("mei"), .max - 10)
        try store.addToCart(.user("u"), product: "p", recommendation: "r", quantity: 1) // commission 1000
        #expect(throws: VitrineError.amountOverflow(field: "pendingFen")) {
            try store.checkout(user: "u", idempotencyKey: "k")
        }
        #expect(try store.earnings(of: "mei").pendingFen == .max - 10)
        #expect(try store.orders(of: "u").items.isEmpty)
        #expect(try store.product("p").stock == 10)
    }

    @Test func settleRefusesASettledTotalThatWouldWrap() throws {
        let store = try store()
        try store.addToCart(.user("u"), product: "p", recommendation: "r", quantity: 1)
        let order = try store.checkout(user: "u", idempotencyKey: "k").order
        try store.confirmPayment(order: order.id, reference: "t1") // settling takes a paid order
        try setCounter(store, Keys.settledTotal("mei"), .max - 10)
        #expect(throws: VitrineError.amountOverflow(field: "settledFen")) { try store.settleOrder(order.id) }
        let earnings = try store.earnings(of: "mei")
        #expect(earnings.pendingFen == 1_000 && earnings.settledFen == .max - 10)
        #expect(try store.order(order.id).status == .paid)
    }
}
