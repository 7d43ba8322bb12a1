// The one interface every engine is driven through.
//
// Every workload is written once, generically, against these protocols, so all three engines
// see the same keys, the same values and the same logical steps per transaction. The level is
// deliberately that of an ordered key-value store with named tables (what Vitrine's engine, LMDB
// named databases and SQLite `WITHOUT ROWID` tables all are), so no engine gets a higher-level
// shortcut the others lack. Generic code is specialised per engine in release builds: no
// existential or dynamic dispatch on the measured paths.

/// The tables of the benchmark's logical data, identical for every engine.
///
/// | table           | key (bytes)                                  | value (bytes)                      |
/// |-----------------|----------------------------------------------|------------------------------------|
/// | products        | product id (16)                              | product record (200)               |
/// | stock           | product id (16)                              | units in stock, Int64 LE (8)       |
/// | recommendations | expert id (16) ++ (UInt64.max - time) BE (8) | product id (16) ++ time LE (8)     |
/// | carts           | user id (16) ++ product id (16)              | quantity LE (8) ++ status LE (8)   |
/// | orders          | run nonce BE (4) ++ thread BE (4) ++ seq BE (8) | order record (64)               |
///
/// The recommendations key puts an expert's newest recommendation first, so a showcase page is
/// one forward range read from the expert id.
enum BenchTable: Int, CaseIterable, Sendable {
    case products, stock, recommendations, carts, orders

    var name: String {
        switch self {
        case .products: "products"
        case .stock: "stock"
        case .recommendations: "recommendations"
        case .carts: "carts"
        case .orders: "orders"
        }
    }
}

/// How commits reach stable storage; chosen when an engine is opened.
enum Durability: String, Sendable, CaseIterable {
    /// Every acknowledged commit survives power loss; one committing thread.
    case durable
    /// Every acknowledged commit survives power loss; several committing threads (group commit
    /// where the engine has it).
    case durableConcurrent
    /// A crash may lose the last commits but never corrupts.
    case relaxed
}

/// An open database of one engine, shared by all threads of a workload.
protocol BenchEngine: AnyObject, Sendable {
    associatedtype Session: BenchSession

    /// The engine's display name: "SQLite", "LMDB", "Vitrine".
    static var name: String { get }
    /// The column the engine's results go in: configurations of one engine share a family, and
    /// the report shows the better configuration per row.
    static var family: String { get }
    /// The configuration's mark in the report when its family has several ("d", "m"); nil for
    /// an engine run in one configuration.
    static var variant: String? { get }
    /// The library version linked in.
    static var version: String { get }
    /// How the engine is configured for each durability, for the report.
    static func configuration(_ durability: Durability) -> String

    /// Opens (creating when missing) the engine's database inside `directory`, with every table.
    init(directory: String, durability: Durability) throws

    /// A handle for one thread. Not shared: each thread makes its own.
    func makeSession() throws -> Session

    /// Makes everything committed so far durable in the main data file (a checkpoint / sync).
    func checkpoint() throws

    /// Runs a bulk load (workload 1's transactions) in the engine's bulk mode, where it has one:
    /// Vitrine's `bulkLoad(.unlogged)` (no log record, no checkpoint until the end). The default just runs `body`: LMDB
    /// never checkpoints, and SQLite loads with its usual checkpoints (with
    /// `wal_autocheckpoint=0` until the end, its random-order load fell from ~60 k to ~43 k/s:
    /// a large WAL slows its reads of the tree).
    func bulkLoad(_ body: () throws -> Void) throws

    /// Closes the database. Every session must be gone.
    func close()

    /// Transactions committed and callers served by them since the engine was opened, where the
    /// engine commits several callers in one transaction (Vitrine's batches); nil where every
    /// caller's transaction commits on its own.
    func batchCounts() -> (batches: Int, callers: Int)?

    /// For explaining a peer's variance: busy-handler calls so far (process-wide) and the size of
    /// its log file now; nil where the engine has neither.
    func diagnostics() -> (busyCalls: Int, logBytes: Int)?

    /// Runs `callers` concurrent callers of a flash sale, each in the engine's best form, until
    /// every one of them has seen `SoldOut`; `buy(caller, index)` is one caller's checkout. The
    /// default: one thread per caller, each with its own session (what SQLite and LMDB offer).
    /// Returns the elapsed seconds and every checkout's latency in nanoseconds.
    func runCrowd(_ callers: Int, _ buy: @escaping @Sendable (Session.Writer, Int, UInt64) throws -> Void) throws -> (Double, [UInt64])
}

extension BenchEngine {
    func diagnostics() -> (busyCalls: Int, logBytes: Int)? { nil }

    func bulkLoad(_ body: () throws -> Void) throws { try body() }

    static var family: String { name }
    static var variant: String? { nil }

    func batchCounts() -> (batches: Int, callers: Int)? { nil }

    func runCrowd(_ callers: Int, _ buy: @escaping @Sendable (Session.Writer, Int, UInt64) throws -> Void) throws -> (Double, [UInt64]) {
        let latencies = LatencyLog()
        let elapsed = try runThreads(callers) { t in
            let session = try self.makeSession()
            return {
                var mine: [UInt64] = []
                defer { latencies.add(mine) }
                var n: UInt64 = 0
                while true {
                    let start = monotonicNanoseconds()
                    do {
                        try session.write { tx in try buy(tx, t, n) }
                    } catch is SoldOut {
                        return
                    }
                    mine.append(monotonicNanoseconds() - start)
                    n += 1
                }
            }
        }
        return (elapsed, latencies.all)
    }
}

/// One thread's access to the engine: snapshot reads and serializable writes, as closures.
protocol BenchSession {
    associatedtype Reader: BenchReader
    associatedtype Writer: BenchWriter

    /// Runs `body` in a read transaction on a consistent snapshot.
    func read<T>(_ body: (Reader) throws -> T) throws -> T

    /// Runs `body` in a read-write transaction and commits it; a thrown error rolls it back.
    /// Returns once the commit is as durable as the engine's durability says.
    func write<T>(_ body: (Writer) throws -> T) throws -> T
}

/// Reads inside a transaction. Values are lent, never copied: the buffer is valid only inside
/// the closure.
protocol BenchReader {
    /// Calls `body` with the value stored under `key`; nil when the key is absent.
    func withValue<R>(_ table: BenchTable, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) throws -> R?

    /// Calls `body` with each pair whose key is >= `start` (all pairs when `start` is empty), in
    /// ascending key order, until `body` returns false or the table ends.
    func scan(
        _ table: BenchTable, from start: [UInt8],
        _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool
    ) throws
}

/// Writes inside a read-write transaction; reads see the transaction's own writes.
protocol BenchWriter: BenchReader {
    /// Inserts or replaces. `appending` promises that `key` is greater than every key in the
    /// table, an engine may use it (LMDB's `MDB_APPEND`, as its documentation recommends for
    /// loading sorted data) or ignore it.
    func put(_ table: BenchTable, _ key: [UInt8], _ value: [UInt8], appending: Bool) throws

    /// Removes `key`; returns whether it was present.
    func delete(_ table: BenchTable, _ key: [UInt8]) throws -> Bool
}

extension BenchWriter {
    func put(_ table: BenchTable, _ key: [UInt8], _ value: [UInt8]) throws {
        try put(table, key, value, appending: false)
    }
}

/// A failure inside an engine, with the engine's own code and message.
struct EngineError: Error, CustomStringConvertible {
    var engine: String
    var operation: String
    var code: Int32
    var message: String

    var description: String { "\(engine): \(operation) failed (\(code)): \(message)" }
}
