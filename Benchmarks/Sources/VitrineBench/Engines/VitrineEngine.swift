// Vitrine's engine (VitrineStore), driven through the same interface as the peers.
//
// Durability: `.durable` -> `.full` (one sync per commit), `.durableConcurrent` -> `.grouped`
// (concurrent committers share one sync, each still returns only once durable), `.relaxed` ->
// `.relaxed`. Values are read zero-copy through `withValue(forKey:)`.
//
// Writes take the batch path when two or more other callers are writing (`write(batching: .whenContended)`,
// what the domain layer does): concurrent callers' transactions then share one commit, each in
// its own savepoint. The flash-sale crowd runs as Swift tasks on `batchWrite`'s async form.

import Foundation
import Synchronization
import VitrineStore

final class VitrineEngine: BenchEngine, @unchecked Sendable {
    static let name = "Vitrine"
    /// The engine is this repository's: its version is the commit the suite was built from.
    static var version: String { "@ " + (ProcessInfo.processInfo.environment["BENCH_GIT_COMMIT"] ?? "working tree") }

    static func configuration(_ durability: Durability) -> String {
        switch durability {
        case .durable: "durability .full"
        case .durableConcurrent: "durability .grouped (group commit)"
        case .relaxed: "durability .relaxed; loads in bulkLoad(.unlogged) (a crash before the load returns takes it back to its start)"
        }
    }

    fileprivate let db: Database
    private var isOpen = true

    init(directory: String, durability: Durability) throws {
        let mode: VitrineStore.Durability =
            switch durability {
            case .durable: .full
            case .durableConcurrent: .grouped
            case .relaxed: .relaxed
            }
        db = try Database(path: directory + "/bench.vitrine", options: DatabaseOptions(durability: mode))
        // Create the tables only when missing: a write transaction reads the free list, which an
        // open for reading never needs (after workload 12 that list is large).
        let missing = try db.read { tx in try BenchTable.allCases.contains { try tx.table($0.name) == nil } }
        if missing {
            try db.write { tx in
                for table in BenchTable.allCases { _ = try tx.createTable(table.name) }
            }
        }
    }

    func makeSession() throws -> VitrineSession { VitrineSession(db: db) }

    func checkpoint() throws { try db.checkpoint() }

    /// Unlogged (BulkLoad.swift): each value written once, as LMDB's load writes each page once;
    /// a crash before the load returns takes the database back to its start (LMDB's
    /// `MDB_NOSYNC`: a power cut likewise, no sync before the end; a kill loses nothing there).
    func bulkLoad(_ body: () throws -> Void) throws { try db.bulkLoad(.unlogged, body) }

    func batchCounts() -> (batches: Int, callers: Int)? {
        let s = db.batchStatistics()
        return (s.batches, s.closures)
    }

    /// The crowd as tasks, not threads: each task's checkout is queued for the batch thread and
    /// the task is suspended until its batch is durable.
    func runCrowd(_ callers: Int, _ buy: @escaping @Sendable (VitrineWriter, Int, UInt64) throws -> Void) throws -> (Double, [UInt64]) {
        let latencies = LatencyLog()
        let failure = FirstFailure()
        let done = DispatchSemaphore(value: 0)
        let db = self.db
        let start = monotonicNanoseconds()
        Task.detached {
            await withTaskGroup(of: Void.self) { group in
                for t in 0..<callers {
                    group.addTask {
                        var mine: [UInt64] = []
                        defer { latencies.add(mine) }
                        var n: UInt64 = 0
                        while true {
                            let begin = monotonicNanoseconds()
                            let index = n
                            do {
                                try await db.batchWrite { tx in
                                    let session = VitrineSession(db: db)
                                    try withExtendedLifetime(session) { try buy(VitrineWriter(tx: tx, session: session), t, index) }
                                }
                            } catch is SoldOut {
                                return
                            } catch {
                                failure.record(error)
                                return
                            }
                            mine.append(monotonicNanoseconds() - begin)
                            n += 1
                        }
                    }
                }
            }
            done.signal()
        }
        done.wait()
        let elapsed = Double(monotonicNanoseconds() - start) / 1e9
        if let message = failure.message { throw ThreadFailure(message: message) }
        return (elapsed, latencies.all)
    }

    func close() {
        guard isOpen else { return }
        isOpen = false
        db.close()
    }
}

/// One thread's handle. Table handles are bound to a transaction in Vitrine's API, so the session
/// resolves each table at most once per transaction (on first use), as an application would at
/// the top of its closure, and forgets them when the transaction ends.
final class VitrineSession: BenchSession, @unchecked Sendable {
    fileprivate let db: Database
    fileprivate var readTables: [Table?] = Array(repeating: nil, count: BenchTable.allCases.count)
    fileprivate var writeTables: [MutableTable?] = Array(repeating: nil, count: BenchTable.allCases.count)

    init(db: Database) { self.db = db }

    func read<T>(_ body: (VitrineReader) throws -> T) throws -> T {
        defer { for i in readTables.indices { readTables[i] = nil } }
        return try db.read { tx in try body(VitrineReader(tx: tx, session: self)) }
    }

    func write<T>(_ body: (VitrineWriter) throws -> T) throws -> T {
        defer { for i in writeTables.indices { writeTables[i] = nil } }
        return try db.write(batching: .whenContended) { tx in try body(VitrineWriter(tx: tx, session: self)) }
    }
}

struct VitrineReader: BenchReader {
    fileprivate let tx: ReadTransaction
    fileprivate unowned(unsafe) let session: VitrineSession

    @inline(__always)
    private func table(_ table: BenchTable) throws -> Table? {
        if let t = session.readTables[table.rawValue] { return t }
        let t = try tx.table(table.name)
        session.readTables[table.rawValue] = t
        return t
    }

    func withValue<R>(_ table: BenchTable, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) throws -> R? {
        guard let t = try self.table(table) else { return nil }
        return try t.withValue(forKey: key) { (bytes: RawSpan) in bytes.withUnsafeBytes { body($0) } }
    }

    func scan(
        _ table: BenchTable, from start: [UInt8],
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
    ) throws {
        guard let t = try self.table(table) else { return }
        // Zero-copy: keys and values are lent straight from the map, as LMDB's cursor does.
        try t.scan(from: start) { k, v in k.withUnsafeBytes { kb in v.withUnsafeBytes { vb in body(kb, vb) } } }
    }
}

struct VitrineWriter: BenchWriter {
    fileprivate let tx: WriteTransaction
    fileprivate unowned(unsafe) let session: VitrineSession

    init(tx: WriteTransaction, session: VitrineSession) {
        self.tx = tx
        self.session = session
    }

    @inline(__always)
    private func table(_ table: BenchTable) throws -> MutableTable {
        if let t = session.writeTables[table.rawValue] { return t }
        let t = try tx.createTable(table.name)
        session.writeTables[table.rawValue] = t
        return t
    }

    func withValue<R>(_ table: BenchTable, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) throws -> R? {
        try self.table(table).withValue(forKey: key) { (bytes: RawSpan) in bytes.withUnsafeBytes { body($0) } }
    }

    func scan(
        _ table: BenchTable, from start: [UInt8],
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
    ) throws {
        try vitrineScan(self.table(table).makeCursor(), from: start, body)
    }

    func put(_ table: BenchTable, _ key: [UInt8], _ value: [UInt8], appending: Bool) throws {
        try self.table(table).put(key, value)
    }

    func delete(_ table: BenchTable, _ key: [UInt8]) throws -> Bool {
        try self.table(table).delete(key)
    }
}

private func vitrineScan(
    _ cursor: Cursor, from start: [UInt8],
    _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
) throws {
    var ok = start.isEmpty ? try cursor.first() : try cursor.seek(atLeast: start)
    while ok {
        let key = cursor.key
        let value = try cursor.value()
        let more = key.withUnsafeBytes { k in value.withUnsafeBytes { v in body(k, v) } }
        if !more { return }
        ok = try cursor.next()
    }
}

/// The first error any task of a crowd met.
private final class FirstFailure: Sendable {
    private let first = Mutex<String?>(nil)
    func record(_ error: any Error) { first.withLock { $0 = $0 ?? "\(error)" } }
    var message: String? { first.withLock { $0 } }
}
