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
        #expect(try s.ok("sweep").stdout == "swept 0 expired hold(s), 0 expired idempotency key(s)\n")
        let json = try s.ok("sweep", "--limit", "10", "--json").json()
        #expect(json["holds"] as? Int == 0 && json["idempotencyKeys"] as? Int == 0)
        #expect(try s.ok("checkout", "ann", "--key", "pay-1").stdout.contains("already placed with key pay-1"))
        try s.fails(2, "--limit", "sweep", "--limit", "0")
        #expect(try s.ok("check").stdout == "ok\n")
    }
}
