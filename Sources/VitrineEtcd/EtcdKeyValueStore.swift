// The domain's ordered keyspace on an etcd cluster (v3 JSON gateway over plain HTTP, no package dependency).
//
// Keyspace: each domain key K is stored as the etcd key `keyPrefix + K` (the prefix is
// "vitrine/" by default), value as is; order is kept because the prefix is the same for all.
// A range [B, E) is the etcd range [prefix+B, prefix+E).
//
// Transactions (optimistic, serializable):
//   read:  every read of the body at one revision (Snapshot.swift); nothing is committed.
//   write: the body runs on a Writer (EtcdTransaction.swift) that buffers writes and remembers
//          what it read; the commit is one Txn whose compares prove that nothing read has changed
//          since the read revision (phantoms included). When a compare fails, another writer
//          got there first: the body runs again on a fresh snapshot, after a pause that doubles
//          from 1 ms up to `maxBackoff`, at most `maxAttempts` times. So a body may run more than
//          once (`OrderedKeyValueStore` documents it); only its last run's writes are committed.
//   A body that writes nothing commits nothing: its snapshot reads are already serializable.
//
// Failover, timeouts and the outcome of a commit lost in flight: EtcdClient.swift, EtcdError.swift.

import Dispatch
import Foundation
import Vitrine

/// An ``OrderedKeyValueStore`` on an etcd 3.4+ cluster: snapshot reads at one revision,
/// serializable commits (one compare-guarded `Txn`), retries on conflict, failover between members.
///
/// Safe to share between threads and tasks.
public final class EtcdKeyValueStore: AsyncOrderedKeyValueStore, Sendable {
    let client: EtcdClient
    private let counters = Counters()

    /// The configuration the store was made with.
    public var configuration: EtcdConfiguration { client.configuration }

    /// A store over the cluster at `configuration.endpoints`. Nothing is sent until the first
    /// transaction.
    /// - Throws: ``EtcdError/invalidConfiguration(_:)``.
    public init(configuration: EtcdConfiguration) throws {
        client = try EtcdClient(configuration)
    }

    /// A store over the members at `endpoints` (`URL[,URL...]`), other settings at their defaults.
    public convenience init(endpoints: String, keyPrefix: [UInt8] = Array("vitrine/".utf8)) throws {
        try self.init(configuration: EtcdConfiguration(endpoints: try EtcdConfiguration.endpoints(endpoints), keyPrefix: keyPrefix))
    }

    /// Runs `body` on one revision of the cluster.
    /// - Throws: what `body` throws; ``EtcdError`` (`unavailable`, `snapshotCompacted`, ...).
    public func read<T>(_ body: (Reader) throws -> T) throws -> T {
        let snapshot = Snapshot(client: client, prefix: configuration.keyPrefix, recordsReads: false)
        defer { snapshot.isOpen = false }
        return try body(Reader(snapshot))
    }

    /// Runs `body` as a serializable transaction, again on conflict (see the file's comment).
    /// - Throws: what `body` throws (nothing is committed then); ``EtcdError``:
    ///   `commitOutcomeUnknown` (the commit may or may not have been applied), `unavailable`,
    ///   `transactionTooLarge`, `tooManyConflicts`, `snapshotCompacted`, `malformedResponse`, `server`.
    public func write<T>(_ body: (Writer) throws -> T) throws -> T {
        var backoff = 0.001
        var attempts = 0
        while true {
            attempts += 1
            let snapshot = Snapshot(client: client, prefix: configuration.keyPrefix, recordsReads: true)
            let writer = Writer(snapshot)
            let result: T
            do {
                defer { snapshot.isOpen = false }
                result = try body(writer)
                if let failure = snapshot.failure { throw failure } // a read failed and the body went on
            } catch EtcdError.snapshotCompacted(let revision) {
                guard attempts < configuration.maxAttempts else { throw EtcdError.snapshotCompacted(revision: revision) }
                counters.add(retries: 1)
                continue
            }
            guard writer.hasWrites else { return result }
            let request = try writer.commitRequest(maxTxnOps: configuration.maxTxnOps, maxRequestBytes: configuration.maxRequestBytes)
            let answer = try client.call("/v3/kv/txn", request, kind: .commit)
            // From here on the Txn was answered: a malformed answer leaves its outcome unknown.
            guard (try? Wire.revision(answer, endpoint: "txn")) != nil else {
                throw EtcdError.commitOutcomeUnknown(endpoint: "txn", reason: "its answer has no header revision")
            }
            let succeeded: Bool
            switch answer["succeeded"] {
            case nil: succeeded = false // the gateway leaves out false
            case let b as Bool: succeeded = b
            default: throw EtcdError.commitOutcomeUnknown(endpoint: "txn", reason: "its answer's 'succeeded' is not a boolean")
            }
            if succeeded {
                counters.add(commits: 1)
                return result
            }
            counters.add(retries: 1)
            guard attempts < configuration.maxAttempts else { throw EtcdError.tooManyConflicts(attempts: attempts) }
            // Jittered, so that callers that collided do not collide again in step.
            Thread.sleep(forTimeInterval: backoff * Double.random(in: 0.5...1.0))
            backoff = min(backoff * 2, configuration.maxBackoff)
        }
    }

    /// Runs `operation` on a thread outside Swift's cooperative pool (its requests wait there).
    /// The operation runs once; the one `write` it makes may run its body more than once.
    public func perform<T: Sendable>(_ operation: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try operation() })
            }
        }
    }

    /// What the store did since it was made: commits, bodies run again (conflicts and compacted
    /// snapshots), requests moved to another member.
    public var statistics: (commits: Int, retries: Int, failovers: Int) {
        let (commits, retries) = counters.get()
        return (commits, retries, client.failovers)
    }
}

private final class Counters: @unchecked Sendable {
    private let lock = NSLock()
    private var commits = 0
    private var retries = 0

    func add(commits c: Int = 0, retries r: Int = 0) {
        lock.withLock {
            commits += c
            retries += r
        }
    }

    func get() -> (commits: Int, retries: Int) { lock.withLock { (commits, retries) } }
}
