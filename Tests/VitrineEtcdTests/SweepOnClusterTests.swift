// `sweep` with a limit of 1000 on the cluster: 1000 expired holds, 1000 expired idempotency keys
// and 20 idle guests with 50 held lines each, all removed by one call of each sweep. In one
// transaction a call would carry more than the cluster's 2048 writes (the guests) and refuse
// before sending (`transactionTooLarge`); in chunks (Sweeping.swift) each fits.

import Foundation
import Testing

@testable import Vitrine

@Suite(.enabled(if: etcdSuiteEnabled))
struct SweepOnClusterTests {
    @Test func sweepsWithTheLargestLimitFitTheCluster() throws {
        let clock = ManualClock()
        let store = try makeStore(clock: clock) { $0.guestRetention = .seconds(3600) }
        let past = clock.now
        let farAway = past.adding(milliseconds: 365 * 86_400_000)
        for batch in 0..<5 { // 200 users per transaction: 800 writes
            try store.backend.write { tx in
                for i in (batch * 200)..<(batch * 200 + 200) {
                    let h = Hold(owner: .user(UserID("u\(i)")), product: "p", recommendation: nil, quantity: 1, expiresAt: past)
                    try tx.store(h, Keys.hold(h))
                    try tx.set(Keys.holdExpiry(h), [])
                    try tx.store(IdempotencyRecord(order: OrderID("o\(i)")), Keys.idempotency(UserID("u\(i)"), "k"))
                    try tx.set(Keys.idempotencyByTime(past, UserID("u\(i)"), "k"), [])
                }
            }
        }
        for batch in 0..<4 { // 5 guests per transaction: 760 writes
            try store.backend.write { tx in
                for i in (batch * 5)..<(batch * 5 + 5) {
                    let g = Guest(id: "guest-\(i)", createdAt: past)
                    try tx.store(g, Keys.guest(g.id))
                    try tx.set(Keys.guestActivity(g), [])
                    for j in 0..<50 {
                        let p = ProductID("p\(j)")
                        try tx.store(
                            CartLine(product: p, recommendation: nil, quantity: 1, unitPriceFen: 100, addedAt: past),
                            Keys.cartLine(.guest(g.id), p, nil))
                        let h = Hold(owner: .guest(g.id), product: p, recommendation: nil, quantity: 1, expiresAt: farAway)
                        try tx.store(h, Keys.hold(h))
                        try tx.set(Keys.holdExpiry(h), [])
                    }
                }
            }
        }
        clock.advance(milliseconds: 31 * 86_400_000)
        #expect(try store.sweepExpiredReservations(limit: 1000) == 1000)
        #expect(try store.sweepExpiredIdempotencyKeys(limit: 1000) == 1000)
        #expect(try store.sweepIdleGuests(limit: 1000) == 20)
        let left = try store.backend.read { tx in
            try [Keys.allHolds, Tuple(["hold_exp"]), Tuple(["idem"]), Tuple(["idem_time"]), Keys.carts, Keys.guests, Keys.guestActivities]
                .map { try tx.getRange(from: $0.range.begin, to: $0.range.end, limit: 0, reverse: false).count }
        }
        #expect(left == [0, 0, 0, 0, 0, 0, 0])
    }
}
