// What can go wrong between the domain and an etcd cluster, as typed errors.
//
// Every response of the cluster is untrusted input: a body that does not parse, a field of the
// wrong type, a key outside the store's prefix is `malformedResponse`, never a trap.
//
// The line that matters most is between "not applied" and "unknown". A commit (`Txn`) that fails
// before it reaches a member (connection refused, a member without a leader, a limit checked
// here) was not applied, and the backend may fail over and send it again. A commit whose request
// was sent and then lost (timeout, dropped connection, a member that lost its leader while the
// proposal was in flight) may or may not have been applied: that is `commitOutcomeUnknown`, and
// only the caller can resolve it (checkout does, through its idempotency key).

import Vitrine

/// Errors of ``EtcdKeyValueStore``.
public enum EtcdError: Error, Hashable, Sendable, CustomStringConvertible {
    /// No member answered within the store's `operationTimeout` (a cluster without quorum, every
    /// member down or paused). Nothing was applied.
    case unavailable(endpoints: [String], lastError: String)
    /// The commit was sent but its result never came back: it may or may not have been applied.
    /// Nothing else in the transaction's result can be trusted; resolve it through an idempotency
    /// key (checkout does this itself) before retrying.
    case commitOutcomeUnknown(endpoint: String, reason: String)
    /// The transaction does not fit etcd's limits: `what` is "operations" or "bytes". Checked
    /// before anything is sent (and reported the same way when the cluster's own limit is smaller
    /// than the store's configuration). Nothing was applied.
    case transactionTooLarge(what: String, count: Int, limit: Int)
    /// The transaction conflicted with other writers on every one of `attempts` runs.
    case tooManyConflicts(attempts: Int)
    /// The transaction's read revision was compacted away on every run.
    case snapshotCompacted(revision: Int64)
    /// A member's answer did not have the expected shape.
    case malformedResponse(endpoint: String, reason: String)
    /// The cluster refused the request with an error this backend does not handle.
    case server(endpoint: String, code: Int, message: String)
    /// `atomicAdd` found a value that is not an 8-byte little-endian integer.
    case notACounter(key: [UInt8])
    /// `atomicAdd` would overflow a signed 64-bit integer.
    case counterOverflow(key: [UInt8])
    /// A reader or writer was used after its closure returned.
    case transactionClosed
    /// The store's configuration is unusable (no endpoint, a URL that does not parse, ...).
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .unavailable(let endpoints, let last):
            return "etcd cluster unavailable (no quorum or no member answering: \(endpoints.joined(separator: ","))): \(last)"
        case .commitOutcomeUnknown(let endpoint, let reason):
            return "the commit's outcome is unknown (sent to \(endpoint), then \(reason)); retry with the same idempotency key"
        case .transactionTooLarge(let what, let count, let limit):
            return "transaction too large for etcd: \(count) \(what), limit \(limit)"
        case .tooManyConflicts(let attempts): return "transaction conflicted with other writers \(attempts) times"
        case .snapshotCompacted(let revision): return "read revision \(revision) was compacted"
        case .malformedResponse(let endpoint, let reason): return "malformed answer from \(endpoint): \(reason)"
        case .server(let endpoint, let code, let message): return "etcd at \(endpoint) refused (code \(code)): \(message)"
        case .notACounter: return "atomicAdd on a value that is not an 8-byte counter"
        case .counterOverflow: return "atomicAdd would overflow a 64-bit counter"
        case .transactionClosed: return "transaction used after its closure returned"
        case .invalidConfiguration(let reason): return "invalid etcd configuration: \(reason)"
        }
    }
}

extension EtcdError: UnknownCommitOutcome {
    public var isUnknownCommitOutcome: Bool {
        if case .commitOutcomeUnknown = self { return true }
        return false
    }
}
