// The interleaved runner: for each workload, every engine is prepared (opened, untimed), then the
// rounds run A B C, B C A, C A B, ... (the order rotates every round, so no engine always runs
// first, or always right after another's writes) so that all engines see the same machine drift,
// and each round's ratios compare measurements taken seconds apart.
//
// Configurations of one engine (a family: SQLite with two checkpoint schedules) run as engines of
// their own; per metric the report keeps the family's better configuration (by median) and says
// which it was. Latency and similar rows follow the choice of the row they belong to.

/// One number a workload reports.
struct Metric: Codable, Sendable {
    var name: String
    var unit: String
    var higherIsBetter: Bool
    /// Belongs to the metric before it (a latency quantile of a throughput row): shown in the
    /// latency table, and a family's configuration is the one chosen for that metric.
    var followsPrevious: Bool = false
    /// For a latency quantile: the throughput row it belongs to, and which quantile ("p99").
    var latencyOf: String? = nil
    var quantile: String? = nil
}

/// One engine's part in a workload: `round` runs one timed measurement and returns one value per
/// metric; `finish` closes what `prepare` opened.
struct EngineRun {
    var round: (_ round: Int) throws -> [Double]
    var finish: () throws -> Void
}

protocol Workload: Sendable {
    /// "1", "6a", ...: the issue's numbering.
    var id: String { get }
    var title: String { get }
    var metrics: [Metric] { get }
    /// Whether every configuration of an engine family runs (true for writes, where checkpoint
    /// schedules matter); otherwise only the family's first.
    var comparesConfigurations: Bool { get }
    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun
}

extension Workload {
    var comparesConfigurations: Bool { true }
}

/// An engine opened for a workload with one session on the calling thread; `close` drops the
/// session before closing the engine.
final class Opened<E: BenchEngine> {
    let engine: E
    private(set) var session: E.Session!

    init(_: E.Type, directory: String, durability: Durability) throws {
        engine = try E(directory: directory, durability: durability)
        session = try engine.makeSession()
    }

    func close() {
        session = nil
        engine.close()
    }
}

struct Summary: Codable, Sendable {
    var median: Double
    var min: Double
    var max: Double

    /// Over the finite values (a failed round is NaN and left out).
    init(_ values: [Double]) {
        let sorted = values.filter(\.isFinite).sorted()
        let n = sorted.count
        median = n == 0 ? .nan : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        min = sorted.first ?? .nan
        max = sorted.last ?? .nan
    }
}

struct EngineSeries: Codable, Sendable {
    var engine: String
    /// The configuration whose values these are, when the engine's family has several.
    var variant: String?
    var rounds: [Double]
    var summary: Summary
}

/// subject/peer, per round (the two measurements of a round were taken seconds apart).
struct RatioSeries: Codable, Sendable {
    var subject: String
    var peer: String
    var perRound: [Double]
    var summary: Summary
}

struct MetricResult: Codable, Sendable {
    var workload: String
    var workloadTitle: String
    var metric: Metric
    /// One series per engine family (its better configuration).
    var engines: [EngineSeries]
    var ratios: [RatioSeries]
    /// Every configuration's own series, when a family ran several.
    var configurations: [EngineSeries]?
}

/// A check or an engine that failed: the run goes on, the round's values are NaN, and the report
/// lists the failure.
struct Failure: Codable, Sendable {
    var workload: String
    var engine: String
    var round: Int?
    var message: String
}

/// Runs every workload over every engine, interleaved, and summarises. A failing round (a wrong
/// answer, a lost commit, an engine error) does not stop the suite: it is recorded in `failures`.
func runSuite(
    _ workloads: [any Workload], engines selected: [EngineKind], subject: String?, context: BenchContext,
    failures: inout [Failure]
) throws -> [MetricResult] {
    var results: [MetricResult] = []
    for workload in workloads {
        log("\(workload.id). \(workload.title)")
        let engines = selected.filter { kind in
            workload.comparesConfigurations || selected.first(where: { $0.family == kind.family })?.name == kind.name
        }
        let nan = Array(repeating: Double.nan, count: workload.metrics.count)
        var runs: [EngineRun?] = []
        for engine in engines {
            do {
                runs.append(try engine.prepare(workload, context))
            } catch {
                log("  FAILED \(engine.name): \(error)")
                failures.append(Failure(workload: workload.id, engine: engine.name, round: nil, message: "\(error)"))
                runs.append(nil)
            }
        }
        // values[engine][metric][round]
        var values = Array(repeating: Array(repeating: [Double](), count: workload.metrics.count), count: engines.count)
        for round in 0..<context.size.rounds {
            for k in engines.indices {
                let e = (k + round) % engines.count
                var measured = nan
                if let run = runs[e] {
                    do {
                        measured = try run.round(round)
                        precondition(measured.count == workload.metrics.count, "workload \(workload.id) returned \(measured.count) values")
                        let shown = zip(workload.metrics, measured).map { "\($0.name) \(format($1, unit: $0.unit))" }
                        log("  round \(round + 1) \(engines[e].name): \(shown.joined(separator: ", "))")
                    } catch {
                        log("  round \(round + 1) \(engines[e].name): FAILED: \(error)")
                        failures.append(Failure(workload: workload.id, engine: engines[e].name, round: round + 1, message: "\(error)"))
                        measured = nan
                    }
                }
                failures += context.takeNotedFailures()
                for (m, value) in measured.enumerated() { values[e][m].append(value) }
            }
        }
        for (e, run) in runs.enumerated() {
            do { try run?.finish() } catch {
                failures.append(Failure(workload: workload.id, engine: engines[e].name, round: nil, message: "closing: \(error)"))
            }
        }

        var families: [String] = []
        for engine in engines where !families.contains(engine.family) { families.append(engine.family) }
        var chosen: [String: Int] = [:]
        for (m, metric) in workload.metrics.enumerated() {
            let raw = engines.indices.map {
                EngineSeries(
                    engine: engines[$0].name, variant: engines[$0].variant, rounds: values[$0][m],
                    summary: Summary(values[$0][m]))
            }
            var series: [EngineSeries] = []
            var several = false
            for family in families {
                let members = engines.indices.filter { engines[$0].family == family }
                var pick = members[0]
                if members.count > 1 {
                    several = true
                    if metric.followsPrevious, let previous = chosen[family] {
                        pick = previous
                    } else {
                        pick = members.max { a, b in
                            better(raw[b].summary.median, than: raw[a].summary.median, metric.higherIsBetter)
                        }!
                        chosen[family] = pick
                    }
                }
                var combined = raw[pick]
                combined.engine = family
                combined.variant = members.count > 1 ? engines[pick].variant : nil
                series.append(combined)
            }
            var ratios: [RatioSeries] = []
            if let subject, let s = series.first(where: { $0.engine == subject }) {
                for peer in series where peer.engine != subject {
                    let perRound = zip(s.rounds, peer.rounds).map { $1 == 0 ? Double.nan : $0 / $1 }
                    ratios.append(RatioSeries(subject: subject, peer: peer.engine, perRound: perRound, summary: Summary(perRound)))
                }
            }
            results.append(
                MetricResult(
                    workload: workload.id, workloadTitle: workload.title, metric: metric,
                    engines: series, ratios: ratios, configurations: several ? raw : nil))
        }
    }
    return results
}

/// Whether `a` is a better median than `b` (a missing value is worse than any).
private func better(_ a: Double, than b: Double, _ higherIsBetter: Bool) -> Bool {
    guard a.isFinite else { return false }
    guard b.isFinite else { return true }
    return higherIsBetter ? a > b : a < b
}
