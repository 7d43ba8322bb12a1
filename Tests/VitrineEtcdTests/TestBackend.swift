// The domain tests shared with Tests/VitrineTests (the symlinks in Domain/), run here on etcd:
// every store is an EtcdKeyValueStore under a prefix of its own, on one 3-member cluster that the
// first store starts (scripts/etcd-cluster.sh, temporary directory, free ports) and the end of
// the test process stops. Same tests, same assertions: the two backends give identical results.
//
// Without etcd: the tests fail when VITRINE_REQUIRE_ETCD=1, else they run on the in-memory store
// after one printed line saying so (the domain is then tested, the etcd backend is not).

import Foundation
import VitrineEtcd
import VitrineStore

@testable import Vitrine

/// The one cluster of the shared domain tests, stopped at exit.
nonisolated(unsafe) private var sharedClusterDirectory: String? = nil
private let sharedCluster: Result<EtcdCluster, Error> = {
    do {
        let cluster = try EtcdCluster.start("domain")
        sharedClusterDirectory = cluster.directory
        atexit {
            if let directory = sharedClusterDirectory {
                EtcdCluster.run([EtcdCluster.script, "stop", directory])
                try? FileManager.default.removeItem(atPath: directory)
            }
        }
        return .success(cluster)
    } catch {
        return .failure(error)
    }
}()

private let announceFallback: Void = {
    print(
        "VitrineEtcdTests: etcd is not installed; the shared domain tests run on the in-memory store (set VITRINE_REQUIRE_ETCD=1 to fail instead)"
    )
}()

func makeBackend() throws -> TestBackend {
    if !etcdInstalled && !etcdRequired {
        announceFallback
        return .memory(InMemoryKeyValueStore())
    }
    let cluster = try sharedCluster.get()
    return .etcd(try cluster.store(prefix: "domain-" + UUID().uuidString))
}

/// The backend type the shared tests are compiled against.
enum TestBackend: OrderedKeyValueStore {
    case etcd(EtcdKeyValueStore)
    case memory(InMemoryKeyValueStore)

    enum Reader: OrderedKeyValueReader {
        case etcd(EtcdKeyValueStore.Reader)
        case memory(InMemoryKeyValueStore.Reader)
        func get(_ key: [UInt8]) throws -> [UInt8]? {
            switch self {
            case .etcd(let r): return try r.get(key);
            case .memory(let r): return try r.get(key)
            }
        }
        func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            switch self {
            case .etcd(let r): return try r.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            case .memory(let r): return try r.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            }
        }
    }

    enum Writer: OrderedKeyValueWriter {
        case etcd(EtcdKeyValueStore.Writer)
        case memory(InMemoryKeyValueStore.Writer)
        func get(_ key: [UInt8]) throws -> [UInt8]? {
            switch self {
            case .etcd(let w): return try w.get(key);
            case .memory(let w): return try w.get(key)
            }
        }
        func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            switch self {
            case .etcd(let w): return try w.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            case .memory(let w): return try w.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            }
        }
        func set(_ key: [UInt8], _ value: [UInt8]) throws {
            switch self {
            case .etcd(let w): try w.set(key, value);
            case .memory(let w): try w.set(key, value)
            }
        }
        func clear(_ key: [UInt8]) throws {
            switch self {
            case .etcd(let w): try w.clear(key);
            case .memory(let w): try w.clear(key)
            }
        }
        func clearRange(from begin: [UInt8], to end: [UInt8]) throws {
            switch self {
            case .etcd(let w): try w.clearRange(from: begin, to: end);
            case .memory(let w): try w.clearRange(from: begin, to: end)
            }
        }
        func atomicAdd(_ key: [UInt8], _ delta: Int64) throws {
            switch self {
            case .etcd(let w): try w.atomicAdd(key, delta);
            case .memory(let w): try w.atomicAdd(key, delta)
            }
        }
    }

    func read<T>(_ body: (Reader) throws -> T) throws -> T {
        switch self {
        case .etcd(let s): return try s.read { try body(.etcd($0)) }
        case .memory(let s): return try s.read { try body(.memory($0)) }
        }
    }

    func write<T>(_ body: (Writer) throws -> T) throws -> T {
        switch self {
        case .etcd(let s): return try s.write { try body(.etcd($0)) }
        case .memory(let s): return try s.write { try body(.memory($0)) }
        }
    }
}
