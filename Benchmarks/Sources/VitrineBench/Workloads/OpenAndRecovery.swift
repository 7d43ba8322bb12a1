// 10. Open time and resident memory for the catalogue database; recovery time after a crash with
// a large log.
//
// Both run in fresh child processes (this program, `child ...` subcommands), so nothing of the
// parent's state is counted and the crash is real:
// - open: the child opens the closed catalogue database and reads one product; reported are the
//   seconds from before the open to after that read, and how much the child's resident memory
//   (VmRSS) grew over it. The files are in the OS page cache (warm open).
// - crash: a child writes `crashProducts` products into an empty database (100 per transaction,
//   durable, each engine's default checkpoint policy, so the log is as large as that policy lets
//   it grow), says "ready", keeps writing, and is killed with SIGKILL mid-transaction. The files'
//   size at that moment is reported ("files at crash": data + log). A second child then opens the
//   database and reads one product: that is the recovery time. It then looks up every product
//   acknowledged before "ready", by key, and checks its record (durable commits: none may be
//   lost; relaxed modes may legitimately lose a window of commits, so they would prove nothing
//   here), and counts the rows (no product may appear twice or from nowhere).

import Foundation

struct OpenAndRecovery: Workload {
    let id = "10"
    let title = "Open time and resident memory of the catalogue; recovery after a crash"
    let metrics = [
        Metric(name: "open + first read", unit: "ms", higherIsBetter: false),
        Metric(name: "resident memory after open", unit: "MiB", higherIsBetter: false),
        Metric(name: "recovery after crash (open + first read)", unit: "ms", higherIsBetter: false),
        Metric(name: "files at crash", unit: "MiB", higherIsBetter: false),
    ]

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let main = try context.mainDirectory(E.self)
        let firstKey = hex(context.data.productIDs[0])
        let crashProducts = context.size.crashProducts
        return EngineRun(
            round: { round in
                let open = try ChildProcess.openReport(context, engine: E.name, directory: main, key: firstKey, verify: nil)

                let crashDirectory = try context.directory(E.name, "crash", fresh: true)
                defer { context.removeDirectory(crashDirectory) }
                try ChildProcess.crash(context, engine: E.name, directory: crashDirectory, products: crashProducts)
                let filesAtCrash = diskBytes(crashDirectory)
                var recoverySeconds = Double.nan
                do {
                    let recovered = try ChildProcess.openReport(
                        context, engine: E.name, directory: crashDirectory,
                        key: firstKey, verify: crashProducts)
                    if recovered.found, recovered.verified == crashProducts, recovered.products == crashProducts {
                        recoverySeconds = recovered.seconds
                    } else {
                        context.noteFailure(
                            workload: id, engine: E.name, round: round,
                            "lost acknowledged commits in the crash: of \(crashProducts) acknowledged products (durable), "
                                + "\(recovered.verified ?? 0) found intact by key; \(recovered.products ?? 0) rows after recovery")
                    }
                } catch {
                    context.noteFailure(workload: id, engine: E.name, round: round, "recovery after the crash: \(error)")
                }
                return [
                    open.seconds * 1000,
                    Double(max(0, open.rssAfterKiB - open.rssBeforeKiB)) / 1024,
                    recoverySeconds * 1000,
                    Double(filesAtCrash) / 1_048_576,
                ]
            },
            finish: {})
    }
}

/// What an `open` child reports on its stdout, as one JSON line.
struct OpenReport: Codable {
    var seconds: Double
    var rssBeforeKiB: Int
    var rssAfterKiB: Int
    var found: Bool
    /// Rows in the products table (with `--verify`).
    var products: Int?
    /// Of products 0..<N (`--verify N`), how many were found by key with their record intact.
    var verified: Int?
}

enum ChildProcess {
    static func openReport(
        _ context: BenchContext, engine: String, directory: String, key: String, verify: Int?
    ) throws -> OpenReport {
        var arguments = ["child", "open", "--engine", engine, "--dir", directory, "--key", key]
        if let verify { arguments += ["--verify", String(verify)] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: context.executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let line = String(decoding: output, as: UTF8.self).split(separator: "\n").last
        else {
            throw BenchFailure("child open of \(engine) in \(directory) failed (status \(process.terminationStatus))")
        }
        return try JSONDecoder().decode(OpenReport.self, from: Data(line.utf8))
    }

    /// Starts a writer child, waits until it has committed `products` products, lets it write a
    /// little longer, and kills it with SIGKILL.
    static func crash(_ context: BenchContext, engine: String, directory: String, products: Int) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: context.executable)
        process.arguments = ["child", "crash", "--engine", engine, "--dir", directory, "--products", String(products)]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var seen = ""
        while !seen.contains("ready\n") {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                throw BenchFailure("crash child of \(engine) exited (status \(process.terminationStatus)) before it was ready")
            }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        Thread.sleep(forTimeInterval: 0.02)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        guard process.terminationReason == .uncaughtSignal else {
            throw BenchFailure("crash child of \(engine) was not killed (status \(process.terminationStatus))")
        }
    }
}

/// The `child` subcommands, run in a fresh process of this program.
enum ChildMain {
    static func run(_ arguments: [String]) throws {
        var options: [String: String] = [:]
        var i = 1
        while i < arguments.count {
            let argument = arguments[i]
            guard argument.hasPrefix("--"), i + 1 < arguments.count else { throw BenchFailure("child: bad argument \(argument)") }
            options[argument] = arguments[i + 1]
            i += 2
        }
        guard let name = options["--engine"], let engine = engineKind(named: name),
            let directory = options["--dir"]
        else { throw BenchFailure("child: --engine and --dir are required") }
        switch arguments.first {
        case "open":
            guard let key = options["--key"].flatMap(unhex) else { throw BenchFailure("child open: --key HEX required") }
            try engine.childOpen(directory, key, options["--verify"].flatMap { Int($0) })
        case "crash":
            guard let products = options["--products"].flatMap({ Int($0) }) else {
                throw BenchFailure("child crash: --products N required")
            }
            try engine.childCrash(directory, products)
        default:
            throw BenchFailure("child: unknown subcommand \(arguments.first ?? "")")
        }
    }

    /// `verify`: look up products 0..<verify of the data set by key and check each record (the
    /// crash child wrote them; its later passes only change byte 12), and count the rows.
    static func open<E: BenchEngine>(_: E.Type, directory: String, key: [UInt8], verify: Int?) throws {
        let rssBefore = residentKiB()
        let start = monotonicNanoseconds()
        let engine = try E(directory: directory, durability: .durable)
        var session: E.Session? = try engine.makeSession()
        let found = try session!.read { tx in try tx.withValue(.products, key, { $0.count }) } != nil
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        let rssAfter = residentKiB()
        var products: Int?, verified: Int?
        if let verify {
            let data = Dataset(products: verify)
            var rows = 0, intact = 0
            try session!.read { tx in
                try tx.scan(.products, from: []) { _, _ in
                    rows += 1; return true
                }
                for i in 0..<verify where try tx.withValue(.products, data.productIDs[i], { Dataset.isProduct(i, $0) }) == true {
                    intact += 1
                }
            }
            products = rows
            verified = intact
        }
        session = nil
        engine.close()
        let report = OpenReport(
            seconds: seconds, rssBeforeKiB: rssBefore, rssAfterKiB: rssAfter, found: found, products: products,
            verified: verified)
        print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self))
    }

    static func crash<E: BenchEngine>(_: E.Type, directory: String, products: Int) throws {
        let engine = try E(directory: directory, durability: .durable)
        let session = try engine.makeSession()
        let data = Dataset(products: products)
        var value = [UInt8]()
        let batch = 100
        var round = 0
        while true {
            for chunk in stride(from: 0, to: products, by: batch) {
                try session.write { tx in
                    for i in chunk..<min(chunk + batch, products) {
                        data.productValue(i, into: &value)
                        value[12] = UInt8(truncatingIfNeeded: round)
                        try tx.put(.products, data.productIDs[i], value)
                    }
                }
            }
            if round == 0 {
                print("ready")
                fflush(nil)
            }
            round += 1
        }
    }
}

/// This process's resident set size (VmRSS), in KiB.
func residentKiB() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}
