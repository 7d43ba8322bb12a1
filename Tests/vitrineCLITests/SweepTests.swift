// `vitrine sweep`: the bounded sweeps of expired holds and idempotency keys, from the CLI.

import Foundation
import Testing

@Suite struct SweepTests {
    @Test func sweepReportsWhatItRemoved() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        try s.ok("add-to-cart", "ann", "r1")
        try s.ok("checkout", "ann", "--key", "pay-1")
        // Nothing has expired yet: the key is inside its 30-day window and still replays.
        #expect(try s.ok("sweep").stdout == "swept 0 expired hold(s), 0 expired idempotency key(s)\nswept 0 idle guest(s)\n")
        let json = try s.ok("sweep", "--limit", "10", "--json").json()
        #expect(json["holds"] as? Int == 0 && json["idempotencyKeys"] as? Int == 0 && json["guests"] as? Int == 0)
        #expect(try s.ok("checkout", "ann", "--key", "pay-1").stdout.contains("already placed with key pay-1"))
        try s.fails(2, "--limit", "sweep", "--limit", "0")
        #expect(try s.ok("check").stdout == "ok\n")
    }

    /// Guests idle past the retention (`--guest-retention`, 30 days by default) are removed; the
    /// others stay.
    @Test func sweepRemovesIdleGuests() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        let guest = try s.ok("guest").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try s.ok("sweep").stdout.hasSuffix("swept 0 idle guest(s)\n"))
        Thread.sleep(forTimeInterval: 1.1) // the guest is now idle for more than one second
        let json = try s.ok("sweep", "--guest-retention", "1", "--json").json()
        #expect(json["guests"] as? Int == 1 && json["holds"] as? Int == 0 && json["idempotencyKeys"] as? Int == 0)
        #expect(try s.ok("sweep", "--guest-retention", "1").stdout.hasSuffix("swept 0 idle guest(s)\n"))
        try s.fails(2, "--guest-retention", "sweep", "--guest-retention", "0")
        #expect(try s.ok("check").stdout == "ok\n")
        #expect(!(try s.ok("dump", "--table", "guest").stdout.contains(guest)))
    }
}
