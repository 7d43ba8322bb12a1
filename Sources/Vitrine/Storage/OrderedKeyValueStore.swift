// The storage boundary of the domain layer.
//
// The domain reaches storage only through these protocols: ordered byte-string keys in one
// keyspace, read in snapshots and written in serializable transactions. They are deliberately
// the primitives FoundationDB offers (get, range read, set, clear, clear range, atomic add), so
// that the same domain code can later run on a distributed store. Limits the domain keeps to,
// because FoundationDB enforces them: keys < 10 KB, values < 100 KB, transactions << 10 MB.
//
// The domain code is generic over these protocols (never `any OrderedKeyValueStore` on a hot
// path), so the embedded implementation costs nothing beyond a direct call.

/// One key/value pair returned by a range read.
public struct KeyValue: Sendable, Hashable {
    /// The key's bytes.
    public var key: [UInt8]
    /// The value's bytes.
    public var value: [UInt8]
    /// A pair.
    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// Reads of one consistent snapshot.
public protocol OrderedKeyValueReader {
    /// The value stored under `key`, or nil.
    func get(_ key: [UInt8]) throws -> [UInt8]?

    /// Pairs with `begin <= key < end`, in ascending key order (descending when `reverse`),
    /// at most `limit` of them (`limit <= 0` means no limit).
    func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue]
}

/// A serializable read-write transaction. Reads see the transaction's own writes.
public protocol OrderedKeyValueWriter: OrderedKeyValueReader {
    /// Inserts or replaces the value under `key`.
    func set(_ key: [UInt8], _ value: [UInt8]) throws
    /// Removes `key` if present.
    func clear(_ key: [UInt8]) throws
    /// Removes every key with `begin <= key < end`.
    func clearRange(from begin: [UInt8], to end: [UInt8]) throws
    /// Adds `delta` to the little-endian signed 64-bit integer stored under `key`
    /// (a missing key counts as 0) and stores the sum.
    ///
    /// On overflow an implementation may wrap (FoundationDB's `ADD` mutation wraps modulo 2^64,
    /// silently) or throw (the in-memory and embedded stores throw): callers must not rely on
    /// either, and check that the sum fits before adding (the domain does: `addToCounter`).
    func atomicAdd(_ key: [UInt8], _ delta: Int64) throws
}

/// A store of ordered keys: snapshot reads and serializable writes, as closures.
///
/// `read` runs concurrently with writers and other readers and never waits for them.
/// `write` runs one transaction at a time; when `body` throws, nothing it wrote is kept.
/// When `write` returns, the transaction is durable under the store's durability mode.
///
/// A body may run more than once: an optimistic backend (etcd, FoundationDB) runs it again when
/// another writer changed what it read, and keeps only the last run's writes. So a body has no
/// effect outside its transaction (identifiers and times it needs are made before `write`), and
/// its result depends only on what it reads. The embedded and in-memory stores run it once.
public protocol OrderedKeyValueStore: Sendable {
    /// What a read transaction's closure gets.
    associatedtype Reader: OrderedKeyValueReader
    /// What a write transaction's closure gets.
    associatedtype Writer: OrderedKeyValueWriter
    /// Runs `body` in a read transaction: every read sees one consistent snapshot.
    func read<T>(_ body: (Reader) throws -> T) throws -> T
    /// Runs `body` in a write transaction, committed when `body` returns and rolled back when it throws.
    func write<T>(_ body: (Writer) throws -> T) throws -> T
}

/// A store whose writes can be awaited: `perform` runs a synchronous operation, which makes one
/// `write` on this store, without blocking a thread of Swift's cooperative pool while the write
/// waits for other writers or for the disk. The embedded engine runs it on its batch thread,
/// where concurrent operations share one transaction and one log write.
public protocol AsyncOrderedKeyValueStore: OrderedKeyValueStore {
    /// Runs `operation` exactly once (never retried); returns once its write is durable. (The one
    /// `write` it makes may still run its body more than once on an optimistic backend.)
    func perform<T: Sendable>(_ operation: @escaping @Sendable () throws -> T) async throws -> T
}

/// An error a backend throws when a commit was sent and its outcome was lost (the connection
/// dropped before the answer came): the transaction may or may not have been applied. Only an
/// idempotent retry resolves it; checkout does so itself, through its idempotency key.
public protocol UnknownCommitOutcome: Error {
    /// True when this error means the commit's outcome is unknown.
    var isUnknownCommitOutcome: Bool { get }
}
