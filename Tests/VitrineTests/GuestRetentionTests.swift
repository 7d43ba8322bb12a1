// Guest sessions expire: a guest idle for `guestRetention` is removed by `sweepIdleGuests`, with
// its cart lines and their holds (guest sessions used to live, and hold stock, forever).

import Foundation
import Testing

@testable import Vitrine

@Suite struct GuestRetentionTests {
    static let hour: Int64 = 3_600_000

    /// Retention 1 hour; holds last 2 hours, so the sweep (not their expiry) releases them.
    func fixture(stock: Int64 = 10) throws -> Fixture {
        try Fixture(stock: stock) {
            $0.guestRetention = .seconds(3600); $0.reservationHold = .seconds(7200)
        }
    }

    func isGuestIndexed(_ store: Store<TestBackend>, _ guest: Guest) throws -> Bool {
        try store.backend.read { tx in try tx.get(Keys.guestActivity(guest)) != nil }
    }

    /// An idle guest with held lines goes, and its held units are available again, exactly once;
    /// another cart's hold on the same product stays as it was.
    @Test func anIdleGuestIsSweptWithItsCartAndHolds() throws {
        let f = try fixture()
        let (p0, p1) = (f.products[0].id, f.products[1].id)
        let guest = try f.store.issueGuestID()
        try f.store.addToCart(.guest(guest), product: p0, recommendation: "r0", quantity: 3)
        try f.store.addToCart(.guest(guest), product: p1, quantity: 2)
        try f.store.addToCart(.user("bob"), product: p0, quantity: 1)
        #expect(try f.store.reservations(of: p0).map(\.quantity).sorted() == [1, 3])
        #expect(try f.store.reservations(of: p1).map(\.quantity) == [2])

        f.clock.advance(milliseconds: Self.hour - 1)
        #expect(try f.store.sweepIdleGuests() == 0) // idle 1 ms short of the retention
        f.clock.advance(milliseconds: 1)
        #expect(try f.store.sweepIdleGuests() == 1)
        #expect(try f.store.guest(guest) == nil)
        #expect(throws: VitrineError.unknownGuest(guest)) { try f.store.cart(.guest(guest)) }
        #expect(throws: VitrineError.unknownGuest(guest)) { try f.store.addToCart(.guest(guest), product: p0) }
        let bobsHold = try f.store.reservations(of: p0)
        #expect(bobsHold.map(\.owner) == [.user("bob")] && bobsHold.map(\.quantity) == [1])
        #expect(try f.store.reservations(of: p1).isEmpty)
        // 10 in stock, 1 held by bob: 9 for anyone else, not 10 (no double release) nor 6 (no leak).
        #expect(throws: VitrineError.self) { try f.store.addToCart(.user("carl"), product: p0, quantity: 10) }
        #expect(try f.store.addToCart(.user("carl"), product: p0, quantity: 9).items.first?.available == 9)
        #expect(try f.store.addToCart(.user("dana"), product: p1, quantity: 10).items.first?.available == 10)
        #expect(try f.store.sweepIdleGuests() == 0)
        #expect(try f.store.backend.read { tx in try Store<TestBackend>.lines(tx, .guest(guest)) }.isEmpty)
        try expectIntact(f.store)
    }

    /// A guest's cart changes and `touchGuest` keep it; reading its cart does not; the one left
    /// idle goes first.
    @Test func activityKeepsAGuest() throws {
        let f = try fixture()
        let p0 = f.products[0].id
        let idle = try f.store.issueGuestID()
        let active = try f.store.issueGuestID()
        let touched = try f.store.issueGuestID()
        let reader = try f.store.issueGuestID()
        f.clock.advance(milliseconds: Self.hour / 2)
        try f.store.addToCart(.guest(active), product: p0, quantity: 1)
        try f.store.touchGuest(touched)
        _ = try f.store.cart(.guest(reader))
        #expect(try f.store.guest(active)?.lastActiveAt == f.clock.now)
        #expect(try f.store.guest(idle)?.lastActiveAt == nil)
        try expectIntact(f.store)

        f.clock.advance(milliseconds: Self.hour / 2) // idle and reader: 1 h; the others 30 min
        #expect(try f.store.sweepIdleGuests() == 2)
        #expect(try f.store.guest(idle) == nil && f.store.guest(reader) == nil)
        #expect(try f.store.cart(.guest(active)).items.map(\.line.quantity) == [1])
        f.clock.advance(milliseconds: Self.hour / 4)
        try f.store.setCartQuantity(.guest(active), product: p0, quantity: 2) // active again
        f.clock.advance(milliseconds: Self.hour / 4) // touched: 1 h; active: 15 min
        #expect(try f.store.sweepIdleGuests() == 1)
        #expect(try f.store.guest(touched) == nil)
        #expect(try f.store.guest(active) != nil)
        try f.store.removeFromCart(.guest(active), product: p0)
        try f.store.clearCart(.guest(active))
        f.clock.advance(milliseconds: Self.hour)
        #expect(try f.store.sweepIdleGuests() == 1)
        #expect(try f.store.guest(active) == nil)
        try expectIntact(f.store)
    }

    /// After a merge the guest holds nothing (its lines and holds are the user's); its record
    /// stays for a retried merge, and the sweep later removes it without touching the user's cart.
    @Test func aMergedGuestHoldsNothingAndIsSweptLater() throws {
        let f = try fixture()
        let p0 = f.products[0].id
        let guest = try f.store.issueGuestID()
        try f.store.addToCart(.guest(guest), product: p0, quantity: 4)
        f.clock.advance(milliseconds: Self.hour / 2)
        try f.store.mergeGuestCart(guest, into: "ann")
        #expect(try f.store.reservations(of: p0).map(\.owner) == [.user("ann")])
        #expect(try f.store.mergeGuestCart(guest, into: "ann").items.map(\.line.quantity) == [4]) // retried
        f.clock.advance(milliseconds: Self.hour)
        #expect(try f.store.sweepIdleGuests() == 1)
        #expect(try f.store.cart(.user("ann")).items.map(\.line.quantity) == [4])
        #expect(try f.store.reservations(of: p0).map(\.quantity) == [4])
        try expectIntact(f.store)
    }

    /// At most `limit` guests per call, longest idle first; the next call goes on.
    @Test func theSweepIsBounded() throws {
        let f = try fixture(stock: 100)
        var guests: [String] = []
        for _ in 0..<20 {
            let g = try f.store.issueGuestID()
            try f.store.addToCart(.guest(g), product: f.products[2].id, quantity: 1)
            guests.append(g)
            f.clock.advance(milliseconds: 1)
        }
        f.clock.advance(milliseconds: Self.hour)
        #expect(try f.store.sweepIdleGuests(limit: 5) == 5)
        for (i, g) in guests.enumerated() { #expect(try (f.store.guest(g) == nil) == (i < 5)) }
        #expect(try f.store.sweepIdleGuests(limit: 1000) == 15)
        #expect(try f.store.sweepIdleGuests() == 0)
        #expect(try f.store.reservations(of: f.products[2].id).isEmpty)
        #expect(throws: VitrineError.invalidArgument(field: "limit", reason: "must be 1...1000")) {
            try f.store.sweepIdleGuests(limit: 1001)
        }
        try expectIntact(f.store)
    }

    /// Guest records written before `lastActiveAt` existed (fields 1 and 2 only) decode, their
    /// last activity being their creation; the field round-trips when present.
    @Test func oldGuestRecordsStillDecode() throws {
        var w = RecordWriter(kind: .guest)
        w.writeString(1, "g-old")
        w.writeInt(2, 1_000)
        let old = try Guest(recordBytes: w.bytes)
        #expect(old == Guest(id: "g-old", createdAt: Timestamp(millisecondsSinceEpoch: 1_000)))
        #expect(old.lastActiveAt == nil && old.lastActivity == Timestamp(millisecondsSinceEpoch: 1_000))
        #expect(old.recordBytes == w.bytes) // an untouched guest is written as before
        let touched = Guest(
            id: "g", createdAt: Timestamp(millisecondsSinceEpoch: 1_000), lastActiveAt: Timestamp(millisecondsSinceEpoch: 5_000))
        #expect(try Guest(recordBytes: touched.recordBytes) == touched)
        #expect(touched.lastActivity == Timestamp(millisecondsSinceEpoch: 5_000))
    }

    /// A version-2 store (guests without index entries) gets them at its first writing open, and
    /// its idle guests are swept from then on.
    @Test func aVersion2StoreIsUpgraded() throws {
        let f = try fixture()
        let guest = try f.store.issueGuestID()
        try f.store.addToCart(.guest(guest), product: f.products[0].id, quantity: 2)
        let record = try #require(try f.store.guest(guest))
        // What version 2 wrote: the guest without field 3 and without an index entry.
        let asVersion2 = Guest(id: record.id, createdAt: record.createdAt)
        try f.store.backend.write { tx in
            try tx.clear(Keys.guestActivity(record))
            try tx.store(asVersion2, Keys.guest(guest))
            try tx.store(MetaRecord(formatVersion: 2, createdAt: Timestamp(millisecondsSinceEpoch: 1)), Keys.meta)
        }
        #expect(!(try f.store.checkIntegrity().isEmpty))
        let upgraded = try Store(backend: f.store.backend, configuration: f.store.configuration)
        #expect(try upgraded.backend.read { try $0.load(MetaRecord.self, Keys.meta) }?.formatVersion == 3)
        #expect(try isGuestIndexed(upgraded, asVersion2))
        try expectIntact(upgraded)
        f.clock.advance(milliseconds: Self.hour)
        #expect(try upgraded.sweepIdleGuests() == 1)
        #expect(try upgraded.reservations(of: f.products[0].id).isEmpty)
        try expectIntact(upgraded)
    }

    /// A dump of guests taken before version 3 (no `guest_time` entries) is completed on load,
    /// and restores without problems.
    @Test func anOldDumpOfGuestsGetsItsEntries() throws {
        let g = Guest(id: "5f0c8a56-3a4e-4b8e-9a31-0d6c1f1f2a10", createdAt: Timestamp(millisecondsSinceEpoch: 1_000))
        let old = [DumpedRecord(key: Keys.guest(g.id), value: g.recordBytes)]
        let completed = Store<TestBackend>.recordsWithDiscoveryEntries(old)
        #expect(completed.map(\.key) == [Keys.guest(g.id), Keys.guestActivity(g)])
        #expect(Store<TestBackend>.recordsWithDiscoveryEntries(completed) == completed)
        let store = try makeStore()
        #expect(try store.restoreProblems(completed).isEmpty)
        #expect(!(try store.restoreProblems(old).isEmpty))
    }
}
