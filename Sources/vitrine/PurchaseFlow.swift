// The purchase flow's subcommands: `intent` (the intermediate page), `confirm`, `expire`,
// `cancel` and `settle`. Each prints the order (or what changed) and exits 1 when the library
// refuses (unknown order, wrong state, overdue payment, settlement window still open, ...).

import Foundation
import Vitrine
import VitrineStore

enum Intent: Command {
    static let spec = CommandSpec(
        name: "intent",
        summary: "the intermediate page of an order awaiting payment: one partner link per line, with attribution",
        positionals: [PositionalSpec(name: "ORDER_ID", help: "the order's id")],
        options: [.db, .json],
        details: """
            One block per partner sub-order: its lines, its total, whether the partner confirmed it, and per
            line the product's canonical partner link with vt_order, vt_expert and vt_rec added.
            Exit 1 when the order is not awaiting payment or its payment time has passed.
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let id = OrderID(try ParsedArguments.text(args.positionals[0], "ORDER_ID"))
        return try withDatabase(args) { db in
            let intents = try db.readingStore().purchaseIntents(for: id)
            if args.json { try printJSON(intents); return 0 }
            for i in intents {
                let state = i.payment.map { "paid, reference \($0.reference)" } ?? "awaiting payment"
                print("order \(i.order) at \(i.partner): \(money(i.totalFen)), \(state)")
                for item in i.items { print("  \(item.quantity) × [\(item.product)] \(money(item.lineTotalFen)): \(item.url)") }
            }
            return 0
        }
    }
}

enum Confirm: Command {
    static let spec = CommandSpec(
        name: "confirm",
        summary: "record a partner's payment of its part of an order (retry-safe with the same --ref)",
        positionals: [PositionalSpec(name: "ORDER_ID", help: "the order's id")],
        options: [
            .db, .json,
            .value("--ref", "R", "the partner's order reference, required"),
            .value("--partner", "P", "the partner whose sub-order was paid (required when the order has several)"),
        ],
        details: """
            The order becomes paid when every partner of its lines is confirmed. The same --ref again changes
            nothing ("already confirmed"); another reference for a confirmed partner, a reference recorded for
            another order, or an order past its payment time exits 1.
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let id = OrderID(try ParsedArguments.text(args.positionals[0], "ORDER_ID"))
        let reference = try ParsedArguments.text(try args.required("--ref"), "--ref")
        let partner = try args.string("--partner").map { PartnerID(try ParsedArguments.text($0, "--partner")) }
        return try withDatabase(args) { db in
            let result = try db.store().confirmPayment(order: id, partner: partner, reference: reference)
            if args.json {
                try printJSON(OrderJSON(result.order, replay: result.isReplay))
            } else {
                if result.isReplay { print("already confirmed with reference \(reference):") }
                printOrder(result.order)
            }
            return 0
        }
    }
}

enum Expire: Command {
    static let spec = CommandSpec(
        name: "expire",
        summary: "expire orders whose payment time has passed (a bounded batch), giving their stock back",
        options: [.db, .json, .value("--limit", "N", "at most N orders, 1...1000 (default 1000); run again while it reports N")],
        details: """
            An order none of whose partners confirmed payment becomes expired; one some partners confirmed
            becomes paid, the other partners' lines cancelled. Prints each order changed and a count
            (with --json: {"orders":[ids],"count":N}).
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let limit = Int(try args.integer("--limit", default: 1000, in: 1...1000) ?? 1000)
        return try withDatabase(args) { db in
            let orders = try db.store().expireOverdueOrders(limit: limit)
            if args.json {
                struct Result: Encodable { var orders: [String]; var count: Int }
                try printJSON(Result(orders: orders.map(\.id.rawValue), count: orders.count))
            } else {
                for o in orders { print("order \(o.id): \(statusName(o.status))") }
                print("expired \(orders.count) order(s)")
            }
            return 0
        }
    }
}

enum CancelCommand: Command {
    static let spec = CommandSpec(
        name: "cancel",
        summary: "cancel an order awaiting payment or paid (not settled): stock and commission go back",
        positionals: [PositionalSpec(name: "ORDER_ID", help: "the order's id")],
        options: [.db, .json],
        details: "Exit 1 when the order is already cancelled, expired or settled (a settled order takes returns).")

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let id = OrderID(try ParsedArguments.text(args.positionals[0], "ORDER_ID"))
        return try withDatabase(args) { db in
            let order = try db.store().cancelOrder(id)
            if args.json { try printJSON(OrderJSON(order)) } else { printOrder(order) }
            return 0
        }
    }
}

enum Settle: Command {
    static let spec = CommandSpec(
        name: "settle",
        summary: "settle a paid order once the settlement window has passed: its commission becomes payable",
        positionals: [PositionalSpec(name: "ORDER_ID", help: "the order's id")],
        options: [.db, .json],
        details: "Exit 1 when the order is not paid, or its settlement window (7 days after payment) is still open.")

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let id = OrderID(try ParsedArguments.text(args.positionals[0], "ORDER_ID"))
        return try withDatabase(args) { db in
            let order = try db.store().settleOrder(id)
            if args.json { try printJSON(OrderJSON(order)) } else { printOrder(order) }
            return 0
        }
    }
}
