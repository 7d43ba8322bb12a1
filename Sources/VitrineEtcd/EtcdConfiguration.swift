// How an EtcdKeyValueStore reaches its cluster, and the limits it checks before sending.

import Foundation

/// Where the cluster is and how long to wait for it.
public struct EtcdConfiguration: Sendable {
    /// Client URLs of the members (`http://127.0.0.1:2379`, ...); requests go to one member and
    /// move to the next on a connection error or timeout.
    public var endpoints: [URL]
    /// Prepended to every key, so that several stores (or tests) share one cluster without
    /// seeing each other's keys. Empty for the whole keyspace.
    public var keyPrefix: [UInt8]
    /// The most compares, and the most writes, one commit may carry: the cluster's
    /// `--max-txn-ops` (scripts/etcd-cluster.sh starts it with 2048; etcd's own default is 128,
    /// too few for a 50-line checkout's compares).
    public var maxTxnOps: Int
    /// The largest request body this store sends: the cluster's `--max-request-bytes` (1.5 MiB by
    /// default). The JSON form (base64) is larger than what etcd measures, so this is conservative.
    public var maxRequestBytes: Int
    /// How long one HTTP request may go without an answer before the member is given up for the
    /// next one (a paused member accepts connections and never answers).
    public var requestTimeout: TimeInterval
    /// How long one read or commit may take over all members and retries before `unavailable`:
    /// a cluster without quorum fails in this time, never hangs.
    public var operationTimeout: TimeInterval
    /// How many times a conflicting transaction runs before `tooManyConflicts`.
    public var maxAttempts: Int
    /// The longest pause between two runs of a conflicting transaction (exponential from 1 ms).
    public var maxBackoff: TimeInterval

    public init(
        endpoints: [URL], keyPrefix: [UInt8] = Array("vitrine/".utf8), maxTxnOps: Int = 2048,
        maxRequestBytes: Int = 1_572_864, requestTimeout: TimeInterval = 2, operationTimeout: TimeInterval = 10,
        maxAttempts: Int = 200, maxBackoff: TimeInterval = 0.02
    ) {
        self.endpoints = endpoints
        self.keyPrefix = keyPrefix
        self.maxTxnOps = maxTxnOps
        self.maxRequestBytes = maxRequestBytes
        self.requestTimeout = requestTimeout
        self.operationTimeout = operationTimeout
        self.maxAttempts = maxAttempts
        self.maxBackoff = maxBackoff
    }

    /// Parses `URL[,URL...]` (the CLI's `--etcd`): each an `http://` URL with a host (TLS is not
    /// supported: the cluster is expected on a trusted network, as the script starts it).
    /// - Throws: ``EtcdError/invalidConfiguration(_:)``.
    public static func endpoints(_ list: String) throws -> [URL] {
        let parts = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var urls: [URL] = []
        for part in parts {
            guard let url = URL(string: part), let scheme = url.scheme?.lowercased(), scheme == "http",
                let host = url.host, !host.isEmpty
            else { throw EtcdError.invalidConfiguration("not an http:// URL: '\(part)'") }
            urls.append(url)
        }
        guard !urls.isEmpty else { throw EtcdError.invalidConfiguration("no endpoint") }
        return urls
    }

    func validate() throws {
        guard !endpoints.isEmpty else { throw EtcdError.invalidConfiguration("no endpoint") }
        guard maxTxnOps >= 1, maxRequestBytes >= 1024 else { throw EtcdError.invalidConfiguration("limits too small") }
        guard requestTimeout > 0, operationTimeout > 0, maxAttempts >= 1, maxBackoff >= 0 else {
            throw EtcdError.invalidConfiguration("timeouts and attempts must be positive")
        }
    }
}
