// The run's report: one JSON file with every round's value, and a markdown table of medians,
// spreads and per-round ratios.

import Foundation

struct Machine: Codable {
    var cpu: String
    var cores: Int
    var memoryGiB: Double
    var kernel: String
    var filesystem: String
    var swift: String

    static func current(dataRoot: String) -> Machine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let cpu =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) } ?? "unknown"
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return Machine(
            cpu: cpu,
            cores: ProcessInfo.processInfo.activeProcessorCount,
            memoryGiB: (Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824 * 10).rounded() / 10,
            kernel: kernel,
            filesystem: filesystem(of: dataRoot),
            swift: ProcessInfo.processInfo.environment["BENCH_SWIFT_VERSION"] ?? "unknown")
    }

    /// The type and device of the mount holding `path` (longest matching mount point).
    private static func filesystem(of path: String) -> String {
        let mounts = (try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? ""
        var best: (point: String, text: String) = ("", "unknown")
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = String(fields[1])
            if (path == point || path.hasPrefix(point == "/" ? "/" : point + "/")) && point.count > best.point.count {
                best = (point, "\(fields[2]) on \(fields[0])")
            }
        }
        return best.text
    }
}

struct EngineInfo: Codable {
    var name: String
    var family: String
    var variant: String?
    var version: String
    var durable: String
    var durableConcurrent: String
    var relaxed: String
}

struct Report: Codable {
    var suite = "Vitrine benchmarks (issue 6)"
    var size: SizeConfig
    var started: String
    var seconds: Double
    var gitCommit: String
    var machine: Machine
    var engines: [EngineInfo]
    var subject: String?
    var results: [MetricResult]
    var failures: [Failure]

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    /// `chart`: the path of the run's SVG chart relative to where the markdown goes, shown above
    /// the table.
    func markdown(chart: String? = nil) -> String {
        var names: [String] = []
        for engine in engines where !names.contains(engine.family) { names.append(engine.family) }
        let peers = subject.map { s in names.filter { $0 != s } } ?? []
        var lines: [String] = []
        lines.append(
            "Run: `\(size.name)` size, \(size.products) products, \(size.rounds) interleaved rounds, "
                + "\(size.seconds) s per timed measurement; \(started), \(Int(seconds.rounded())) s in all; commit `\(gitCommit)`.")
        lines.append("")
        lines.append(
            "Machine: \(machine.cpu), \(machine.cores) cores, \(machine.memoryGiB) GiB, Linux \(machine.kernel), "
                + "data on \(machine.filesystem); \(machine.swift).")
        lines.append("")
        for engine in engines {
            let concurrent =
                engine.durableConcurrent == engine.durable
                ? "" : "; durable, several threads: \(engine.durableConcurrent)"
            let mark = engine.variant.map { " (\($0))" } ?? ""
            lines.append(
                "- **\(engine.name)\(mark) \(engine.version)**: durable: \(engine.durable)\(concurrent); relaxed: \(engine.relaxed).")
        }
        lines.append("")
        lines.append(
            "Each cell: median [min – max] over the rounds. Ratios: median [min – max] of the per-round ratio "
                + "\(subject ?? "subject")/peer; ↑ higher is better, ↓ lower is better. Where an engine ran in several "
                + "configurations, its cell is the better one's (by median), marked with the configuration's letter above, "
                + "and the ratio is taken against it. *sync-bound*: a durable row, bound for every engine by the disk's "
                + "sync latency.")
        lines.append("")
        if let chart, subject != nil {
            lines.append("![\(subject!)/peer ratios per row: bars at the median, whiskers min – max, logarithmic axis](\(chart))")
            lines.append("")
        }
        var header = "| # | Metric | " + names.joined(separator: " | ")
        var rule = "|---|---|" + String(repeating: "---:|", count: names.count)
        for peer in peers {
            header += " | \(subject!)/\(peer)"
            rule += "---:|"
        }
        lines.append(header + " |")
        lines.append(rule)
        for result in results where result.metric.latencyOf == nil {
            let arrow = result.metric.higherIsBetter ? "↑" : "↓"
            let bound = result.metric.isSyncBound ? " *sync-bound*" : ""
            var row = "| \(result.workload) | \(result.metric.name) (\(result.metric.unit) \(arrow))\(bound)"
            for name in names {
                guard let series = result.engines.first(where: { $0.engine == name }) else { row += " | –"; continue }
                let s = series.summary
                let failed = series.rounds.filter { !$0.isFinite }.count
                if failed == series.rounds.count { row += " | **FAILED**"; continue }
                row +=
                    " | \(format(s.median, unit: result.metric.unit)) [\(format(s.min, unit: result.metric.unit)) – \(format(s.max, unit: result.metric.unit))]"
                if let variant = series.variant { row += " (\(variant))" }
                if failed > 0 { row += " (\(failed) failed)" }
            }
            for peer in peers {
                guard let ratio = result.ratios.first(where: { $0.peer == peer }) else { row += " | –"; continue }
                let s = ratio.summary
                row += " | **\(ratioText(s.median))** [\(ratioText(s.min)) – \(ratioText(s.max))]"
            }
            lines.append(row + " |")
        }
        lines += latencyTable(names: names, peers: peers)
        if !failures.isEmpty {
            lines.append("")
            lines.append("**Failures** (the run went on; failed rounds count as missing):")
            lines.append("")
            for f in failures {
                lines.append("- workload \(f.workload), \(f.engine)\(f.round.map { ", round \($0)" } ?? ""): \(f.message)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension Metric {
    /// A durable row: every engine waits for the disk's sync on each commit (or group).
    var isSyncBound: Bool {
        (name.hasPrefix("durable") || name.contains("(durable)")) && !name.contains("showcase reads")
            && !name.contains("callers per commit")
    }
}

extension Report {
    /// Latency of every transaction workload: per engine the medians over the rounds of each
    /// round's p50 / p99 / p99.9 (µs, as the caller saw each operation), and the ratio of the p99s.
    func latencyTable(names: [String], peers: [String]) -> [String] {
        var rows: [(workload: String, name: String, cells: [String: [Double]], variant: [String: String], ratio: [String: Summary])] = []
        for result in results {
            guard let of = result.metric.latencyOf, let quantile = result.metric.quantile else { continue }
            if rows.last?.name != of || rows.last?.workload != result.workload {
                rows.append((result.workload, of, [:], [:], [:]))
            }
            for series in result.engines {
                rows[rows.count - 1].cells[series.engine, default: []].append(series.summary.median)
                if let v = series.variant { rows[rows.count - 1].variant[series.engine] = v }
            }
            if quantile == "p99" {
                for ratio in result.ratios { rows[rows.count - 1].ratio[ratio.peer] = ratio.summary }
            }
        }
        guard !rows.isEmpty else { return [] }
        var lines = [
            "",
            "Latency of each operation as its caller saw it, µs ↓: p50 / p99 / p99.9 (each the median over the "
                + "rounds of that round's quantile); ratios: the per-round p99 ratio, median [min – max].", "",
        ]
        var header = "| # | Operation | " + names.joined(separator: " | ")
        var rule = "|---|---|" + String(repeating: "---:|", count: names.count)
        for peer in peers {
            header += " | p99 \(subject!)/\(peer)"
            rule += "---:|"
        }
        lines.append(header + " |")
        lines.append(rule)
        for row in rows {
            var line = "| \(row.workload) | \(row.name)"
            for name in names {
                let values = row.cells[name] ?? []
                line += values.isEmpty ? " | –" : " | " + values.map { format($0, unit: "µs") }.joined(separator: " / ")
                if let v = row.variant[name] { line += " (\(v))" }
            }
            for peer in peers {
                guard let s = row.ratio[peer] else { line += " | –"; continue }
                line += " | **\(ratioText(s.median))** [\(ratioText(s.min)) – \(ratioText(s.max))]"
            }
            lines.append(line + " |")
        }
        return lines
    }
}

private func ratioText(_ value: Double) -> String {
    value.isFinite ? String(format: "%.2f×", value) : "–"
}

/// A value in its unit, three significant digits; rates get k/M suffixes.
func format(_ value: Double, unit: String) -> String {
    guard value.isFinite else { return "–" }
    if unit.hasSuffix("/s") {
        if value >= 1e6 { return significant(value / 1e6) + " M" }
        if value >= 1e3 { return significant(value / 1e3) + " k" }
    }
    return significant(value)
}

private func significant(_ value: Double) -> String {
    let magnitude = abs(value)
    if magnitude >= 100 { return String(format: "%.0f", value) }
    if magnitude >= 10 { return String(format: "%.1f", value) }
    if magnitude >= 1 { return String(format: "%.2f", value) }
    return String(format: "%.3f", value)
}
