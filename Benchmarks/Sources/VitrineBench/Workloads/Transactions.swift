// The logical steps of each transaction, written once for every engine.

import Foundation
import Synchronization

/// Thrown inside a checkout when the product is sold out: the transaction rolls back.
struct SoldOut: Error {}

/// One thread's reusable buffers: the harness allocates nothing per operation.
struct Scratch {
    var cartKey = [UInt8](repeating: 0, count: 32)
    var cartValue = [UInt8](repeating: 0, count: 16)
    var orderKey = [UInt8](repeating: 0, count: 16)
    var orderValue = [UInt8](repeating: 0, count: 64)
    var stockValue = [UInt8](repeating: 0, count: 8)
    var pageProducts: [[UInt8]]

    /// `forShowcases: false` skips the page buffers, for callers that make one per checkout.
    init(forShowcases: Bool = true) {
        pageProducts = forShowcases ? Array(repeating: [UInt8](repeating: 0, count: 16), count: Showcase.pageSize) : []
    }
}

/// Unique order keys for one thread of one measurement: nonce, thread, sequence.
struct OrderSequence {
    let nonce: UInt32
    let thread: UInt32
    var next: UInt64 = 0
}

enum Showcase {
    static let pageSize = 20

    /// One showcase page: the expert's 20 newest recommendations (one range read on the
    /// recommendations index) and each recommended product (20 point reads). Returns the number
    /// of products read. The page must be exactly the one the data set defines (same
    /// recommendations, same order, each product's record): anything else throws, so an engine
    /// that returned less (or the wrong rows) fails instead of looking fast.
    static func page<R: BenchReader>(_ tx: R, _ data: Dataset, expert: Int, _ scratch: inout Scratch) throws -> Int {
        let expertID = data.expertIDs[expert]
        let expected = data.expectedPages[expert]
        var count = 0
        var wrong = false
        try expertID.withUnsafeBytes { prefix in
            try tx.scan(.recommendations, from: expertID) { key, value in
                guard count < pageSize, key.count == 24,
                    memcmp(key.baseAddress!, prefix.baseAddress!, 16) == 0
                else { return false }
                guard count < expected.count, value.count == 24 else { wrong = true; return false }
                let entry = expected[count]
                let time = Dataset.recommendationTime(Int(entry.recommendation))
                let productID = data.productIDs[Int(entry.product)]
                let same =
                    key.loadUnaligned(fromByteOffset: 16, as: UInt64.self) == (UInt64.max - time).bigEndian
                    && value.loadUnaligned(fromByteOffset: 16, as: UInt64.self) == time.littleEndian
                    && productID.withUnsafeBytes { memcmp(value.baseAddress!, $0.baseAddress!, 16) == 0 }
                guard same else { wrong = true; return false }
                scratch.pageProducts[count].withUnsafeMutableBytes {
                    $0.baseAddress!.copyMemory(from: value.baseAddress!, byteCount: 16)
                }
                count += 1
                return true
            }
        }
        guard !wrong, count == expected.count else {
            throw BenchFailure(
                "showcase of expert \(expert): \(wrong ? "a wrong recommendation" : "\(count) recommendations") "
                    + "where the data set has \(expected.count)")
        }
        for n in 0..<count {
            let product = Int(expected[n].product)
            guard try tx.withValue(.products, scratch.pageProducts[n], { Dataset.isProduct(product, $0) }) == true else {
                throw BenchFailure("showcase of expert \(expert): recommended product \(product) missing or wrong")
            }
        }
        return count
    }
}

enum Checkout {
    /// Checkout of one unit: stock check, stock decrement, order insert, cart line update.
    /// Throws `SoldOut` (rolling back) when no unit is left.
    static func one<W: BenchWriter>(
        _ tx: W, _ data: Dataset, product: Int, user: Int,
        _ orders: inout OrderSequence, _ scratch: inout Scratch
    ) throws {
        let productID = data.productIDs[product]
        guard let stock = try tx.withValue(.stock, productID, { Dataset.int64($0) }), let stock else {
            throw BenchFailure("checkout: no stock record for product \(product)")
        }
        guard stock >= 1 else { throw SoldOut() }
        Dataset.int64Value(stock - 1, into: &scratch.stockValue)
        try tx.put(.stock, productID, scratch.stockValue)

        Dataset.orderKey(nonce: orders.nonce, thread: orders.thread, sequence: orders.next, into: &scratch.orderKey)
        data.orderValue(user: user, product: product, quantity: 1, time: orders.next, into: &scratch.orderValue)
        try tx.put(.orders, scratch.orderKey, scratch.orderValue)

        data.cartKey(user: user, product: product, into: &scratch.cartKey)
        Dataset.cartValue(quantity: 1, status: 2, into: &scratch.cartValue)
        try tx.put(.carts, scratch.cartKey, scratch.cartValue)
        orders.next += 1
    }

    /// Orders stored under `nonce` (all threads of one measurement).
    static func countOrders<R: BenchReader>(_ tx: R, nonce: UInt32) throws -> Int {
        var prefix = [UInt8](repeating: 0, count: 4)
        prefix.withUnsafeMutableBytes { $0.storeBytes(of: nonce.bigEndian, as: UInt32.self) }
        var count = 0
        try tx.scan(.orders, from: prefix) { key, _ in
            guard key.count == 16, key.loadUnaligned(as: UInt32.self) == nonce.bigEndian else { return false }
            count += 1
            return true
        }
        return count
    }
}

/// An acknowledged operation on (product, user), packed in one word so that recording it in the
/// measured loop costs one append to a preallocated array.
enum Sale {
    static func pack(product: Int, user: Int) -> UInt64 { UInt64(product) << 32 | UInt64(user) }
    static func product(_ sale: UInt64) -> Int { Int(sale >> 32) }
    static func user(_ sale: UInt64) -> Int { Int(sale & 0xFFFF_FFFF) }
}

/// Acknowledged operations, added by each worker once when it finishes.
final class SalesLog: Sendable {
    private let values = Mutex<[UInt64]>([])
    func add(_ mine: [UInt64]) { values.withLock { $0.append(contentsOf: mine) } }
    var all: [UInt64] { values.withLock { $0 } }
}

/// The checks after a write workload's round, in one read transaction: the answers the engine
/// gives must be exactly those its acknowledged commits imply.
enum Verify {
    /// After checkouts: the orders stored under `nonce` are exactly the acknowledged checkouts,
    /// each one's cart line says "ordered", and every stock record (the whole table, in key
    /// order) equals the initial stock less the units sold by every checkout acknowledged on this
    /// engine's catalogue so far: stock is conserved, nothing oversold or lost.
    static func checkouts<S: BenchSession>(
        _ session: S, _ context: BenchContext, engine: String, nonce: UInt32, acknowledged: [UInt64]
    ) throws {
        let data = context.data
        let units = context.recordSales(engine, acknowledged)
        try session.read { tx in
            let orders = try Checkout.countOrders(tx, nonce: nonce)
            guard orders == acknowledged.count else {
                throw BenchFailure("\(acknowledged.count) checkouts acknowledged, \(orders) orders stored")
            }
            var key = [UInt8]()
            for sale in acknowledged {
                data.cartKey(user: Sale.user(sale), product: Sale.product(sale), into: &key)
                guard try tx.withValue(.carts, key, { $0.count == 16 ? $0.loadUnaligned(fromByteOffset: 8, as: Int64.self) : -1 }) == 2
                else {
                    throw BenchFailure("cart line of acknowledged checkout (product \(Sale.product(sale))) not marked ordered")
                }
            }
            try stock(tx, data, units: units)
        }
    }

    /// Every stock record, in key order: initial stock less `units` sold (the hot product's is
    /// set by the flash sale and checked there).
    static func stock<R: BenchReader>(_ tx: R, _ data: Dataset, units: [Int32]) throws {
        var rows = 0, wrongAt = -1
        let expected = data.productCount
        try data.sortedIDBytes.withUnsafeBytes { ids in
            try tx.scan(.stock, from: []) { key, value in
                guard rows < expected, key.count == 16, memcmp(key.baseAddress!, ids.baseAddress! + rows &* 16, 16) == 0,
                    let left = Dataset.int64(value)
                else { wrongAt = rows; return false }
                let product = data.sortedProducts[rows]
                if product != Dataset.hotProduct && left != Dataset.initialStock - Int64(units[product]) {
                    wrongAt = rows
                    return false
                }
                rows += 1
                return true
            }
        }
        guard wrongAt < 0, rows == expected else {
            throw BenchFailure(
                wrongAt >= 0
                    ? "stock not conserved: product \(data.sortedProducts[wrongAt]) (row \(wrongAt)) holds the wrong stock"
                    : "stock table has \(rows) rows, expected \(expected)")
        }
    }

    /// After add-to-cart: every acknowledged cart line is there, "in cart", and stock untouched.
    static func cartLines<S: BenchSession>(_ session: S, _ context: BenchContext, engine: String, acknowledged: [UInt64]) throws {
        let data = context.data
        let units = context.recordSales(engine, [])
        try session.read { tx in
            var key = [UInt8]()
            for sale in acknowledged {
                data.cartKey(user: Sale.user(sale), product: Sale.product(sale), into: &key)
                guard try tx.withValue(.carts, key, { $0.count == 16 ? $0.loadUnaligned(fromByteOffset: 8, as: Int64.self) : -1 }) == 1
                else {
                    throw BenchFailure("acknowledged cart line (product \(Sale.product(sale))) missing or not in cart")
                }
            }
            try stock(tx, data, units: units)
        }
    }
}

enum AddToCart {
    /// Add one unit of a product to a user's cart: check the product exists, write the cart line.
    static func one<W: BenchWriter>(_ tx: W, _ data: Dataset, product: Int, user: Int, _ scratch: inout Scratch) throws {
        guard try tx.withValue(.products, data.productIDs[product], { $0.count }) != nil else {
            throw BenchFailure("add to cart: product \(product) missing")
        }
        data.cartKey(user: user, product: product, into: &scratch.cartKey)
        Dataset.cartValue(quantity: 1, status: 1, into: &scratch.cartValue)
        try tx.put(.carts, scratch.cartKey, scratch.cartValue)
    }
}
