// The embedded backend: the domain's ordered keyspace stored in one VitrineStore table.
//
// FoundationDB semantics are kept exactly: a range [begin, end) with end <= begin is empty (the
// engine's own "empty end means unbounded" convenience is not exposed here), and atomicAdd is a
// little-endian Int64 add that refuses to overflow.

import VitrineStore

/// An `OrderedKeyValueStore` over a VitrineStore `Database` (one table named "kv").
public struct EngineStore: AsyncOrderedKeyValueStore {
    /// The engine database underneath (for checkpoint, verify, statistics, close).
    public let database: Database
    static let tableName = "kv"

    /// When `write` takes the engine's batch path (Batch.swift in VitrineStore).
    public var batching: Batching

    /// Opens (creating if needed) the database file at `path`.
    /// - Throws: `StoreError` from `Database.init` (not a database, locked, corrupt, I/O).
    public init(path: String, options: DatabaseOptions = DatabaseOptions(), batching: Batching = .whenContended) throws {
        database = try Database(path: path, options: options)
        self.batching = batching
    }

    /// Wraps an already open database.
    public init(database: Database, batching: Batching = .whenContended) {
        self.database = database
        self.batching = batching
    }

    /// A read transaction's view: a snapshot of the engine.
    public struct Reader: OrderedKeyValueReader {
        let table: Table?

        public func get(_ key: [UInt8]) throws -> [UInt8]? {
            guard let table, key.count <= VitrineStore.Limits.maxKeyLength else { return nil }
            return try table.get(key)
        }

        public func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            guard let table else { return [] }
            return try EngineStore.range(table, begin, end, limit, reverse)
        }
    }

    /// A write transaction of the engine.
    public struct Writer: OrderedKeyValueWriter {
        let table: MutableTable

        public func get(_ key: [UInt8]) throws -> [UInt8]? {
            guard key.count <= VitrineStore.Limits.maxKeyLength else { return nil }
            return try table.get(key)
        }

        public func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            try EngineStore.range(table, begin, end, limit, reverse)
        }

        public func set(_ key: [UInt8], _ value: [UInt8]) throws { try table.put(key, value) }

        public func clear(_ key: [UInt8]) throws {
            guard key.count <= VitrineStore.Limits.maxKeyLength else { return }
            try table.delete(key)
        }

        public func clearRange(from begin: [UInt8], to end: [UInt8]) throws {
            guard !end.isEmpty, EngineStore.less(begin, end) else { return }
            try table.deleteRange(from: begin, to: end)
        }

        public func atomicAdd(_ key: [UInt8], _ delta: Int64) throws {
            var current: Int64 = 0
            if let bytes = try get(key) {
                guard bytes.count == 8 else {
                    throw StoreError.invalidCounter(reason: "value under the key has \(bytes.count) bytes, not 8")
                }
                current = bytes.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(as: Int64.self)) }
            }
            let (sum, overflow) = current.addingReportingOverflow(delta)
            if overflow { throw StoreError.invalidCounter(reason: "\(current) + \(delta) overflows") }
            try set(key, withUnsafeBytes(of: sum.littleEndian) { Array($0) })
        }
    }

    /// Runs `body` in a read transaction of the engine (a snapshot; never waits for writers).
    public func read<T>(_ body: (Reader) throws -> T) throws -> T {
        try database.read { tx in try body(Reader(table: try tx.table(Self.tableName))) }
    }

    /// Runs `body` as one transaction. Inside an operation submitted with `perform` (so on the
    /// batch thread) it joins the running batch's transaction in a savepoint of its own;
    /// otherwise it takes the plain path when it is the only writer, and the batch path when
    /// other callers are writing (`batching`), so that a flash sale's buyers share commits.
    public func write<T>(_ body: (Writer) throws -> T) throws -> T {
        if let tx = database.batchTransaction {
            return try tx.savepoint { try body(Writer(table: try tx.createTable(Self.tableName))) }
        }
        return try database.write(batching: batching) { tx in try body(Writer(table: try tx.createTable(Self.tableName))) }
    }

    /// Runs `operation` on the engine's batch thread, where the one `write` it makes joins
    /// the batch's transaction: the task is suspended, blocking no thread, until the batch is
    /// durable. The operation runs exactly once and is never retried.
    public func perform<T: Sendable>(_ operation: @escaping @Sendable () throws -> T) async throws -> T {
        try await database.batchWrite { _ in try operation() }
    }

    static func less(_ a: [UInt8], _ b: [UInt8]) -> Bool { a.lexicographicallyPrecedes(b) }

    static func range<T: TableReading>(_ table: T, _ begin: [UInt8], _ end: [UInt8], _ limit: Int, _ reverse: Bool) throws -> [KeyValue] {
        guard !end.isEmpty, less(begin, end) else { return [] }
        return try table.range(from: begin, to: end, limit: limit, reverse: reverse).map { KeyValue(key: $0.key, value: $0.value) }
    }
}

extension Store where Backend == EngineStore {
    /// Opens the Vitrine database file at `path` (created if missing).
    /// - Throws: `StoreError` (not a database, locked, corrupt, I/O) or `VitrineError`.
    public init(path: String, durability: Durability = .full, configuration: Configuration = .standard) throws {
        try self.init(
            backend: EngineStore(path: path, options: DatabaseOptions(durability: durability)),
            configuration: configuration)
    }
}
