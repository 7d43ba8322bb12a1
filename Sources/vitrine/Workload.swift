// `vitrine workload`: the driver for crash and stress tests.
//
// On a database without recommendations it first imports a small catalogue made from the seed
// (every third product with 1...4 units, so stock runs out; recommendations in one transaction,
// so a kill during setup leaves either all of them or none, and the next run sets up again).
// Then T threads (Foundation `Thread`s: blocking work, so no GCD pool to starve) loop over:
// add-to-cart (40%), checkout of the whole cart with a fresh idempotency key (25%), restock
// (10%), cancel of an order this process placed (15%: cancels give recommendations their units
// back, so a long run keeps finding something to buy), payment confirmation of the first
// unconfirmed partner of such an order (10%). Refusals (out of stock, empty cart, already
// cancelled, ...) are normal outcomes and count as operations. Only after the library call (the
// commit) returns is the ACK written, with one write(2) per line under a lock:
//   ACK checkout order=<order id> key=<idempotency key> user=<user id> units=<total units>
//   ACK cancel order=<order id>
//   ACK restock product=<product id> units=<n>
//   ACK confirm order=<order id> partner=<partner id> ref=<partner reference>
// It stops after --ops operations (all threads together), or runs until killed.
// With --tasks N the same mix runs in N Swift tasks through the async API instead: their
// checkouts, adds, restocks and cancels share the engine's batches (Batch.swift), and each ACK
// is still written only once the task's own operation is durable.

import Foundation
import Synchronization
import Vitrine
import VitrineStore

enum Workload: Command {
    static let spec = CommandSpec(
        name: "workload",
        summary: "drive the database from many threads and print an ACK line per durable commit (crash tests)",
        options: [
            .db,
            .value("--seed", "S", "seed of the catalogue and of the threads' choices (default 1)"),
            .value("--threads", "T", "threads, 1...256 (default 4)"),
            .value("--tasks", "N", "drive the async API from N concurrent tasks instead of threads, 1...100000"),
            .value("--ops", "N", "stop after N operations in all (default: run until killed)"),
            .value("--durability", "MODE", "full, grouped or relaxed (default full)"),
            .quiet,
            .value("--map", "FILE.svg", "with --ops: at the end, draw the page map (as inspect --map) before the closing checkpoint"),
        ],
        details: """
            Prints to stdout, flushed at once, one line per acknowledged commit:
              ACK checkout order=<order id> key=<idempotency key> user=<user id> units=<total units>
              ACK cancel order=<order id>
              ACK restock product=<product id> units=<n>
              ACK confirm order=<order id> partner=<partner id> ref=<partner reference>
            A line is printed only after the commit returned, i.e. is durable under the chosen mode.
            Exit 1 on a storage error (refusals such as out of stock are normal outcomes).
            """)

    static func run(_ args: ParsedArguments) throws -> Int32 {
        let seed = try parseSeed(args.string("--seed") ?? "1")
        let threads = Int(try args.integer("--threads", default: 4, in: 1...256) ?? 4)
        let tasks = try args.integer("--tasks", default: nil, in: 1...100_000).map(Int.init)
        let ops = try args.integer("--ops", default: nil, in: 0...Int64.max)
        let modeName = args.string("--durability") ?? "full"
        let mapPath = try args.string("--map").map { try ParsedArguments.text($0, "--map") }
        if mapPath != nil && ops == nil { throw UsageError("--map needs --ops (a run without it ends only when killed)") }
        guard let durability = Durability(rawValue: modeName) else {
            throw UsageError("--durability must be full, grouped or relaxed, got '\(modeName)'")
        }
        signal(SIGPIPE, SIG_IGN)
        return try withDatabase(args, mustExist: false, durability: durability) { db in
            let store = try db.store()
            if try hasNoRecords(in: "rec", db.backend) {
                try store.importCatalogue(catalogue(seed: seed), batchSize: 1 << 20)
            }
            let world = try World(engine: db.backend)
            guard !world.recommendations.isEmpty else { throw CLIError.failed("no recommendations to buy through in \(db.path)") }
            let run = Run(store: store, world: world, budget: ops.map(Int.init), threads: tasks ?? threads)
            let monitor = ops.map { ProgressMonitor(run: run, ops: Int($0), quiet: args.quiet) }
            if tasks != nil { run.startTasks(seed: seed) } else { run.start(seed: seed) }
            monitor?.stop()
            if let failure = run.failure.withLock({ $0 }) { throw CLIError.failed(failure) }
            // Before close(): its checkpoint would release the frozen pages the picture shows.
            // Nothing on stdout, which carries only ACK lines.
            if let mapPath { _ = try Inspect.writeMap(db, to: mapPath) }
            if isatty(STDERR_FILENO) == 1 {
                writeError("workload: \(run.done.load(ordering: .relaxed)) operations, \(run.acks.load(ordering: .relaxed)) acknowledged")
            }
            return 0
        }
    }

    /// The workload's catalogue: small, with scarce stock.
    static func catalogue(seed: UInt64) -> Catalogue {
        let size = CatalogueSize(experts: 8, products: 48, recommendations: 96, users: 16, favouritesPerUser: 0)
        var c = CatalogueGenerator(seed: seed).catalogue(size)
        for i in c.products.indices where i % 3 == 0 { c.products[i].initialStock = Int64(1 + i % 4) }
        return c
    }

    /// What the threads choose from.
    struct World: Sendable {
        var recommendations: [(product: ProductID, recommendation: RecommendationID)]
        var products: [ProductID]
        var users: [UserID]

        init(engine: CLIBackend) throws {
            var recs: [(ProductID, RecommendationID)] = []
            try engine.forEachRecord(table: "rec") { r in
                if let rec = try? Recommendation(recordBytes: r.value) { recs.append((rec.product, rec.id)) }
            }
            recommendations = recs.map { (product: $0.0, recommendation: $0.1) }
            products = Array(Set(recs.map(\.0))).sorted()
            var users: [UserID] = []
            try engine.forEachRecord(table: "user") { r in
                if let u = try? User(recordBytes: r.value) { users.append(u.id) }
            }
            self.users = users.isEmpty ? (0..<16).map { UserID("wl-user-\($0)") } : users
        }
    }

    /// The shared state of one run.
    final class Run: Sendable {
        let store: Store<CLIBackend>
        let world: World
        let budget: Int?
        let threads: Int
        let claimed = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let acks = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)
        let failure = Mutex<String?>(nil)
        let output = Mutex<Void>(())
        let instance = UUID().uuidString.lowercased().prefix(8)

        init(store: Store<CLIBackend>, world: World, budget: Int?, threads: Int) {
            self.store = store
            self.world = world
            self.budget = budget
            self.threads = threads
        }

        /// Starts the threads and waits for them.
        func start(seed: UInt64) {
            let finished = DispatchSemaphore(value: 0)
            for t in 0..<threads {
                let thread = Thread { [self] in
                    loop(thread: t, seed: seed)
                    finished.signal()
                }
                thread.stackSize = 8 << 20
                thread.name = "workload-\(t)"
                thread.start()
            }
            for _ in 0..<threads { finished.wait() }
        }

        /// Starts `threads` tasks on Swift's cooperative pool and waits for them (from this
        /// thread, which is not one of the pool's).
        func startTasks(seed: UInt64) {
            let finished = DispatchSemaphore(value: 0)
            Task.detached { [self] in
                await withTaskGroup(of: Void.self) { group in
                    for t in 0..<threads {
                        group.addTask { await self.taskLoop(task: t, seed: seed) }
                    }
                }
                finished.signal()
            }
            finished.wait()
        }

        func taskLoop(task: Int, seed: UInt64) async {
            var rng = Random(seed: seed ^ (UInt64(task + 1) &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(UInt32(truncatingIfNeeded: getpid())) << 32)
            var placed: [OrderID] = []
            var counter = 0
            while claim() {
                counter += 1
                let action = choose(&rng, &placed, key: "wl-\(instance)-t\(task)-\(counter)")
                do {
                    let store = self.store
                    let outcome = try await store.backend.perform { try Self.perform(action, on: store) }
                    acknowledge(action, outcome, &placed)
                } catch {
                    refusedOrFailed(error)
                }
                done.add(1, ordering: .relaxed)
            }
        }

        /// Takes one operation from the budget; false when it is spent or the run stops.
        func claim() -> Bool {
            if stop.load(ordering: .relaxed) { return false }
            guard let budget else { return true }
            return claimed.wrappingAdd(1, ordering: .relaxed).oldValue < budget
        }

        func loop(thread: Int, seed: UInt64) {
            var rng = Random(
                seed: seed ^ (UInt64(thread + 1) &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(UInt32(truncatingIfNeeded: getpid())) << 32)
            var placed: [OrderID] = []
            var counter = 0
            while claim() {
                counter += 1
                let action = choose(&rng, &placed, key: "wl-\(instance)-\(thread)-\(counter)")
                do {
                    acknowledge(action, try Self.perform(action, on: store), &placed)
                } catch {
                    refusedOrFailed(error)
                }
                done.add(1, ordering: .relaxed)
            }
        }

        /// One operation of the mix.
        enum Action: Sendable {
            case addToCart(UserID, ProductID, RecommendationID, Int64)
            case checkout(UserID, key: String)
            case restock(ProductID, Int64, key: String)
            case cancel(OrderID)
            case confirm(OrderID, reference: String)
            case nothing
        }

        /// What an operation did that an ACK reports.
        enum Outcome: Sendable {
            case placed(Order)
            case confirmed(OrderID, PartnerID, String)
            case done
        }

        /// Picks the next operation: add-to-cart 40%, checkout 25%, restock 10%, cancel 15%,
        /// confirm 10%.
        func choose(_ rng: inout Random, _ placed: inout [OrderID], key: String) -> Action {
            let roll = rng.below(100)
            let user = world.users[rng.below(world.users.count)]
            switch roll {
            case 0..<40:
                let r = world.recommendations[rng.below(world.recommendations.count)]
                return .addToCart(user, r.product, r.recommendation, Int64(1 + rng.below(3)))
            case 40..<65:
                return .checkout(user, key: key)
            case 65..<75:
                return .restock(world.products[rng.below(world.products.count)], Int64(1 + rng.below(10)), key: key)
            case 75..<85:
                guard !placed.isEmpty else { return .nothing }
                return .confirm(placed[rng.below(placed.count)], reference: "ref-" + key)
            default:
                guard !placed.isEmpty else { return .nothing }
                return .cancel(placed.remove(at: rng.below(placed.count)))
            }
        }

        /// Runs `action` (one transaction); the order it placed, if any.
        static func perform(_ action: Action, on store: Store<CLIBackend>) throws -> Outcome {
            switch action {
            case .addToCart(let user, let product, let rec, let quantity):
                try store.addToCart(.user(user), product: product, recommendation: rec, quantity: quantity)
            case .checkout(let user, let key):
                return .placed(try store.checkout(user: user, idempotencyKey: key, acceptPriceChanges: true).order)
            case .restock(let product, let units, let key):
                try store.restock(product, units: units, restockKey: key)
            case .cancel(let id):
                try store.cancelOrder(id)
            case .confirm(let id, let reference):
                // The first partner not confirmed yet (the intents read and the confirmation are
                // two transactions: a partner confirmed in between makes this one a refusal).
                guard let intent = try store.purchaseIntents(for: id).first(where: { $0.payment == nil }) else { return .done }
                try store.confirmPayment(order: id, partner: intent.partner, reference: reference)
                return .confirmed(id, intent.partner, reference)
            case .nothing:
                break
            }
            return .done
        }

        /// Prints the ACK line of a durable commit.
        func acknowledge(_ action: Action, _ outcome: Outcome, _ placed: inout [OrderID]) {
            switch action {
            case .confirm:
                guard case .confirmed(let id, let partner, let reference) = outcome else { return }
                ack("ACK confirm order=\(id) partner=\(partner) ref=\(reference)")
            case .checkout:
                guard case .placed(let o) = outcome else { return }
                ack("ACK checkout order=\(o.id) key=\(o.idempotencyKey) user=\(o.user) units=\(totalUnits(o))")
                placed.append(o.id)
            case .restock(let product, let units, _):
                ack("ACK restock product=\(product) units=\(units)")
            case .cancel(let id):
                ack("ACK cancel order=\(id)")
            case .addToCart, .nothing:
                break
            }
        }

        /// Refusals (out of stock, empty cart, ...) are outcomes the workload expects; a corrupt
        /// record or a storage error stops the run.
        func refusedOrFailed(_ error: Error) {
            if let error = error as? VitrineError {
                if case .corruptRecord = error { fail(describe(error)) }
            } else {
                fail(describe(error).message)
            }
        }

        /// Writes one whole line to stdout with write(2), under the output lock.
        func ack(_ line: String) {
            let ok = output.withLock { _ -> Bool in
                let bytes = Array((line + "\n").utf8)
                var written = 0
                while written < bytes.count {
                    let n = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress! + written, bytes.count - written) }
                    if n < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    written += n
                }
                return true
            }
            if ok { acks.add(1, ordering: .relaxed) } else { fail("cannot write to standard output (errno \(errno))") }
        }

        func fail(_ message: String) {
            failure.withLock { if $0 == nil { $0 = message } }
            stop.store(true, ordering: .relaxed)
        }
    }

    /// xorshift64*: the threads' choices (reproducible per seed and thread, not across runs).
    struct Random {
        var state: UInt64
        init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 0x2545_F491_4F6C_DD1D
        }
        mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    }
}

/// `workload --ops N`: the operations done so far on stderr (a terminal only), from a thread of
/// its own that reads the run's counter every 100 ms while the workers run.
final class ProgressMonitor: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)

    init(run: Workload.Run, ops: Int, quiet: Bool) {
        let progress = ProgressLine("workload", quiet: quiet)
        guard progress.enabled else { finished.signal(); return }
        let thread = Thread { [self] in
            var line = progress
            while !stopped.load(ordering: .relaxed) {
                line.update("operations", run.done.load(ordering: .relaxed), of: ops)
                usleep(100_000)
            }
            line.finish()
            finished.signal()
        }
        thread.name = "workload-progress"
        thread.start()
    }

    /// Stops the thread and clears the line.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        finished.wait()
    }
}
