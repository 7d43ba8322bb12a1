// A store written by format version 1 (before discovery entries, the idempotency retention index
// and issued guests) is upgraded at its first writing open, and reads as it is until then.

import Foundation
import Testing

@testable import Vitrine

@Suite struct UpgradeTests {
    @Test func aVersion1StoreIsUpgradedAtOpen() throws {
        let f = try Fixture()
        let store = f.store
        try store.addToCart(.user("ann"), product: "p0", recommendation: "r0", quantity: 1)
        let order = try store.checkout(user: "ann", idempotencyKey: "pay-1").order
        let guest = try store.issueGuestID()
        try store.addToCart(.guest(guest), product: "p1", quantity: 1)
        let issued = try #require(try store.guest(guest))

        // Make it what version 1 wrote: no derived entries, no guest record, marker 1.
        let products = try f.products.map { try store.product($0.id) }
        try store.backend.write { tx in
            for p in products { for key in Keys.productIndexEntries(of: p) { try tx.clear(key) } }
            try tx.clear(Keys.idempotencyByTime(order.placedAt, "ann", "pay-1"))
            try tx.clear(Keys.guest(guest))
            try tx.clear(Keys.guestActivity(issued))
            try tx.store(MetaRecord(formatVersion: 1, createdAt: Timestamp(millisecondsSinceEpoch: 1)), Keys.meta)
        }
        // Read as it is: the missing entries are reported, nothing is written.
        let reading = try Store(readingFrom: store.backend, configuration: store.configuration)
        #expect(!(try reading.checkIntegrity().isEmpty))
        #expect(throws: VitrineError.self) { try store.addToCart(.guest(guest), product: "p1", quantity: 1) }

        // The first writing open upgrades.
        let upgraded = try Store(backend: store.backend, configuration: store.configuration)
        #expect(try upgraded.checkIntegrity().isEmpty)
        #expect(try upgraded.backend.read { try $0.load(MetaRecord.self, Keys.meta) }?.formatVersion == 3)
        // The guest record the upgrade wrote has its idle-guest entry too (version 3).
        let guestRecord = try #require(try upgraded.guest(guest))
        #expect(try upgraded.backend.read { try $0.get(Keys.guestActivity(guestRecord)) } != nil)
        #expect(try upgraded.backend.read { try $0.get(Keys.idempotencyByTime(order.placedAt, "ann", "pay-1")) } != nil)
        #expect(try upgraded.products(.category("beauty"), limit: 10).items.count == 2)
        try upgraded.addToCart(.guest(guest), product: "p1", quantity: 1)
        // A later open changes nothing more.
        _ = try Store(backend: store.backend, configuration: store.configuration)
        #expect(try upgraded.checkIntegrity().isEmpty)
    }

    @Test func aNewerVersionIsRefused() throws {
        let store = try makeStore()
        try store.backend.write { tx in
            try tx.store(
                MetaRecord(formatVersion: MetaRecord.currentFormatVersion + 1, createdAt: Timestamp(millisecondsSinceEpoch: 1)), Keys.meta)
        }
        #expect(throws: VitrineError.self) { try Store(backend: store.backend, configuration: store.configuration) }
        #expect(throws: VitrineError.self) { try Store(readingFrom: store.backend, configuration: store.configuration) }
    }
}
