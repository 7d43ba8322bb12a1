// The interleaved runner: for each workload, every engine is prepared (opened, untimed), then the
// rounds run A B C, A B C, ... so that all engines see the same machine drift, and each round's
// ratios compare measurements taken seconds apart.

/// One number a workload reports.
struct Metric: Codable, Sendable {
    var name: String
    var unit: String
    var higherIsBetter: Bool
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
    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun
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
    var engines: [EngineSeries]
    var ratios: [RatioSeries]
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
    _ workloads: [any Workload], engines: [EngineKind], subject: String?, context: BenchContext,
    failures: inout [Failure]
) throws -> [MetricResult] {
    var results: [MetricResult] = []
    for workload in workloads {
        log("\(workload.id). \(workload.title)")
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
            for (e, run) in runs.enumerated() {
                var measured = nan
                if let run {
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

        for (m, metric) in workload.metrics.enumerated() {
            let series = engines.indices.map {
                EngineSeries(engine: engines[$0].name, rounds: values[$0][m], summary: Summary(values[$0][m]))
            }
            var ratios: [RatioSeries] = []
            if let subject, let s = series.first(where: { $0.engine == subject }) {
                for peer in series where peer.engine != subject {
                    let perRound = zip(s.rounds, peer.rounds).map { $1 == 0 ? Double.nan : $0 / $1 }
                    ratios.append(RatioSeries(subject: subject, peer: peer.engine, perRound: perRound, summary: Summary(perRound)))
                }
            }
            results.append(MetricResult(workload: workload.id, workloadTitle: workload.title, metric: metric,
                                        engines: series, ratios: ratios))
        }
    }
    return results
}
