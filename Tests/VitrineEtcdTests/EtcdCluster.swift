// A 3-member etcd cluster for the tests: scripts/etcd-cluster.sh in a temporary directory, on
// free loopback ports.
//
// When `etcd` is not installed, `EtcdCluster.start` throws `EtcdMissing`: the suites then skip
// with a printed message, unless VITRINE_REQUIRE_ETCD=1 (scripts/test.sh sets it, after
// installing etcd), which turns the skip into a failure.

import Foundation
import VitrineEtcd

#if canImport(Glibc)
    import Glibc
#endif

struct EtcdMissing: Error, CustomStringConvertible {
    var description: String { "etcd is not installed (apt-get install -y etcd-server, or run scripts/test.sh)" }
}

/// Whether a missing etcd must fail the tests rather than skip them.
var etcdRequired: Bool { ProcessInfo.processInfo.environment["VITRINE_REQUIRE_ETCD"] == "1" }

var etcdInstalled: Bool {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return (path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"]).contains {
        FileManager.default.isExecutableFile(atPath: "\($0)/etcd")
    }
}

final class EtcdCluster: Sendable {
    let directory: String
    let endpoints: [URL]

    static let script: String = {
        // Tests/VitrineEtcdTests/EtcdCluster.swift -> scripts/etcd-cluster.sh
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("scripts/etcd-cluster.sh").path
    }()

    private init(directory: String, endpoints: [URL]) {
        self.directory = directory
        self.endpoints = endpoints
    }

    /// Starts a fresh cluster (in a new temporary directory, on free ports) and waits until healthy.
    static func start(_ label: String) throws -> EtcdCluster {
        guard etcdInstalled else { throw EtcdMissing() }
        let directory = FileManager.default.temporaryDirectory.path + "/vitrine-etcd-\(label)-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var lastError = ""
        for _ in 0..<5 {
            let base = freeBasePort()
            let (status, out, err) = run([script, "start", directory, String(base)])
            if status == 0 {
                let urls = try EtcdConfiguration.endpoints(out.trimmingCharacters(in: .whitespacesAndNewlines))
                return EtcdCluster(directory: directory, endpoints: urls)
            }
            lastError = err
            _ = run([script, "stop", directory])
            try? FileManager.default.removeItem(atPath: directory)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        throw ClusterError(message: "cluster did not start: \(lastError)")
    }

    struct ClusterError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Stops every member and removes the directory.
    func stop() {
        _ = Self.run([Self.script, "stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `kill`, `restart`, `pause` or `resume` member 1...3.
    func member(_ action: String, _ n: Int) {
        _ = Self.run([Self.script, action, directory, String(n)])
    }

    /// The member (1...3) that leads now, or nil.
    func leader() -> Int? {
        let (status, out, _) = Self.run([Self.script, "leader", directory])
        return status == 0 ? Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
    }

    /// A store on this cluster, its keys under `prefix` (so tests do not see each other's keys).
    func store(prefix: String, endpoints: [URL]? = nil, adjust: (inout EtcdConfiguration) -> Void = { _ in }) throws -> EtcdKeyValueStore {
        var c = EtcdConfiguration(endpoints: endpoints ?? self.endpoints, keyPrefix: Array("\(prefix)/".utf8))
        adjust(&c)
        return try EtcdKeyValueStore(configuration: c)
    }

    /// Runs `/bin/bash words...`, returning its exit status, stdout and stderr. posix_spawn and
    /// waitpid, not Foundation's Process, whose waitUntilExit was seen to hang here.
    @discardableResult
    static func run(_ words: [String]) -> (Int32, String, String) {
        let base = FileManager.default.temporaryDirectory.path + "/vitrine-etcd-run-" + UUID().uuidString
        let (outPath, errPath) = (base + ".out", base + ".err")
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = (["/bin/bash"] + words).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, "/bin/bash", &actions, nil, argv, environ) == 0 else { return (-1, "", "posix_spawn failed") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0
        return (exited ? (status >> 8) & 0xff : -1, out, err)
    }

    /// A base port whose six ports (3 client, 3 peer) are free on 127.0.0.1 now.
    static func freeBasePort() -> Int {
        for _ in 0..<200 {
            let base = Int.random(in: 20_000..<60_000) & ~1
            if (base..<(base + 6)).allSatisfy(portIsFree) { return base }
        }
        return 47_000
    }

    static func portIsFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0
    }
}
