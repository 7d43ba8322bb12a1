// VitrineBench: runs the suite of issue 6 and writes results/<size>.md and results/<size>.json.
//
//   swift run -c release VitrineBench [--size smoke|full] [--rounds N] [--seconds S] [--products N]
//       [--engines sqlite,lmdb,vitrine] [--workloads 1,2,6a,...] [--subject Vitrine]
//       [--data-dir DIR] [--results-dir DIR] [--keep-data] [--readme README.md]
//   VitrineBench child open|crash ...   (used by workload 10; not for people)

import Foundation

let usage = """
    usage: VitrineBench [--size smoke|full] [--rounds N] [--seconds S] [--products N]
                        [--engines sqlite,lmdb,vitrine] [--workloads 1,2,...,16] [--subject NAME]
                        [--data-dir DIR] [--results-dir DIR] [--keep-data] [--readme FILE]
    """

func main() throws {
    var arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "child" {
        try ChildMain.run(Array(arguments.dropFirst()))
        return
    }

    var size = SizeConfig.smoke
    var engineNames: [String]?
    var workloadIDs: [String]?
    var subject = "Vitrine"
    let cwd = FileManager.default.currentDirectoryPath
    var dataRoot = cwd + "/.data"
    var resultsDirectory = cwd + "/results"
    var keepData = false
    var readmePath: String?
    var overrides: [(inout SizeConfig) -> Void] = []

    while !arguments.isEmpty {
        let option = arguments.removeFirst()
        if option == "--keep-data" { keepData = true; continue }
        if option == "--help" || option == "-h" { print(usage); return }
        guard !arguments.isEmpty else { throw BenchFailure("\(option) needs a value\n\(usage)") }
        let value = arguments.removeFirst()
        switch option {
        case "--size":
            switch value {
            case "smoke": size = .smoke
            case "full": size = .full
            default: throw BenchFailure("--size is smoke or full")
            }
        case "--rounds": let n = Int(value) ?? 3; overrides.append { $0.rounds = max(1, n) }
        case "--seconds": let s = Double(value) ?? 0.2; overrides.append { $0.seconds = s }
        case "--products": let n = Int(value) ?? 20_000; overrides.append { $0.products = max(100, n) }
        case "--engines": engineNames = value.split(separator: ",").map(String.init)
        case "--workloads": workloadIDs = value.split(separator: ",").map(String.init)
        case "--subject": subject = value
        case "--data-dir": dataRoot = absolute(value, cwd)
        case "--results-dir": resultsDirectory = absolute(value, cwd)
        case "--readme": readmePath = absolute(value, cwd)
        default: throw BenchFailure("unknown option \(option)\n\(usage)")
        }
    }
    for apply in overrides { apply(&size) }
    // A run of the whole suite writes results/<size>.*; any narrower or altered run, <size>-custom.*
    let isCustom = !overrides.isEmpty || engineNames != nil || workloadIDs != nil
    let resultsName = size.name + (isCustom ? "-custom" : "")

    var engines: [EngineKind] = []
    for name in engineNames ?? allEngines.map({ $0.name }) {
        let kinds = engineKinds(named: name)
        guard !kinds.isEmpty else {
            throw BenchFailure("unknown engine \(name); known: \(allEngines.map { $0.name }.joined(separator: ", "))")
        }
        engines += kinds.filter { kind in !engines.contains { $0.name == kind.name } }
    }
    let workloads =
        try workloadIDs.map { ids in
            try ids.map { id in
                guard let workload = allWorkloads.first(where: { $0.id == id }) else { throw BenchFailure("unknown workload \(id)") }
                return workload
            }
        } ?? allWorkloads

    let started = Date()
    log(
        "VitrineBench: \(size.name) size (\(size.products) products, \(size.rounds) rounds, \(size.seconds) s); "
            + "engines \(engines.map(\.name).joined(separator: ", ")); data in \(dataRoot)")
    let context = BenchContext(size: size, dataRoot: dataRoot, executable: executablePath())
    context.removeDirectory(dataRoot)
    defer { if !keepData { context.removeDirectory(dataRoot) } }

    var failures: [Failure] = []
    let results = try runSuite(workloads, engines: engines, subject: subject, context: context, failures: &failures)

    let report = Report(
        size: size,
        started: ISO8601DateFormatter().string(from: started),
        seconds: Date().timeIntervalSince(started),
        gitCommit: ProcessInfo.processInfo.environment["BENCH_GIT_COMMIT"] ?? "unknown",
        machine: Machine.current(dataRoot: dataRoot),
        engines: engines.map {
            EngineInfo(
                name: $0.name, family: $0.family, variant: $0.variant, version: $0.version, durable: $0.configuration(.durable),
                durableConcurrent: $0.configuration(.durableConcurrent), relaxed: $0.configuration(.relaxed))
        },
        subject: engines.contains { $0.family == subject } ? subject : nil,
        results: results,
        failures: failures)
    try FileManager.default.createDirectory(atPath: resultsDirectory, withIntermediateDirectories: true)
    let markdown = report.markdown(chart: "\(resultsName).svg")
    try report.json().write(to: URL(fileURLWithPath: "\(resultsDirectory)/\(resultsName).json"))
    try markdown.write(toFile: "\(resultsDirectory)/\(resultsName).md", atomically: true, encoding: .utf8)
    try report.svg().write(toFile: "\(resultsDirectory)/\(resultsName).svg", atomically: true, encoding: .utf8)
    print(markdown)
    log("wrote \(resultsDirectory)/\(resultsName).md, .json and .svg")
    if !isCustom, let readme = readmePath {
        // The README shows the chart by its path from the README's folder.
        let chart = relativePath(
            of: "\(resultsDirectory)/\(resultsName).svg",
            from: URL(fileURLWithPath: readme).deletingLastPathComponent().path)
        try updateReadme(readme, size: size.name, markdown: report.markdown(chart: chart))
    }
    if !failures.isEmpty {
        throw BenchFailure("\(failures.count) failure(s); see the report")
    }
}

/// Puts `markdown` between the README's results markers, unless that would replace a full run's
/// table with a smoke run's. The begin marker names the size it holds:
/// `<!-- results:begin size=full -->` ... `<!-- results:end -->`.
func updateReadme(_ path: String, size: String, markdown: String) throws {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    guard let begin = text.range(of: "<!-- results:begin"),
        let beginEnd = text.range(of: "-->", range: begin.upperBound..<text.endIndex),
        let end = text.range(of: "<!-- results:end -->", range: beginEnd.upperBound..<text.endIndex)
    else {
        log("\(path) has no results markers; not updated")
        return
    }
    let held = text[begin.upperBound..<beginEnd.lowerBound].trimmingCharacters(in: .whitespaces)
    if held == "size=full" && size != "full" {
        log("\(path) holds a full run's results; a \(size) run does not replace them")
        return
    }
    let section = "<!-- results:begin size=\(size) -->\n\(markdown)"
    try (text[..<begin.lowerBound] + section + text[end.lowerBound...]).write(toFile: path, atomically: true, encoding: .utf8)
    log("updated the results in \(path)")
}

/// `path` relative to `directory` when inside it, else `path` itself.
func relativePath(of path: String, from directory: String) -> String {
    let prefix = directory.hasSuffix("/") ? directory : directory + "/"
    return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
}

func absolute(_ path: String, _ cwd: String) -> String {
    path.hasPrefix("/") ? path : cwd + "/" + path
}

/// This program's path, so workload 10 can start it again as a child.
func executablePath() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    return n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
}

do {
    try main()
} catch {
    log("VitrineBench: \(error)")
    exit(1)
}
