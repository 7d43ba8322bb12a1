// The logical steps of each transaction, written once for every engine.

import Foundation

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
    /// of products read; throws if a recommended product is missing.
    static func page<R: BenchReader>(_ tx: R, _ data: Dataset, expert: Int, _ scratch: inout Scratch) throws -> Int {
        let expertID = data.expertIDs[expert]
        var count = 0
        try expertID.withUnsafeBytes { prefix in
            try tx.scan(.recommendations, from: expertID) { key, value in
                guard count < pageSize, key.count == 24, value.count >= 16,
                      memcmp(key.baseAddress!, prefix.baseAddress!, 16) == 0 else { return false }
                scratch.pageProducts[count].withUnsafeMutableBytes {
                    $0.baseAddress!.copyMemory(from: value.baseAddress!, byteCount: 16)
                }
                count += 1
                return true
            }
        }
        var checksum = 0
        for n in 0..<count {
            guard let stamp = try tx.withValue(.products, scratch.pageProducts[n], {
                $0.count == Dataset.productValueSize ? Int($0.loadUnaligned(as: UInt32.self)) : -1
            }), stamp >= 0 else { throw BenchFailure("showcase: recommended product missing or malformed") }
            checksum &+= stamp
        }
        consume(checksum)
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
