// An in-memory `OrderedKeyValueStore`: the reference backend for tests and examples.
//
// Model: one committed state, a `SortedKeyValues` value (copy-on-write chunks).
//   - `read` takes the committed state as it is (one reference copy, under a short lock) and runs
//     the body on that snapshot without any lock held: readers never wait for the writer, and see
//     one committed state for the whole closure.
//   - `write` holds the writer lock for the whole transaction (one writer at a time, so every
//     transaction is serializable), works on its own copy of the committed state (so it reads its
//     own writes), and publishes that copy when the body returns. When the body throws, the copy
//     is dropped: nothing it wrote is kept.
// Nothing is durable: the data lives as long as the store object.
//
// Do not call `write` from inside `write` on the same store: the writer lock is not re-entrant.

import Foundation

/// Errors of the in-memory backend itself.
public enum InMemoryStoreError: Error, Hashable, Sendable {
    /// A reader or writer was used after its closure returned.
    case transactionClosed
    /// `atomicAdd` found a value that is not an 8-byte little-endian integer.
    case notACounter(key: [UInt8])
    /// `atomicAdd` would overflow a signed 64-bit integer.
    case counterOverflow(key: [UInt8])
}

/// An ordered key-value store kept in memory, with snapshot reads and one serialized writer.
///
/// Safe to share between threads and tasks. See ``OrderedKeyValueStore`` for the contract.
public final class InMemoryKeyValueStore: AsyncOrderedKeyValueStore, Sendable {
    private let committed = Locked(SortedKeyValues())
    private let writerLock = NSLock()

    /// Creates an empty store.
    public init() {}

    /// The number of keys committed.
    public var count: Int { committed.withLock { $0 }.count }

    /// Runs `body` on a snapshot of the committed state; never waits for a writer.
    public func read<T>(_ body: (Reader) throws -> T) throws -> T {
        let snapshot = committed.withLock { $0 }
        let reader = Reader(storage: snapshot)
        defer { reader.close() }
        return try body(reader)
    }

    /// Runs `body` as the only writer; publishes its writes when it returns, drops them when it throws.
    public func write<T>(_ body: (Writer) throws -> T) throws -> T {
        writerLock.lock()
        defer { writerLock.unlock() }
        let writer = Writer(storage: committed.withLock { $0 })
        defer { writer.close() }
        let result = try body(writer)
        let written = writer.storage
        committed.withLock { $0 = written }
        return result
    }

    /// Runs `operation` at once: the store is in memory, so its write never waits for a disk.
    public func perform<T: Sendable>(_ operation: @escaping @Sendable () throws -> T) async throws -> T {
        try operation()
    }

    /// Problems with the internal ordering invariants (empty when sound). For tests.
    func checkInvariants() -> [String] {
        committed.withLock { $0 }.checkInvariants()
    }

    /// A read-only view of one committed snapshot.
    public final class Reader: OrderedKeyValueReader {
        fileprivate let storage: SortedKeyValues
        private var isOpen = true

        fileprivate init(storage: SortedKeyValues) {
            self.storage = storage
        }

        fileprivate func close() { isOpen = false }

        public func get(_ key: [UInt8]) throws -> [UInt8]? {
            guard isOpen else { throw InMemoryStoreError.transactionClosed }
            return storage.get(key)
        }

        public func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            guard isOpen else { throw InMemoryStoreError.transactionClosed }
            return storage.range(from: begin, to: end, limit: limit, reverse: reverse)
        }
    }

    /// The transaction of the single writer; reads see its own writes.
    public final class Writer: OrderedKeyValueWriter {
        fileprivate var storage: SortedKeyValues
        private var isOpen = true

        fileprivate init(storage: SortedKeyValues) {
            self.storage = storage
        }

        fileprivate func close() { isOpen = false }

        private func checkOpen() throws {
            guard isOpen else { throw InMemoryStoreError.transactionClosed }
        }

        public func get(_ key: [UInt8]) throws -> [UInt8]? {
            try checkOpen()
            return storage.get(key)
        }

        public func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            try checkOpen()
            return storage.range(from: begin, to: end, limit: limit, reverse: reverse)
        }

        public func set(_ key: [UInt8], _ value: [UInt8]) throws {
            try checkOpen()
            storage.set(key, value)
        }

        public func clear(_ key: [UInt8]) throws {
            try checkOpen()
            storage.remove(key)
        }

        public func clearRange(from begin: [UInt8], to end: [UInt8]) throws {
            try checkOpen()
            storage.removeRange(from: begin, to: end)
        }

        public func atomicAdd(_ key: [UInt8], _ delta: Int64) throws {
            try checkOpen()
            var current: Int64 = 0
            if let bytes = storage.get(key) {
                guard let value = decodeLittleEndianInt64(bytes) else { throw InMemoryStoreError.notACounter(key: key) }
                current = value
            }
            let (sum, overflow) = current.addingReportingOverflow(delta)
            if overflow { throw InMemoryStoreError.counterOverflow(key: key) }
            storage.set(key, encodeLittleEndianInt64(sum))
        }
    }
}

/// The 8-byte little-endian form `atomicAdd` works on.
public func encodeLittleEndianInt64(_ value: Int64) -> [UInt8] {
    let bits = UInt64(bitPattern: value)
    return (0..<8).map { UInt8(truncatingIfNeeded: bits >> (8 * UInt64($0))) }
}

/// The value of an 8-byte little-endian counter, or nil when `bytes` is not 8 bytes long.
public func decodeLittleEndianInt64(_ bytes: [UInt8]) -> Int64? {
    guard bytes.count == 8 else { return nil }
    var bits: UInt64 = 0
    for (i, byte) in bytes.enumerated() { bits |= UInt64(byte) << (8 * UInt64(i)) }
    return Int64(bitPattern: bits)
}
