// The purchase flow's subcommands: intent, confirm (retry-safe by reference), cancel, settle,
// expire, and the workload's confirm ACK line in its help.

import Foundation
import Testing

@Suite struct PurchaseFlowCommandTests {
    @Test func intentConfirmSettleCancelAndExpire() throws {
        let s = try Sandbox()
        try s.write("tiny.json", tinyCatalogue)
        try s.ok("load", "tiny.json")
        try s.ok("add-to-cart", "ann", "r1")
        let order = try s.ok("checkout", "ann", "--key", "pay-1", "--json").json()
        let id = try #require(order["id"] as? String)
        #expect(order["status"] as? String == "placed" && order["paymentDueAt"] as? Int != nil)

        let intent = try s.ok("intent", id).stdout
        #expect(intent.contains("awaiting payment") && intent.contains("vt_order=\(id)"), "\(intent)")

        let paid = try s.ok("confirm", id, "--ref", "T-1", "--json").json()
        #expect(paid["status"] as? String == "paid" && paid["replay"] as? Bool == false)
        #expect(try s.ok("confirm", id, "--ref", "T-1").stdout.contains("already confirmed with reference T-1"))
        try s.fails(1, "already confirmed with reference \"T-1\"", "confirm", id, "--ref", "T-2")
        try s.fails(2, "--ref is required", "confirm", id)
        try s.fails(1, "is paid", "intent", id)

        // The standard settlement window (7 days) is still open.
        try s.fails(1, "settlement window", "settle", id)
        let cancelled = try s.ok("cancel", id, "--json").json()
        #expect(cancelled["status"] as? String == "cancelled")
        try s.fails(1, "is cancelled", "cancel", id)
        try s.fails(1, "no order", "confirm", "nope", "--ref", "x")

        // Nothing is overdue yet.
        #expect(try s.ok("expire", "--json").json()["count"] as? Int == 0)
        #expect(try s.ok("check").stdout == "ok\n")
        for name in ["intent", "confirm", "expire", "cancel", "settle"] {
            #expect(try s.ok("--help").stdout.contains("  \(name) "), "\(name) missing from --help")
        }
        #expect(try s.ok("workload", "--help").stdout.contains("ACK confirm order=<order id> partner=<partner id> ref=<partner reference>"))
    }
}
