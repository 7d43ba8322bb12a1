// Vitrine's engine (VitrineStore), driven through the same interface as the peers.
//
// Durability: `.durable` -> `.full` (one sync per commit), `.durableConcurrent` -> `.grouped`
// (concurrent committers share one sync, each still returns only once durable), `.relaxed` ->
// `.relaxed`. Values are read zero-copy through `withValue(forKey:)`.

import Foundation
import VitrineStore

final class VitrineEngine: BenchEngine, @unchecked Sendable {
    static let name = "Vitrine"
    /// The engine is this repository's: its version is the commit the suite was built from.
    static var version: String { "@ " + (ProcessInfo.processInfo.environment["BENCH_GIT_COMMIT"] ?? "working tree") }

    static func configuration(_ durability: Durability) -> String {
        switch durability {
        case .durable: "durability .full"
        case .durableConcurrent: "durability .grouped (group commit)"
        case .relaxed: "durability .relaxed"
        }
    }

    fileprivate let db: Database
    private var isOpen = true

    init(directory: String, durability: Durability) throws {
        let mode: VitrineStore.Durability = switch durability {
        case .durable: .full
        case .durableConcurrent: .grouped
        case .relaxed: .relaxed
        }
        db = try Database(path: directory + "/bench.vitrine", options: DatabaseOptions(durability: mode))
        try db.write { tx in
            for table in BenchTable.allCases { _ = try tx.createTable(table.name) }
        }
    }

    func makeSession() throws -> VitrineSession { VitrineSession(db: db) }

    func checkpoint() throws { try db.checkpoint() }

    func close() {
        guard isOpen else { return }
        isOpen = false
        db.close()
    }
}

/// One thread's handle. Table handles are bound to a transaction in Vitrine's API, so the session
/// resolves each table at most once per transaction (on first use), as an application would at
/// the top of its closure, and forgets them when the transaction ends.
final class VitrineSession: BenchSession {
    fileprivate let db: Database
    fileprivate var readTables: [Table?] = Array(repeating: nil, count: BenchTable.allCases.count)
    fileprivate var writeTables: [MutableTable?] = Array(repeating: nil, count: BenchTable.allCases.count)

    fileprivate init(db: Database) { self.db = db }

    func read<T>(_ body: (VitrineReader) throws -> T) throws -> T {
        defer { for i in readTables.indices { readTables[i] = nil } }
        return try db.read { tx in try body(VitrineReader(tx: tx, session: self)) }
    }

    func write<T>(_ body: (VitrineWriter) throws -> T) throws -> T {
        defer { for i in writeTables.indices { writeTables[i] = nil } }
        return try db.write { tx in try body(VitrineWriter(tx: tx, session: self)) }
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
