// Idempotency keys are kept for a retention window, then expire and may be swept (issue 15,
// "Why" 6: keys never expired).

import Testing

@testable import Vitrine

@Suite struct IdempotencyRetentionTests {
    let user: UserID = "buyer"

    func idempotencyRecordExists(_ store: Store<TestBackend>, _ key: String) throws -> Bool {
        try store.backend.read { tx in try tx.get(Keys.idempotency(user, key)) != nil }
    }

    /// Inside the window a retry returns the same order; after it the key is forgotten and a
    /// retry places a new order (the old one stays).
    @Test func aRetryAfterTheWindowPlacesANewOrder() throws {
        let f = try Fixture {
            $0.idempotencyRetention = .seconds(3600); $0.paymentWindow = .seconds(86_400)
        }
        let p = f.products[0].id
        try f.store.addToCart(.user(user), product: p, quantity: 1)
        let first = try f.store.checkout(user: user, idempotencyKey: "k")
        f.clock.advance(milliseconds: 3_600_000 - 1)
        let retry = try f.store.checkout(user: user, idempotencyKey: "k")
        #expect(retry.isReplay && retry.order == first.order)

        f.clock.advance(milliseconds: 1)
        try f.store.addToCart(.user(user), product: p, quantity: 2)
        let later = try f.store.checkout(user: user, idempotencyKey: "k")
        #expect(!later.isReplay && later.order.id != first.order.id && later.order.lines.map(\.quantity) == [2])
        #expect(try f.store.order(first.order.id) == first.order)
        // The key now names the new order, for its own window.
        #expect(try f.store.checkout(user: user, idempotencyKey: "k").order == later.order)
        // The sweep finds nothing to delete: the old index entry went with the old record.
        f.clock.advance(milliseconds: 1_000)
        #expect(try f.store.sweepExpiredIdempotencyKeys() == 0)
        #expect(try idempotencyRecordExists(f.store, "k"))
        try expectIntact(f.store)
    }

    /// The sweep deletes expired keys' records, oldest first and at most `limit` per call, and
    /// keeps the orders and the keys still inside their window.
    @Test func sweepIsBoundedAndKeepsLiveKeys() throws {
        let f = try Fixture { $0.idempotencyRetention = .seconds(60) }
        var orders: [OrderID] = []
        for i in 0..<4 {
            try f.store.addToCart(.user(user), product: f.products[0].id, quantity: 1)
            orders.append(try f.store.checkout(user: user, idempotencyKey: "k\(i)").order.id)
            f.clock.advance(milliseconds: 10_000)
        }
        // Now k0 is 40 s old, k3 10 s: nothing expired yet.
        #expect(try f.store.sweepExpiredIdempotencyKeys() == 0)
        f.clock.advance(milliseconds: 35_000) // k0 75 s, k1 65 s, k2 55 s, k3 45 s
        #expect(try f.store.sweepExpiredIdempotencyKeys(limit: 1) == 1)
        #expect(try !idempotencyRecordExists(f.store, "k0") && idempotencyRecordExists(f.store, "k1"))
        #expect(try f.store.sweepExpiredIdempotencyKeys(limit: 1000) == 1)
        #expect(try !idempotencyRecordExists(f.store, "k1"))
        #expect(try f.store.sweepExpiredIdempotencyKeys() == 0)
        #expect(try idempotencyRecordExists(f.store, "k2") && idempotencyRecordExists(f.store, "k3"))
        // k2 and k3 still replay; the orders of swept keys are kept.
        #expect(try f.store.checkout(user: user, idempotencyKey: "k2").order.id == orders[2])
        for id in orders { _ = try f.store.order(id) }
        #expect(throws: VitrineError.invalidArgument(field: "limit", reason: "must be 1...1000")) {
            try f.store.sweepExpiredIdempotencyKeys(limit: 0)
        }
        try expectIntact(f.store)
    }

    @Test func retentionIsValidated() throws {
        #expect(throws: VitrineError.self) { _ = try makeStore { $0.idempotencyRetention = .zero } }
        #expect(throws: VitrineError.self) { _ = try makeStore { $0.idempotencyRetention = .seconds(Int64.max) } }
        #expect(Configuration.standard.idempotencyRetention == .seconds(30 * 86_400))
    }
}
