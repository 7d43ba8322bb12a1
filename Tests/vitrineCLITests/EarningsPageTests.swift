// `vitrine earnings EXPERT --limit N [--after CURSOR]`: one page of the per-order list.

import Foundation
import Testing

@Suite struct EarningsPageCLITests {
    @Test func earningsPageByPage() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        for key in ["pay-1", "pay-2"] {
            try s.ok("add-to-cart", "ann", "r1")
            try s.ok("checkout", "ann", "--key", key)
        }
        let all = try s.ok("earnings", "mei", "--json").json()
        #expect((all["orders"] as? [Any])?.count == 2 && all["next"] == nil)
        let first = try s.ok("earnings", "mei", "--limit", "1", "--json").json()
        #expect((first["orders"] as? [Any])?.count == 1 && first["pendingFen"] as? Int == all["pendingFen"] as? Int)
        let next = try #require(first["next"] as? String, "\(first)")
        let second = try s.ok("earnings", "mei", "--after", next, "--json").json()
        #expect((second["orders"] as? [Any])?.count == 1 && second["next"] == nil)
        #expect(try s.ok("earnings", "mei", "--limit", "1").stdout.contains("next page: --after \(next)"))
        try s.fails(2, "--after", "earnings", "mei", "--after", "garbage!")
    }
}
