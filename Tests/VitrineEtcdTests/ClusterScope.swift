// A cluster of its own for each suite that asks for one: `@Suite(.ownCluster("label"))` starts
// it before the suite's first test and stops it after the last, and the suite's tests reach it
// through `EtcdCluster.current`.
//
// Without etcd the suite is skipped with a printed message, or fails when VITRINE_REQUIRE_ETCD=1.

import Testing

extension EtcdCluster {
    @TaskLocal static var current: EtcdCluster?

    /// The suite's cluster; throws when there is none (etcd missing and required, or not started).
    static func get() throws -> EtcdCluster {
        guard let cluster = current else { throw ClusterError(message: "no cluster in this scope") }
        return cluster
    }
}

struct OwnCluster: SuiteTrait, TestScoping {
    let label: String
    var isRecursive: Bool { false }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let cluster = try EtcdCluster.start(label)
        defer { cluster.stop() }
        try await EtcdCluster.$current.withValue(cluster) { try await function() }
    }
}

extension Trait where Self == OwnCluster {
    static func ownCluster(_ label: String) -> OwnCluster { OwnCluster(label: label) }
}

/// Suites that need etcd run when it is installed, or when it is required (and then fail without it).
let etcdSuiteEnabled: Bool = {
    let enabled = etcdInstalled || etcdRequired
    if !enabled { print("VitrineEtcdTests: etcd is not installed; the etcd suites are skipped (VITRINE_REQUIRE_ETCD=1 fails instead)") }
    return enabled
}()
