// Running the built `vitrine` executable as a real process, in a fresh directory per test.
//
// The binary is found next to the test bundle in the build products directory (or at
// $VITRINE_BINARY). Output goes to files, not pipes, so a chatty child can never block.

import Foundation
import Testing

/// The result of one run of `vitrine`.
struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
    var killedBySignal: Bool

    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }

    /// stdout parsed as one JSON object.
    func json() throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
        return try #require(object as? [String: Any], "stdout is not a JSON object: \(stdout)")
    }
}

/// The `vitrine` executable built with the tests.
let vitrineBinary: URL = {
    let fm = FileManager.default
    if let path = ProcessInfo.processInfo.environment["VITRINE_BINARY"] { return URL(fileURLWithPath: path) }
    var dirs: [URL] = []
    if let exe = try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
        dirs.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
    }
    dirs.append(Bundle.main.bundleURL)
    dirs.append(Bundle.main.bundleURL.deletingLastPathComponent())
    dirs.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
    for dir in dirs {
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("vitrine")
            if fm.isExecutableFile(atPath: url.path) { return url }
        }
    }
    return URL(fileURLWithPath: "vitrine-binary-not-found")
}()

/// A fresh temporary directory, the working directory of the processes a test starts.
final class Sandbox {
    let dir: URL

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("vitrine-cli-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: dir.appendingPathComponent(name))
    }

    func read(_ name: String) throws -> String {
        String(decoding: try Data(contentsOf: dir.appendingPathComponent(name)), as: UTF8.self)
    }

    /// Starts `vitrine args...` in the sandbox with stdout and stderr going to files.
    func start(_ args: [String], stdout: String, stderr: String) throws -> Process {
        #expect(FileManager.default.isExecutableFile(atPath: vitrineBinary.path), "vitrine not built next to the tests; set VITRINE_BINARY")
        let process = Process()
        process.executableURL = vitrineBinary
        process.arguments = args
        process.currentDirectoryURL = dir
        _ = FileManager.default.createFile(atPath: path(stdout), contents: nil)
        _ = FileManager.default.createFile(atPath: path(stderr), contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: dir.appendingPathComponent(stdout))
        process.standardError = try FileHandle(forWritingTo: dir.appendingPathComponent(stderr))
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Runs `vitrine args...` to the end (killed after `timeout` seconds).
    @discardableResult
    func run(_ args: [String], timeout: Double = 60) throws -> Run {
        let id = UUID().uuidString
        let process = try start(args, stdout: "\(id).out", stderr: "\(id).err")
        // Reaped here with waitpid, not by `waitUntilExit()`: that waits on a run loop for
        // Foundation's termination notice, and once (the full suite on 2 busy cores) it never
        // came for a child that had exited (a zombie), which hung the whole test run.
        // (EtcdCluster.swift met the same.)
        let deadline = Date().addingTimeInterval(timeout)
        var reaped: (status: Int32, signaled: Bool)? = nil
        func reap() {
            var raw: Int32 = 0
            if reaped == nil && waitpid(process.processIdentifier, &raw, WNOHANG) == process.processIdentifier {
                let signal = raw & 0x7f
                reaped = signal == 0 ? ((raw >> 8) & 0xff, false) : (signal, true)
            }
        }
        while process.isRunning && reaped == nil && Date() < deadline {
            reap()
            usleep(5_000)
        }
        if process.isRunning && reaped == nil {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("vitrine \(args.joined(separator: " ")) did not finish in \(timeout) s")
            while process.isRunning && reaped == nil {
                reap()
                usleep(5_000)
            }
        }
        let status = reaped?.status ?? process.terminationStatus
        let signaled = reaped?.signaled ?? (process.terminationReason == .uncaughtSignal)
        let run = Run(status: status, stdout: try read("\(id).out"), stderr: try read("\(id).err"), killedBySignal: signaled)
        try? FileManager.default.removeItem(atPath: path("\(id).out"))
        try? FileManager.default.removeItem(atPath: path("\(id).err"))
        return run
    }

    /// Runs and expects exit 0.
    @discardableResult
    func ok(_ args: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> Run {
        let r = try run(args)
        #expect(
            r.status == 0 && !r.killedBySignal, "vitrine \(args.joined(separator: " ")) exited \(r.status): \(r.stderr)",
            sourceLocation: sourceLocation)
        return r
    }

    /// Runs and expects exit `status` with one line on stderr that contains `message`.
    @discardableResult
    func fails(_ status: Int32, _ message: String, _ args: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> Run {
        let r = try run(args)
        #expect(
            r.status == status && !r.killedBySignal,
            "vitrine \(args.joined(separator: " ")) exited \(r.status), wanted \(status): \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(message), "stderr lacks \"\(message)\": \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.split(separator: "\n").count == 1, "stderr is not one line: \(r.stderr)", sourceLocation: sourceLocation)
        return r
    }
}

/// A minimal catalogue: one expert, two products (one with a single unit), two recommendations.
let tinyCatalogue = """
    {
      "format": "vitrine-catalogue", "version": 1,
      "experts": [{ "id": "mei", "displayName": "美妆达人小美", "categories": ["beauty"], "commissionBasisPoints": 800 }],
      "products": [
        { "id": "mask", "partner": "tmall", "link": "https://detail.tmall.com/item.htm?id=1",
          "title": "补水面膜 10片装", "priceFen": 9900, "merchant": "云朵官方旗舰店", "category": "beauty", "initialStock": 50 },
        { "id": "lipstick", "partner": "taobao", "link": "https://item.taobao.com/item.htm?id=2",
          "title": "口红礼盒", "priceFen": 25900, "merchant": "山茶的小店", "category": "beauty", "initialStock": 1 }
      ],
      "recommendations": [
        { "id": "r1", "expert": "mei", "product": "mask", "quantity": 20,
          "reason": "敏感肌也能用，温和不刺激。", "createdAt": 1433116800000 },
        { "id": "r2", "expert": "mei", "product": "lipstick", "quantity": 5,
          "reason": "颜色很正，库存不多。", "createdAt": 1433116900000 }
      ],
      "users": [{ "id": "ann", "displayName": "Ann", "interests": ["beauty"] }]
    }
    """

/// Orders in the output of `dump --table order`: id -> (total units, status raw value).
func ordersInDump(_ dump: String) throws -> [String: (units: Int64, status: Int)] {
    var orders: [String: (units: Int64, status: Int)] = [:]
    for line in dump.split(separator: "\n") {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let value = try #require(object["value"] as? [String: Any], "order line without a decoded value: \(line)")
        let id = try #require(value["id"] as? String)
        let lines = try #require(value["lines"] as? [[String: Any]])
        let units = lines.reduce(Int64(0)) { $0 + ((($1["quantity"] as? NSNumber)?.int64Value) ?? 0) }
        orders[id] = (units, (value["status"] as? NSNumber)?.intValue ?? 0)
    }
    return orders
}
