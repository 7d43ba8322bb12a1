// `vitrine checkout` with a used key while the cart holds new lines (issue 15, "Why" 6).

import Foundation
import Testing

@Suite struct CheckoutReplayTests {
    @Test func wholeCartReplayWithNewLinesExitsOne() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        try s.ok("add-to-cart", "ann", "r1")
        let order = try s.ok("checkout", "ann", "--key", "pay-1", "--json").json()
        let id = try #require(order["id"] as? String)
        // A plain retry is still a success.
        #expect(try s.ok("checkout", "ann", "--key", "pay-1").stdout.contains("already placed with key pay-1"))

        try s.ok("add-to-cart", "ann", "r1", "--qty", "2")
        let text = try s.fails(1, "1 cart line not bought", "checkout", "ann", "--key", "pay-1")
        #expect(text.stdout.contains("already placed with key pay-1") && text.stdout.contains(id), "\(text.stdout)")
        let json = try s.fails(1, "1 cart line not bought", "checkout", "ann", "--key", "pay-1", "--json").json()
        #expect(json["id"] as? String == id && json["replay"] as? Bool == true)
        let notBought = try #require(json["linesNotBought"] as? [[String: Any]], "\(json)")
        #expect(notBought.count == 1 && notBought.first?["quantity"] as? Int == 2)

        // A new key buys them.
        let second = try s.ok("checkout", "ann", "--key", "pay-2", "--json").json()
        #expect(second["id"] as? String != id && second["units"] as? Int == 2)
    }

    /// `--expect-total` buys only at the total the buyer agreed to.
    @Test func expectTotalRefusesAnotherTotal() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        try s.ok("add-to-cart", "ann", "r1", "--qty", "2")
        try s.fails(1, "not the ¥", "checkout", "ann", "--key", "pay-1", "--expect-total", "100")
        try s.fails(2, "--expect-total", "checkout", "ann", "--key", "pay-1", "--expect-total", "-1")
        let order = try s.ok("checkout", "ann", "--key", "pay-1", "--expect-total", "19800", "--json").json()
        #expect(order["totalFen"] as? Int == 19_800, "\(order)")
    }

    /// The showcase says what is left through a recommendation: at most the stock.
    @Test func showcaseLeftIsAtMostTheStock() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        try s.ok("add-to-cart", "ann", "r2") // lipstick: stock 1, 5 offered through r2
        try s.ok("checkout", "ann", "--key", "pay-1")
        let text = try s.ok("showcase", "mei").stdout
        #expect(text.contains("0 of 5 left through r2"), "\(text)")
        let json = try s.ok("showcase", "mei", "--json").json()
        let items = try #require(json["items"] as? [[String: Any]])
        let r2 = try #require(items.first { ($0["recommendation"] as? [String: Any])?["id"] as? String == "r2" })
        #expect(r2["available"] as? Int == 0)
    }
}
