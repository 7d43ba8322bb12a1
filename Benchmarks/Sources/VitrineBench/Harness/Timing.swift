// Clocks, throughput loops and threads for the workloads.

import Foundation
import Synchronization

/// Monotonic time in nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Seconds taken by `body`.
func measureSeconds(_ body: () throws -> Void) rethrows -> Double {
    let start = monotonicNanoseconds()
    try body()
    return Double(monotonicNanoseconds() - start) / 1e9
}

/// Runs `batch` (which returns the operations it did) until `seconds` have passed; returns
/// operations per second. The clock is read once per batch.
func throughput(seconds: Double, _ batch: () throws -> Int) rethrows -> Double {
    let start = monotonicNanoseconds()
    let deadline = start + UInt64(seconds * 1e9)
    var operations = 0
    var now = start
    repeat {
        operations += try batch()
        now = monotonicNanoseconds()
    } while now < deadline
    return Double(operations) / (Double(now - start) / 1e9)
}

/// Keeps a value alive in the optimiser's eyes, so measured reads are not dropped as dead code.
@inline(never)
func consume(_ value: Int) {
    if value == 0x7FFF_FFFF_FFFF_FFF1 { print("") }
}

/// A flag set by one thread and polled by others.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}

/// A total that threads add their own counts to once, when they finish.
final class Tally: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ delta: Int) { value.add(delta, ordering: .relaxed) }
    var total: Int { value.load(ordering: .relaxed) }
}

/// Runs `count` threads. Each first calls `prepare(threadIndex)` (untimed: open a session, ...)
/// and gets back its work; all start the work together; `whileRunning` runs on the calling thread
/// meanwhile (e.g. sleep, then raise a stop flag). Returns the seconds from the common start to
/// the last thread's end; rethrows the first error of any thread.
func runThreads(
    _ count: Int,
    whileRunning: () -> Void = {},
    prepare: @escaping @Sendable (Int) throws -> (() throws -> Void)
) throws -> Double {
    let ready = DispatchSemaphore(value: 0)
    let gate = DispatchSemaphore(value: 0)
    let done = DispatchGroup()
    let errors = ThreadErrors()
    for index in 0..<count {
        done.enter()
        let thread = Thread {
            defer { done.leave() }
            var work: (() throws -> Void)?
            do { work = try prepare(index) } catch { errors.record(error) }
            ready.signal()
            gate.wait()
            guard let work else { return }
            do { try work() } catch { errors.record(error) }
        }
        thread.stackSize = 1 << 22
        thread.start()
    }
    for _ in 0..<count { ready.wait() }
    let start = monotonicNanoseconds()
    for _ in 0..<count { gate.signal() }
    whileRunning()
    done.wait()
    let elapsed = Double(monotonicNanoseconds() - start) / 1e9
    if let message = errors.first { throw ThreadFailure(message: message) }
    return elapsed
}

struct ThreadFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { "a worker thread failed: \(message)" }
}

private final class ThreadErrors: Sendable {
    private let messages = Mutex<[String]>([])
    func record(_ error: any Error) {
        let message = String(describing: error)
        messages.withLock { $0.append(message) }
    }
    var first: String? { messages.withLock { $0.first } }
}

/// Runs `operation` until `seconds` have passed, timing each call; returns operations per second
/// and appends each operation's nanoseconds to `latencies` (reserve it ahead: no allocation in
/// the loop).
func timedOperations(seconds: Double, latencies: inout [UInt64], _ operation: () throws -> Void) rethrows -> Double {
    let start = monotonicNanoseconds()
    let deadline = start + UInt64(seconds * 1e9)
    var now = start, operations = 0
    repeat {
        try operation()
        let end = monotonicNanoseconds()
        latencies.append(end - now)
        now = end
        operations += 1
    } while now < deadline
    return Double(operations) / (Double(now - start) / 1e9)
}

/// The latency rows that follow a throughput row: p50, p99, p99.9 of each operation as its
/// caller saw it.
enum Latency {
    static let quantiles: [(label: String, q: Double)] = [("p50", 0.50), ("p99", 0.99), ("p99.9", 0.999)]

    static func metrics(_ name: String) -> [Metric] {
        quantiles.map {
            Metric(
                name: "\(name): \($0.label) latency", unit: "µs", higherIsBetter: false,
                followsPrevious: true, latencyOf: name, quantile: $0.label)
        }
    }

    /// The quantiles of `nanoseconds`, in microseconds, in `metrics`' order.
    static func values(_ nanoseconds: [UInt64]) -> [Double] {
        let sorted = nanoseconds.sorted()
        return quantiles.map { LatencyLog.quantileMicroseconds(sorted: sorted, $0.q) }
    }
}

/// Per-operation latencies, added by each worker once when it finishes.
final class LatencyLog: Sendable {
    private let values = Mutex<[UInt64]>([])
    func add(_ mine: [UInt64]) { values.withLock { $0.append(contentsOf: mine) } }
    var all: [UInt64] { values.withLock { $0 } }

    /// The `q` quantile (0...1) of `nanoseconds`, in microseconds; NaN when empty.
    static func quantileMicroseconds(_ nanoseconds: [UInt64], _ q: Double) -> Double {
        quantileMicroseconds(sorted: nanoseconds.sorted(), q)
    }

    static func quantileMicroseconds(sorted: [UInt64], _ q: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let i = min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.up)) - 1)
        return Double(sorted[max(0, i)]) / 1000
    }
}
