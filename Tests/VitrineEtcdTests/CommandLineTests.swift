// The command-line tool on a cluster: `--etcd URL[,URL...]` wherever `--db` is taken; the demo
// runs; the engine-only subcommands refuse with exit 2; `--db` with `--etcd` is a usage error.

import Foundation
import Testing

@Suite(.enabled(if: etcdSuiteEnabled), .ownCluster("cli"), .serialized)
struct CommandLineTests {
    /// The `vitrine` executable built with the tests (beside the test bundle).
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["VITRINE_BINARY"] { return path }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("vitrine").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return "vitrine-binary-not-found"
    }()

    func vitrine(_ arguments: String) -> (status: Int32, out: String, err: String) {
        EtcdCluster.run(["-c", "exec \"$0\" \(arguments)", Self.binary])
    }

    @Test func demoAndShopCommandsRunOnTheCluster() throws {
        let cluster = try EtcdCluster.get()
        let urls = cluster.endpoints.map(\.absoluteString).joined(separator: ",")
        let demo = vitrine("demo --etcd \(urls)")
        #expect(demo.status == 0, "\(demo.err)")
        #expect(demo.out.contains("Checked out with idempotency key"))
        let again = vitrine("demo --etcd \(urls)")
        #expect(again.status == 0, "\(again.err)")
        #expect(again.out.hasPrefix("Using "))
        let order = vitrine("orders user-0000 --json --etcd \(urls)")
        #expect(order.status == 0, "\(order.err)")
        for engineOnly in ["inspect", "check", "checkpoint", "compact out.db"] {
            let refused = vitrine("\(engineOnly) --etcd \(urls)")
            #expect(refused.status == 2)
            #expect(refused.err.contains("not on an etcd cluster"), "\(refused.err)")
        }
        let both = vitrine("cart user-0000 --db x.db --etcd \(urls)")
        #expect(both.status == 2)
        #expect(both.err.contains("exclude each other"))
        let missing = vitrine("order no-such-order --etcd \(urls)")
        #expect(missing.status == 1)
    }
}
