// The HTTP side: one POST of JSON to etcd's v3 gateway (`/v3/kv/range`, `/v3/kv/txn`), with
// failover between members and a deadline over all of it.
//
// Failover rule: requests go to the current member; on a transport error or an error that says
// the member cannot serve now (no leader, timeout, leader changed), the next member becomes
// current and the request is tried there, until `operationTimeout` runs out (then
// `EtcdError.unavailable`). A commit is only ever sent again when it is certain it was not
// applied: the connection was refused, or the member answered that it has no leader. Any other
// loss after sending is `EtcdError.commitOutcomeUnknown`.
//
// Synchronous on purpose: `OrderedKeyValueStore` is synchronous. The caller's thread waits for
// the answer (HTTPPost.swift: POSIX sockets with a deadline; why not URLSession is said there);
// async callers come through `EtcdKeyValueStore.perform`, which moves the wait off Swift's
// cooperative pool.

import Foundation

final class EtcdClient: @unchecked Sendable {
    let configuration: EtcdConfiguration
    private let lock = NSLock()
    private var current = 0 // guarded by lock: the member requests go to first
    private var moves = 0 // guarded by lock: how many times a request moved to another member
    /// Kept-alive connections for reads (commits always use a fresh one: HTTPPost.swift).
    private let pool = ConnectionPool()

    /// What a request is: a read may be sent again after any failure; a commit only when it
    /// certainly was not applied.
    enum Kind { case read, commit }

    init(_ configuration: EtcdConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        for url in configuration.endpoints where url.scheme?.lowercased() != "http" || url.host == nil {
            throw EtcdError.invalidConfiguration("only http:// endpoints are supported: \(url.absoluteString)")
        }
    }

    /// How many times a request moved to another member (failovers), since the client was made.
    var failovers: Int { lock.withLock { moves } }

    var endpointNames: [String] { configuration.endpoints.map(\.absoluteString) }

    /// Sends `body` to `path` (for example "/v3/kv/txn") and returns the answer's JSON object.
    /// - Throws: `EtcdError` (`unavailable`, `commitOutcomeUnknown`, `snapshotCompacted`,
    ///   `transactionTooLarge`, `malformedResponse`, `server`).
    func call(_ path: String, _ body: Data, kind: Kind) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(configuration.operationTimeout)
        var lastError = "no attempt"
        var tried = 0
        while true {
            let index = lock.withLock { current }
            let endpoint = configuration.endpoints[index % configuration.endpoints.count]
            let name = endpoint.absoluteString
            let outcome = send(endpoint, path: path, body, deadline: deadline, pooled: kind == .read)
            switch outcome {
            case .answer(let status, let data):
                let object: [String: Any]
                do {
                    object = try Self.object(data, endpoint: name)
                } catch let error as EtcdError where kind == .commit {
                    // Something answered a commit, but not etcd's gateway: it may have been applied.
                    throw EtcdError.commitOutcomeUnknown(endpoint: name, reason: "HTTP \(status), \(error)")
                }
                if status == 200 { return object }
                let message = (object["message"] as? String) ?? (object["error"] as? String) ?? "HTTP \(status)"
                let code = Wire.int(object["code"]) ?? -1
                switch Self.classify(message) {
                case .notServing:
                    lastError = "\(name): \(message)"
                case .maybeApplied:
                    if kind == .commit { throw EtcdError.commitOutcomeUnknown(endpoint: name, reason: message) }
                    lastError = "\(name): \(message)"
                case .compacted:
                    throw EtcdError.snapshotCompacted(revision: -1)
                case .tooManyOps:
                    throw EtcdError.transactionTooLarge(
                        what: "operations (refused by the cluster)", count: -1, limit: configuration.maxTxnOps)
                case .tooLarge:
                    throw EtcdError.transactionTooLarge(
                        what: "bytes (refused by the cluster)", count: body.count, limit: configuration.maxRequestBytes)
                case .other:
                    throw EtcdError.server(endpoint: name, code: code, message: message)
                }
            case .notSent(let reason):
                lastError = "\(name): \(reason)"
            case .lost(let reason):
                if kind == .commit { throw EtcdError.commitOutcomeUnknown(endpoint: name, reason: reason) }
                lastError = "\(name): \(reason)"
            }
            // This member cannot serve: the next one becomes current (unless another caller moved on already).
            lock.withLock {
                moves += 1
                if current == index { current = (index + 1) % configuration.endpoints.count }
            }
            tried += 1
            guard Date() < deadline else { throw EtcdError.unavailable(endpoints: endpointNames, lastError: lastError) }
            // Once every member was tried, wait a little: an election takes about a second.
            if tried % configuration.endpoints.count == 0 { Thread.sleep(forTimeInterval: 0.1) }
            guard Date() < deadline else { throw EtcdError.unavailable(endpoints: endpointNames, lastError: lastError) }
        }
    }

    private enum Outcome {
        case answer(status: Int, data: Data)
        /// Certainly never reached the member.
        case notSent(String)
        /// Sent, or maybe sent; no answer.
        case lost(String)
    }

    private enum ServerError { case notServing, maybeApplied, compacted, tooManyOps, tooLarge, other }

    /// etcd's error texts (etcdserver/api/v3rpc/rpctypes): which ones prove nothing was applied.
    private static func classify(_ message: String) -> ServerError {
        let m = message.lowercased()
        if m.contains("compacted") { return .compacted }
        if m.contains("too many operations") { return .tooManyOps }
        if m.contains("request is too large") { return .tooLarge }
        // Refused before a proposal was made: safe to send again elsewhere.
        if m.contains("no leader") || m.contains("not capable") || m.contains("future revision") || m.contains("too many requests")
            || m.contains("not started") || m.contains("unhealthy cluster")
        {
            return .notServing
        }
        // A proposal may be in flight: for a commit, the outcome is unknown.
        if m.contains("timed out") || m.contains("leader changed") || m.contains("stopped") || m.contains("canceled")
            || m.contains("cancelled") || m.contains("transport") || m.contains("unavailable") || m.contains("deadline")
            || m.contains("connection") || m.contains("eof")
        {
            return .maybeApplied
        }
        return .other
    }

    private static func object(_ data: Data, endpoint: String) throws -> [String: Any] {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw EtcdError.malformedResponse(endpoint: endpoint, reason: "not a JSON object (\(data.count) bytes)")
        }
        return object
    }

    /// One POST, waited for; never longer than the request timeout or `deadline`.
    private func send(_ endpoint: URL, path: String, _ body: Data, deadline: Date, pooled: Bool) -> Outcome {
        let requestDeadline = min(deadline, Date().addingTimeInterval(configuration.requestTimeout))
        guard let host = endpoint.host else { return .notSent("no host in \(endpoint)") }
        let base = endpoint.path.hasSuffix("/") ? String(endpoint.path.dropLast()) : endpoint.path
        switch HTTPPost.post(
            host: host, port: endpoint.port ?? 80, path: base + path, body: body, deadline: requestDeadline,
            pool: pooled ? pool : nil)
        {
        case .answer(let status, let data): return .answer(status: status, data: data)
        case .notSent(let reason): return .notSent(reason)
        case .lost(let reason): return .lost(reason)
        }
    }
}
