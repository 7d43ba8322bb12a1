// 16. Cart churn: the carts table as shoppers use it. A fresh database per engine (untimed) holds
// 4 cart lines per user; then each round runs single-thread transactions (relaxed), one operation
// each, drawn from the same seeded sequence for every engine:
//   50% add a line (a random product to a random user's cart),
//   25% list a user's cart (one range read over the user's prefix),
//   15% remove one line of a user's cart,
//   10% an abandoned cart cleaned up: every line of a user's cart deleted, in one transaction.
// Adds and removals balance at about 3.5 lines per user, so the live data stays about the same
// size: whatever the files grow by is space the engine did not reuse. Reported: operations/s with
// latency, and the files' size on disk (after a checkpoint) before and after the round.
//
// Checked against a model of every cart, updated on each acknowledged commit: a listing must
// return exactly the user's lines (each key's product is the one its value names, every line
// the model has, no other); each removal must find its line; after a cleanup the user's prefix
// must be empty in the same transaction; after the round every user's cart is listed and checked.
// A line's value is its product's index as the quantity (status 1, in cart), so a listing can be
// checked without a reverse lookup of ids.

import Foundation

struct CartChurn: Workload {
    let id = "16"
    let title = "Cart churn: add lines, list carts, remove lines, clean up abandoned carts (relaxed), with space reuse"
    static let linesPerUser = 4
    static let name = "relaxed cart churn, 1 thread"
    let metrics =
        [Metric(name: CartChurn.name, unit: "ops/s", higherIsBetter: true)] + Latency.metrics(CartChurn.name)
        + [
            Metric(name: "cart churn: files before the round", unit: "MiB", higherIsBetter: false),
            Metric(name: "cart churn: files after the round", unit: "MiB", higherIsBetter: false),
        ]

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let directory = try context.directory(E.name, "churn", fresh: true)
        let opened = try Opened(E.self, directory: directory, durability: .relaxed)
        let data = context.data, seconds = context.size.seconds
        let users = data.userIDs.count
        let model = CartModel(users: users)
        var scratch = Scratch(forShowcases: false)
        var loadRng = SplitMix64(seed: 0xCA27)
        for chunk in stride(from: 0, to: users, by: 1000) {
            try opened.session.write { tx in
                for user in chunk..<min(chunk + 1000, users) {
                    for _ in 0..<Self.linesPerUser {
                        let product = data.randomProduct(&loadRng)
                        if model.lines[user].contains(Int32(product)) { continue }
                        try Churn.add(tx, data, user: user, product: product, &scratch)
                        model.lines[user].append(Int32(product))
                    }
                }
            }
        }
        try opened.engine.checkpoint()
        return EngineRun(
            round: { round in
                let before = diskBytes(directory)
                var rng = SplitMix64(seed: 0x16_0000 + UInt64(round))
                var latencies: [UInt64] = []
                latencies.reserveCapacity(1 << 16)
                let session: E.Session = opened.session
                let rate = try timedOperations(seconds: seconds, latencies: &latencies) {
                    let user = rng.below(users), dice = rng.below(100)
                    if dice < 50 {
                        let product = data.randomProduct(&rng)
                        try session.write { tx in try Churn.add(tx, data, user: user, product: product, &scratch) }
                        if !model.lines[user].contains(Int32(product)) { model.lines[user].append(Int32(product)) }
                    } else if dice < 75 {
                        try session.read { tx in try Churn.list(tx, data, user: user, expected: model.lines[user]) }
                    } else if dice < 90 {
                        guard !model.lines[user].isEmpty else {
                            // Nothing to remove: the shopper looks at the empty cart instead.
                            try session.read { tx in try Churn.list(tx, data, user: user, expected: []) }
                            return
                        }
                        let n = rng.below(model.lines[user].count)
                        let product = Int(model.lines[user][n])
                        try session.write { tx in
                            data.cartKey(user: user, product: product, into: &scratch.cartKey)
                            guard try tx.delete(.carts, scratch.cartKey) else {
                                throw BenchFailure("cart churn: user \(user)'s line for product \(product) was not there to remove")
                            }
                        }
                        model.lines[user].swapAt(n, model.lines[user].count - 1)
                        model.lines[user].removeLast()
                    } else {
                        try session.write { tx in
                            for product in model.lines[user] {
                                data.cartKey(user: user, product: Int(product), into: &scratch.cartKey)
                                guard try tx.delete(.carts, scratch.cartKey) else {
                                    throw BenchFailure("cart churn: cleanup of user \(user)'s cart: line for product \(product) missing")
                                }
                            }
                            try Churn.list(tx, data, user: user, expected: [])
                        }
                        model.lines[user].removeAll(keepingCapacity: true)
                    }
                }
                try session.read { tx in
                    for user in 0..<users { try Churn.list(tx, data, user: user, expected: model.lines[user]) }
                }
                try opened.engine.checkpoint()
                let after = diskBytes(directory)
                return [rate] + Latency.values(latencies) + [Double(before) / 1_048_576, Double(after) / 1_048_576]
            },
            finish: {
                opened.close()
                context.removeDirectory(directory)
            })
    }
}

enum Churn {
    /// Puts user `user`'s line for `product`: quantity = the product's index, status 1 (in cart).
    static func add<W: BenchWriter>(_ tx: W, _ data: Dataset, user: Int, product: Int, _ scratch: inout Scratch) throws {
        data.cartKey(user: user, product: product, into: &scratch.cartKey)
        Dataset.cartValue(quantity: Int64(product), status: 1, into: &scratch.cartValue)
        try tx.put(.carts, scratch.cartKey, scratch.cartValue)
    }

    /// Lists `user`'s cart (a range read over the user id) and checks it is exactly `expected`.
    static func list<R: BenchReader>(_ tx: R, _ data: Dataset, user: Int, expected: [Int32]) throws {
        let userID = data.userIDs[user]
        var count = 0, wrong = false
        try userID.withUnsafeBytes { prefix in
            try tx.scan(.carts, from: userID) { key, value in
                guard key.count == 32, memcmp(key.baseAddress!, prefix.baseAddress!, 16) == 0 else { return false }
                guard value.count == 16, value.loadUnaligned(fromByteOffset: 8, as: Int64.self) == Int64(1).littleEndian else {
                    wrong = true
                    return false
                }
                let product = Int64(littleEndian: value.loadUnaligned(as: Int64.self))
                guard product > 0, product < data.productCount, expected.contains(Int32(product)),
                    data.productIDs[Int(product)].withUnsafeBytes({ memcmp(key.baseAddress! + 16, $0.baseAddress!, 16) == 0 })
                else { wrong = true; return false }
                count += 1
                return true
            }
        }
        guard !wrong, count == expected.count else {
            throw BenchFailure(
                "cart of user \(user): \(wrong ? "a line that is not in it" : "\(count) lines") where the model has \(expected.count)")
        }
    }
}

/// Every user's cart lines (product indices), as the acknowledged commits left them; touched only
/// by the thread running the rounds.
private final class CartModel: @unchecked Sendable {
    var lines: [[Int32]]
    init(users: Int) {
        lines = (0..<users).map { _ in
            var line = [Int32]()
            line.reserveCapacity(32)
            return line
        }
    }
}
