// Power loss, done properly (issue 5): a DOMAIN workload (catalogue import, carts, checkouts with
// idempotency keys, out-of-stock attempts, restocks, cancels, an explicit checkpoint, file growth,
// a compact of a snapshot mid-way) runs over the engine with every write, sync and truncate
// recorded. Then, for every sync point (a cut just before each sync is issued, plus the end of
// the trace), the disk states a power cut there could leave are rebuilt: any subset of the writes
// made since their file's last sync persisted (writes may reach the disk out of order) --
// exhaustively when there are few, seeded sampling above a cap -- plus the last unsynced write torn
// at 512-byte boundaries. Each state is recovered with the plain file system and checked:
//   - the database opens and `verify()` is clean;
//   - the domain invariants hold (`Store.checkIntegrity()`, the set `vitrine check` runs);
//   - every order acknowledged before the cut is there with its units, every acknowledged cancel
//     is cancelled;
//   - no transaction is partly visible: the contents equal the state after operation j for some
//     acknowledged <= j <= acknowledged + 1 (the one in flight may or may not have made it).
//     The catalogue import runs in several transactions, so while it is in flight only the other
//     checks apply.
//
// Knobs: VITRINE_POWERLOSS_OPS (workload operations after the setup), VITRINE_POWERLOSS_STATE_CAP
// (states per sync point), VITRINE_POWERLOSS_EXHAUSTIVE (enumerate all 2^n subsets up to this n),
// VITRINE_POWERLOSS_PRODUCTS (catalogue size), VITRINE_SEED.

import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import Vitrine
@testable import VitrineStore

@Suite struct PowerLossCampaignTests {
    typealias Model = [String: [[UInt8]: [UInt8]]]

    /// One domain operation as the workload saw it.
    struct Operation {
        var name: String
        var ackedAt: Int // trace length when it returned
        var state: Model // contents after it
        var multiTransaction: Bool // its intermediate states are legitimate too
        var orders: [OrderID: Int64] // orders acknowledged so far (id -> units)
        var cancelled: Set<OrderID> // cancels acknowledged so far
    }

    struct Recording {
        var paths: [String]
        var base: [[UInt8]]
        var events: [IOEvent]
        var operations: [Operation] // operations[0] is the state before recording
        var tally: [String: Int]
        var compactChecked: Bool
    }

    static func contents(_ db: Database) throws -> Model {
        try db.read { tx in
            var m: Model = [:]
            for name in try tx.tableNames() {
                guard let t = try tx.table(name) else { continue }
                var rows: [[UInt8]: [UInt8]] = [:]
                for (k, v) in try t.range(from: [], to: []) { rows[k] = v }
                if !rows.isEmpty { m[name] = rows }
            }
            return m
        }
    }

    static func options(_ trace: IOTrace, durability: Durability) -> DatabaseOptions {
        var o = DatabaseOptions(
            durability: durability, checkpointLogBytes: 32 << 10, checkpointPages: 64,
            largeTransactionBytes: 24 << 10)
        o.fileSystem = RecordingFileSystem(trace: trace)
        o.logGrowthBytes = 64 << 10
        o.minimumMapBytes = 64 << 10
        // A batch operation submits exactly four closures: the batch thread waits for all four,
        // so they commit as one transaction (the campaign's "one operation, one commit").
        o.batch = BatchLimits(maxCount: 4, maxDelayMicroseconds: 5_000_000)
        return o
    }

    // MARK: Recording

    static func record(seed: UInt64, operations count: Int, products: Int, durability: Durability, dir: String) throws -> Recording {
        let path = dir + "/work.db"
        do { let db = try Database(path: path); db.close() }
        let trace = IOTrace()
        trace.register(path)
        trace.register(path + "-wal")
        let base = [readFile(path), readFile(path + "-wal")]

        let db = try Database(path: path, options: options(trace, durability: durability))
        defer { db.close() }
        let clock = ManualClock()
        let configuration = Configuration(reservationHold: .seconds(60), clock: .manual(clock))
        var rng = SeededRandom(seed: seed)
        var tally: [String: Int] = [:]
        var orders: [OrderID: Int64] = [:]
        var placed: [OrderID] = []
        var cancelled: Set<OrderID> = []
        var keys: [(user: UserID, key: String)] = []
        var ops = [
            Operation(
                name: "start", ackedAt: 0, state: try contents(db), multiTransaction: false,
                orders: [:], cancelled: [])
        ]
        func done(_ name: String, multi: Bool = false) throws {
            ops.append(
                Operation(
                    name: name, ackedAt: trace.count, state: try contents(db), multiTransaction: multi,
                    orders: orders, cancelled: cancelled))
        }
        /// Runs a domain call; a domain refusal (out of stock, ...) is an operation that changed nothing.
        func attempt(_ name: String, _ body: () throws -> Void) throws {
            do {
                try body()
                tally[name, default: 0] += 1
            } catch let e as VitrineError {
                let kind = "\(e)".prefix { $0 != "(" }
                tally["\(name) refused (\(kind))", default: 0] += 1
            }
            try done(name)
        }

        let store = try Store(backend: EngineStore(database: db), configuration: configuration)
        let batchStore = try Store(backend: EngineStore(database: db, batching: .always), configuration: configuration)
        try done("open store")

        let generator = CatalogueGenerator(seed: seed)
        let catalogue = generator.catalogue(
            CatalogueSize(
                experts: 3, products: products, recommendations: products + products / 2,
                users: 6, favouritesPerUser: 2))
        try store.importCatalogue(catalogue, batchSize: 16)
        try done("import", multi: true)
        let users = catalogue.users.map(\.id)
        let expert = catalogue.experts[0].id
        var buyable: [(ProductID, RecommendationID?)] = catalogue.recommendations.prefix(8).map { ($0.product, $0.id) }
        buyable += catalogue.products.prefix(4).map { ($0.id, nil) }

        // A few products with very little stock, so that checkouts run out.
        for i in 0..<3 {
            let p = Product(
                id: ProductID("pl-scarce-\(i)"), partner: "tmall", link: "https://detail.tmall.com/item.htm?id=\(7000 + i)",
                title: "限量礼盒 \(i) 号", priceFen: 19_900, merchant: "官方旗舰店", category: "beauty",
                initialStock: Int64(1 + i))
            _ = try store.upsertProduct(p)
            try done("upsert scarce product")
            buyable.append((p.id, nil))
            buyable.append((p.id, nil))
            if i == 0 {
                let r = try store.postRecommendation(
                    id: RecommendationID("pl-rec-scarce"), expert: expert, product: p.id,
                    reason: "只剩一件,手慢无", quantity: 5)
                try done("recommend scarce product")
                buyable.append((p.id, r.id))
            }
        }

        var restocks = 0
        var withCart: [UserID] = []
        for n in 0..<count {
            clock.advance(milliseconds: Int64(Int.random(in: 0...40_000, using: &rng)))
            if n == count / 3 {
                try db.checkpoint()
                tally["checkpoint", default: 0] += 1
                try done("checkpoint")
                continue
            }
            if n == count / 2 {
                // A compact of a snapshot into another file, while the source stays open.
                let target = dir + "/compact.vdb"
                try db.compact(to: target)
                tally["compact", default: 0] += 1
                try done("compact")
                let copy = try Database(path: target)
                defer { copy.close() }
                #expect(try copy.verify().isClean)
                #expect(try contents(copy) == ops.last!.state, "compacted copy differs from its snapshot")
                continue
            }
            let user = users[Int.random(in: 0..<users.count, using: &rng)]
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<40:
                let (p, r) = buyable[Int.random(in: 0..<buyable.count, using: &rng)]
                try attempt("add to cart") {
                    try store.addToCart(.user(user), product: p, recommendation: r, quantity: Int64.random(in: 1...2, using: &rng))
                    if !withCart.contains(user) { withCart.append(user) }
                }
            case 40..<62:
                if let old = keys.last(where: { $0.user == user }), Int.random(in: 0..<5, using: &rng) == 0 {
                    try attempt("checkout replay") {
                        let result = try store.checkout(user: old.user, idempotencyKey: old.key)
                        #expect(result.isReplay)
                    }
                    break
                }
                // Mostly a user with something in the cart (an empty checkout is refused).
                let user =
                    withCart.isEmpty || Int.random(in: 0..<6, using: &rng) == 0
                    ? user : withCart.remove(at: Int.random(in: 0..<withCart.count, using: &rng))
                let key = "pl-\(user)-\(n)"
                try attempt("checkout") {
                    let result = try store.checkout(user: user, idempotencyKey: key, acceptPriceChanges: true)
                    // Acknowledged from here on.
                    orders[result.order.id] = result.order.lines.reduce(0) { $0 + $1.quantity }
                    placed.append(result.order.id)
                    keys.append((user, key))
                }
            case 62..<72:
                let (p, _) = buyable[Int.random(in: 0..<buyable.count, using: &rng)]
                restocks += 1
                try attempt("restock") {
                    _ = try store.restock(p, units: Int64.random(in: 1...3, using: &rng), restockKey: "pl-rk-\(restocks)")
                }
            case 72..<82:
                guard !placed.isEmpty else { continue }
                let id = placed.remove(at: Int.random(in: 0..<placed.count, using: &rng))
                try attempt("cancel") {
                    _ = try store.cancelOrder(id)
                    cancelled.insert(id)
                }
            case 82..<92:
                // File growth: a long recommendation (about 1.5 KB) on a catalogue product.
                let p = catalogue.products[Int.random(in: 0..<catalogue.products.count, using: &rng)].id
                let reason = String(repeating: "这款真的很好用，回购无数次。", count: 30)
                try attempt("long recommendation") {
                    _ = try store.postRecommendation(expert: expert, product: p, reason: reason, quantity: 50)
                }
            case 92..<96:
                // Four callers in one batch: two checkouts (which may run out of stock or find an
                // empty cart), an add-to-cart, and a checkout that must fail (no such cart line),
                // undoing only itself.
                let buyers = (0..<2).map { _ in
                    withCart.isEmpty ? user : withCart.remove(at: Int.random(in: 0..<withCart.count, using: &rng))
                }
                let (p, r) = buyable[Int.random(in: 0..<buyable.count, using: &rng)]
                let adder = users[Int.random(in: 0..<users.count, using: &rng)]
                let results = Locked<[Int: Result<CheckoutResult?, Error>]>([:])
                let group = DispatchGroup()
                for i in 0..<4 {
                    Thread {
                        let outcome: Result<CheckoutResult?, Error>
                        do {
                            switch i {
                            case 0, 1:
                                outcome = .success(
                                    try batchStore.checkout(user: buyers[i], idempotencyKey: "pl-batch-\(n)-\(i)", acceptPriceChanges: true)
                                )
                            case 2:
                                try batchStore.addToCart(.user(adder), product: p, recommendation: r, quantity: 1)
                                outcome = .success(nil)
                            default:
                                outcome = .success(
                                    try batchStore.checkout(
                                        user: adder, lines: [CheckoutLine(product: "pl-no-such-line", recommendation: nil, quantity: 1)],
                                        idempotencyKey: "pl-batch-\(n)-bad"))
                            }
                        } catch {
                            outcome = .failure(error)
                        }
                        results.withLock { $0[i] = outcome }
                        group.leave()
                    }.start()
                    group.enter()
                }
                group.wait()
                let outcomes = results.withLock { $0 }
                for i in 0..<2 {
                    if case .success(let result?) = outcomes[i] {
                        orders[result.order.id] = result.order.lines.reduce(0) { $0 + $1.quantity }
                        placed.append(result.order.id)
                        keys.append((buyers[i], "pl-batch-\(n)-\(i)"))
                        tally["batched checkout", default: 0] += 1
                    } else {
                        tally["batched checkout refused", default: 0] += 1
                    }
                }
                if case .success = outcomes[2] { if !withCart.contains(adder) { withCart.append(adder) } }
                if case .failure(let e)? = outcomes[3], case VitrineError.notInCart = e {
                    tally["batched failing closure", default: 0] += 1
                } else {
                    Issue.record("the failing closure of a batch did not fail with notInCart: \(String(describing: outcomes[3]))")
                }
                if case .failure(let e)? = outcomes[2], !(e is VitrineError) { throw e }
                try done("batch of four")
            default:
                let (p, r) = buyable[Int.random(in: 0..<buyable.count, using: &rng)]
                try attempt("remove from cart") {
                    _ = try store.removeFromCart(.user(user), product: p, recommendation: r)
                }
            }
        }
        #expect(try store.checkIntegrity().isEmpty)
        return Recording(paths: trace.paths, base: base, events: trace.events, operations: ops, tally: tally, compactChecked: true)
    }

    // MARK: Checking

    struct Outcome {
        var states = 0
        var syncPoints = 0
        var lost = 0
        var corrupt = 0
        var exhaustivePoints = 0
        var sampledPoints = 0
        var tornStates = 0
        var inFlightSeen = 0
        var writableChecked = 0
        var failures: [String] = []
    }

    static func check(_ rec: Recording, dir: String, cap: Int, exhaustiveUpTo: Int, writeEvery: Int, seed: UInt64) -> Outcome {
        var outcome = Outcome()
        var rng = SeededRandom(seed: seed ^ 0x5eed)
        let checkDir = dir + "/check"
        try? FileManager.default.createDirectory(atPath: checkDir, withIntermediateDirectories: true)
        let targets = rec.paths.map { checkDir + "/" + ($0 as NSString).lastPathComponent }
        let ops = rec.operations

        func tryState(_ files: [[UInt8]], cut: Int, variant: @autoclosure () -> String) {
            outcome.states += 1
            for (i, target) in targets.enumerated() { writeFile(target, i < files.count ? files[i] : []) }
            let acked = ops.lastIndex { $0.ackedAt <= cut } ?? 0
            let inFlight = acked + 1 < ops.count ? ops[acked + 1] : nil
            func fail(_ what: String, lost: Bool) {
                if lost { outcome.lost += 1 } else { outcome.corrupt += 1 }
                if outcome.failures.count < 20 {
                    outcome.failures.append(
                        "cut before event \(cut) (\(variant())), acknowledged through op \(acked) '\(ops[acked].name)', in flight '\(inFlight?.name ?? "-")': \(what)"
                    )
                }
            }
            do {
                let db = try Database(path: targets[0])
                defer { db.close() }
                let report = try db.verify()
                guard report.isClean else { return fail("verify: \(report)", lost: false) }
                let got = try contents(db)
                let store = try Store(readingFrom: EngineStore(database: db))
                let problems = try store.checkIntegrity()
                guard problems.isEmpty else { return fail("integrity: \(problems.prefix(3))", lost: false) }
                // Acknowledged orders and cancels.
                let expected = ops[acked]
                defer { if outcome.states % writeEvery == 0 { checkWritable(db, got) } }
                for (id, units) in expected.orders {
                    guard let order = try? store.order(id) else { return fail("acknowledged order \(id) missing", lost: true) }
                    let have = order.lines.reduce(0) { $0 + $1.quantity }
                    guard have == units else { return fail("order \(id) has \(have) units, acknowledged \(units)", lost: true) }
                    if expected.cancelled.contains(id), order.status != .cancelled {
                        return fail("acknowledged cancel of \(id) not there (status \(order.status))", lost: true)
                    }
                }
                // No transaction partly visible: the state after some operation j, acked <= j <= acked + 1.
                if got == expected.state { return }
                if let inFlight {
                    if got == inFlight.state { outcome.inFlightSeen += 1; return }
                    if inFlight.multiTransaction { outcome.inFlightSeen += 1; return }
                }
                let match = ops.indices.first { ops[$0].state == got }
                fail("contents match op \(match.map(String.init) ?? "none")", lost: match.map { $0 < acked } ?? false)
            } catch {
                fail("open/read failed: \(error)", lost: false)
            }
        }

        /// After recovery the database takes new transactions, and they survive a reopen.
        func checkWritable(_ db: Database, _ before: Model) {
            do {
                let store = try Store(backend: EngineStore(database: db))
                _ = try store.restock(ProductID("pl-scarce-0"), units: 1, restockKey: "after-recovery")
                let after = try contents(db)
                db.close()
                let again = try Database(path: targets[0])
                defer { again.close() }
                guard try again.verify().isClean, try contents(again) == after, after != before,
                    try Store(readingFrom: EngineStore(database: again)).checkIntegrity().isEmpty
                else {
                    outcome.corrupt += 1
                    outcome.failures.append("state \(outcome.states): write after recovery not durable or not clean")
                    return
                }
                outcome.writableChecked += 1
            } catch VitrineError.unknownProduct {
                outcome.writableChecked += 1 // cut before the product existed
            } catch {
                outcome.corrupt += 1
                outcome.failures.append("state \(outcome.states): write after recovery failed: \(error)")
            }
        }

        var disk = PowerCutState(base: rec.base)
        for cut in 0...rec.events.count {
            let atEnd = cut == rec.events.count
            let (durable, volatile) = (disk.durable, disk.volatile)
            if atEnd || rec.events[cut].isSync {
                outcome.syncPoints += 1
                let n = volatile.count
                // Subsets of the unsynced writes (applied in trace order).
                var masks: [[Bool]] = []
                if n <= exhaustiveUpTo {
                    outcome.exhaustivePoints += 1
                    for m in 0..<(1 << n) { masks.append((0..<n).map { m & (1 << $0) != 0 }) }
                } else {
                    outcome.sampledPoints += 1
                    masks.append(Array(repeating: false, count: n))
                    masks.append(Array(repeating: true, count: n))
                    // In-order prefixes (a cut at an event boundary before this sync, nothing
                    // reordered), evenly spaced over half the cap; then random subsets.
                    let prefixes = max(1, min(n - 1, cap / 2))
                    for k in 1...prefixes {
                        let len = k * n / (prefixes + 1)
                        if len > 0 { masks.append((0..<n).map { $0 < len }) }
                    }
                    while masks.count < cap { masks.append((0..<n).map { _ in Bool.random(using: &rng) }) }
                }
                for mask in masks {
                    var files = durable
                    for (i, e) in volatile.enumerated() where mask[i] { DiskImage.apply(e, to: &files) }
                    tryState(files, cut: cut, variant: "subset \(mask.map { $0 ? "1" : "0" }.joined())")
                }
                // The last unsynced write torn at 512-byte boundaries (the rest applied, or a random subset).
                if let last = volatile.lastIndex(where: {
                    if case .write = $0 { return true }; return false
                }),
                    case .write(_, _, let bytes) = volatile[last], bytes.count > 512
                {
                    var points = Array(stride(from: 512, to: bytes.count, by: 512))
                    if points.count > 3 { points.shuffle(using: &rng); points = Array(points.prefix(3)) }
                    for at in points {
                        for allOthers in [true, false] {
                            var files = durable
                            for (i, e) in volatile.enumerated() where i != last && (allOthers || Bool.random(using: &rng)) {
                                DiskImage.apply(e, to: &files)
                            }
                            DiskImage.apply(volatile[last], to: &files, tornAt: at)
                            outcome.tornStates += 1
                            tryState(
                                files, cut: cut, variant: "write \(last) torn at \(at), \(allOthers ? "others applied" : "others random")")
                        }
                    }
                }
            }
            if atEnd { break }
            disk.advance(past: rec.events[cut])
        }
        return outcome
    }

    // MARK: The campaign

    /// `.full` by default; VITRINE_POWERLOSS_MODES=full,grouped (widens the run (`.relaxed` is left
    /// out: it may lose acknowledged commits by design).
    static let modes: [Durability] = (ProcessInfo.processInfo.environment["VITRINE_POWERLOSS_MODES"] ?? "full")
        .split(separator: ",").compactMap { Durability(rawValue: String($0)) }.filter { $0 != .relaxed }

    @Test(arguments: modes)
    func powerLossCampaign(durability: Durability) throws {
        let dir = FileManager.default.temporaryDirectory.path + "/vitrine-powerloss-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let seed = envSeed(default: 5)
        let opsCount = envInt("VITRINE_POWERLOSS_OPS", default: 30)
        let products = envInt("VITRINE_POWERLOSS_PRODUCTS", default: 24)
        let cap = envInt("VITRINE_POWERLOSS_STATE_CAP", default: 12)
        let exhaustive = envInt("VITRINE_POWERLOSS_EXHAUSTIVE", default: 4)

        let start = Date()
        let rec = try Self.record(seed: seed, operations: opsCount, products: products, durability: durability, dir: dir)
        let writeEvery = max(1, envInt("VITRINE_POWERLOSS_WRITE_EVERY", default: 10))
        let outcome = Self.check(rec, dir: dir, cap: cap, exhaustiveUpTo: exhaustive, writeEvery: writeEvery, seed: seed)
        let writes = rec.events.filter {
            if case .write = $0 { return true }; return false
        }.count
        let truncates = rec.events.filter {
            if case .truncate = $0 { return true }; return false
        }.count
        let dataSyncs = rec.events.filter {
            if case .sync(0) = $0 { return true }; return false
        }.count
        let logSyncs = rec.events.filter {
            if case .sync(1) = $0 { return true }; return false
        }.count
        let seconds = Date().timeIntervalSince(start)
        print(
            "power-loss: \(outcome.states) states from \(outcome.syncPoints) sync points, \(outcome.lost) lost, \(outcome.corrupt) corrupt")
        print(
            "power-loss(\(durability)) detail: seed \(seed), \(rec.operations.count - 1) domain operations, \(rec.events.count) events (\(writes) writes, \(truncates) truncates, \(dataSyncs) data-file syncs, \(logSyncs) log syncs), "
                + "\(outcome.exhaustivePoints) sync points exhaustive, \(outcome.sampledPoints) sampled (cap \(cap)), \(outcome.tornStates) torn states, "
                + "\(outcome.inFlightSeen) states showed the in-flight operation, \(outcome.writableChecked) written to after recovery, \(String(format: "%.1f", seconds)) s"
        )
        print(
            "power-loss(\(durability)) workload: "
                + rec.tally.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        for f in outcome.failures { print("power-loss FAIL: \(f)") }
        #expect(outcome.failures.isEmpty, "\(outcome.failures.prefix(5))")
        #expect(outcome.states > 100)
        #expect(rec.tally["checkout", default: 0] > 0)
        #expect(rec.tally.keys.contains { $0.hasPrefix("checkout refused") || $0.hasPrefix("add to cart refused") })
    }
}
