// Output shared by the subcommands: money, JSON, the JSON shapes of orders, carts, showcases and
// earnings, and progress on stderr (only when stderr is a terminal).

import Foundation
import Vitrine
import VitrineStore

/// Fen as yuan: "¥12.34".
func money(_ fen: Int64) -> String {
    let sign = fen < 0 ? "-" : ""
    let m = fen.magnitude
    let cents = m % 100
    return "\(sign)¥\(m / 100).\(cents < 10 ? "0" : "")\(cents)"
}

func statusName(_ s: OrderStatus) -> String {
    switch s {
    case .placed: return "placed"
    case .settled: return "settled"
    case .cancelled: return "cancelled"
    case .paid: return "paid"
    case .expired: return "expired"
    }
}

/// Prints `value` as one line of JSON (sorted keys, so output is stable).
func printJSON<T: Encodable>(_ value: T) throws {
    print(try jsonLine(value))
}

func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

// MARK: JSON shapes

/// An order: id, status and total units first among its fields.
struct OrderJSON: Encodable {
    var id: String
    var user: String
    var status: String
    var units: Int64
    var totalFen: Int64
    var commissionFen: Int64
    var idempotencyKey: String
    var placedAt: Int64
    var statusChangedAt: Int64?
    /// When an unpaid order expires (absent on orders placed before the purchase flow).
    var paymentDueAt: Int64?
    var paidAt: Int64?
    var lines: [OrderLine]
    var replay: Bool?
    /// On a replay: the cart lines the call did not buy (absent when there are none).
    var linesNotBought: [CheckoutLine]?

    init(_ o: Order, replay: Bool? = nil, linesNotBought: [CheckoutLine]? = nil) {
        id = o.id.rawValue
        user = o.user.rawValue
        status = statusName(o.status)
        units = totalUnits(o)
        totalFen = o.totalFen
        commissionFen = o.commissionFen
        idempotencyKey = o.idempotencyKey
        placedAt = o.placedAt.millisecondsSinceEpoch
        statusChangedAt = o.statusChangedAt?.millisecondsSinceEpoch
        paymentDueAt = o.paymentDueAt?.millisecondsSinceEpoch
        paidAt = o.paidAt?.millisecondsSinceEpoch
        lines = o.lines
        self.replay = replay
        self.linesNotBought = linesNotBought
    }
}

func totalUnits(_ o: Order) -> Int64 {
    o.lines.reduce(0) { $0.addingReportingOverflow($1.quantity).partialValue }
}

func printOrder(_ o: Order) {
    print(
        "order \(o.id): \(statusName(o.status)), \(totalUnits(o)) units, total \(money(o.totalFen)), commission \(money(o.commissionFen))")
    print("  user \(o.user), key \(o.idempotencyKey), placed \(isoTime(o.placedAt))")
    for l in o.lines {
        let via = l.recommendation.map { " via \($0)" + (l.expert.map { " (\($0), \(percent(l.commissionBasisPoints)))" } ?? "") } ?? ""
        print("  \(l.quantity) × \(l.title) [\(l.product)] @ \(money(l.unitPriceFen)) = \(money(l.lineTotalFen))\(via)")
    }
}

func percent(_ basisPoints: Int64) -> String {
    String(format: "%.2f%%", Double(basisPoints) / 100)
}

func isoTime(_ t: Timestamp) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: t.date)
}

/// A cart line as it is now.
struct CartItemJSON: Encodable {
    var product: String
    var recommendation: String?
    var title: String?
    var quantity: Int64
    var unitPriceFen: Int64
    var currentUnitPriceFen: Int64
    var available: Int64
    var problem: String?

    init(_ item: CartItem) {
        product = item.line.product.rawValue
        recommendation = item.line.recommendation?.rawValue
        title = item.product?.title
        quantity = item.line.quantity
        unitPriceFen = item.line.unitPriceFen
        currentUnitPriceFen = item.currentUnitPriceFen
        available = item.available
        problem = item.problem?.rawValue
    }
}

struct CartJSON: Encodable {
    var user: String
    var items: [CartItemJSON]
    var units: Int64
    var subtotalFen: Int64?

    init(_ user: UserID, _ cart: Cart) {
        self.user = user.rawValue
        items = cart.items.map(CartItemJSON.init)
        units = cart.items.reduce(0) { $0.addingReportingOverflow($1.line.quantity).partialValue }
        subtotalFen = cart.subtotalFen
    }
}

func printCart(_ user: UserID, _ cart: Cart) {
    if cart.items.isEmpty {
        print("cart of \(user): empty")
        return
    }
    print("cart of \(user): \(cart.items.count) line(s), subtotal \(cart.subtotalFen.map(money) ?? "(overflows)")")
    for item in cart.items {
        let title = item.product?.title ?? "(product gone)"
        var line = "  \(item.line.quantity) × \(title) [\(item.line.product)] @ \(money(item.currentUnitPriceFen))"
        if let r = item.line.recommendation { line += " via \(r)" }
        line += ", \(item.available) available"
        if item.priceChanged { line += ", price was \(money(item.line.unitPriceFen))" }
        if let p = item.problem { line += " — \(p.rawValue)" }
        print(line)
    }
}
