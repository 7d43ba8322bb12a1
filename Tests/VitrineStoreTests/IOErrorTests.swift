import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// I/O errors at every point of a workload: EIO and ENOSPC on each write, sync and truncate in
/// turn. Each time the failing call surfaces a typed error, the transaction is not acknowledged,
/// the database either keeps working (a failed write of a new value's pages inside the
/// transaction) or refuses further writes until reopened (a failed fdatasync is never retried:
/// see "fsyncgate" in formats/write-ahead-log.md), and after reopening nothing acknowledged
/// before is lost and no transaction is half there.
@Suite struct IOErrorTests {
    typealias Model = [[UInt8]: [UInt8]]

    /// Runs the workload; returns the models after each acknowledged transaction, and whether an
    /// error was met (after which every write must be refused).
    static func workload(_ db: Database, transactions: Int) -> (states: [Model], failed: Bool, problems: [String]) {
        var model: Model = [:]
        var states: [Model] = [model]
        var problems: [String] = []
        var failedWith: Error? = nil
        var refusing = false
        for t in 0..<transactions {
            var next = model
            do {
                try db.write { tx in
                    let table = try tx.createTable("t")
                    for i in 0..<4 {
                        let key = Array("k\((t * 7 + i * 3) % 23)".utf8)
                        if (t + i) % 5 == 4 {
                            try table.delete(key)
                            next[key] = nil
                        } else {
                            let v = [UInt8](repeating: UInt8(truncatingIfNeeded: t), count: i == 3 ? 6000 : 300)
                            try table.put(key, v)
                            next[key] = v
                        }
                    }
                }
                if refusing { problems.append("txn \(t) committed after the database refused writes") }
                model = next
                states.append(model)
                if t % 7 == 6 { try db.checkpoint() }
            } catch let error as StoreError {
                switch error {
                case .io, .needsReopen: break
                default: problems.append("txn \(t): unexpected error \(error)")
                }
                // A failure inside the transaction (writing a large value's overflow pages) only
                // rolls that transaction back; a failure while committing leaves the database
                // refusing every later write with needsReopen.
                if case .needsReopen = error { refusing = true }
                if failedWith == nil { failedWith = error }
            } catch {
                problems.append("txn \(t): untyped error \(error)")
            }
        }
        return (states, failedWith != nil, problems)
    }

    static func contents(_ db: Database) throws -> Model {
        try db.read { tx in
            var m: Model = [:]
            guard let t = try tx.table("t") else { return m }
            for (k, v) in try t.range(from: [], to: []) { m[k] = v }
            return m
        }
    }

    @Test(arguments: [EIO, ENOSPC])
    func errorAtEveryEvent(errno code: Int32) throws {
        let dir = TempDir(); defer { dir.remove() }
        let transactions = envInt("VITRINE_IOERROR_TRANSACTIONS", default: 20)
        let base = dir.file("base.db")
        do { let db = try Database(path: base); db.close() }
        func options(_ trace: IOTrace) -> DatabaseOptions {
            var o = DatabaseOptions(durability: .full, checkpointLogBytes: 16 << 10, largeTransactionBytes: 1 << 20)
            o.fileSystem = RecordingFileSystem(trace: trace)
            o.logGrowthBytes = 64 << 10
            return o
        }
        // How many events does the workload make without failures?
        let probePath = dir.file("probe.db")
        try FileManager.default.copyItem(atPath: base, toPath: probePath)
        let probeTrace = IOTrace()
        do {
            let db = try Database(path: probePath, options: options(probeTrace))
            _ = Self.workload(db, transactions: transactions)
            db.close()
        }
        let total = probeTrace.count
        var failuresSeen = 0
        var problems: [String] = []
        for point in 0..<total {
            let path = dir.file("run\(point).db")
            try FileManager.default.copyItem(atPath: base, toPath: path)
            let trace = IOTrace()
            trace.failEvent(at: point, errno: code)
            let db = try Database(path: path, options: options(trace))
            let run = Self.workload(db, transactions: transactions)
            db.close()
            if run.failed { failuresSeen += 1 }
            problems += run.problems.map { "event \(point): \($0)" }
            // Reopen with the plain file system: recovery from what is on disk (and in the page cache).
            do {
                let reopened = try Database(path: path)
                defer { reopened.close() }
                let report = try reopened.verify()
                if !report.isClean { problems.append("event \(point): verify: \(report)") }
                let got = try Self.contents(reopened)
                let acked = run.states.count - 1
                let candidates = [run.states[acked]] + (run.failed ? [] : [])
                // The failed transaction itself may or may not be durable: accept the state after
                // it only if it is one more transaction than acknowledged.
                if !candidates.contains(got) && !(run.failed && Self.isOneMore(got, than: run.states[acked], transactions: transactions)) {
                    problems.append("event \(point): after reopen, contents are not the acknowledged state (\(acked) transactions)")
                }
            } catch {
                problems.append("event \(point): reopen failed: \(error)")
            }
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: path + "-wal")
        }
        print("io-errors(errno \(code)): \(total) injection points, \(failuresSeen) surfaced as typed errors, \(problems.count) problems")
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        #expect(failuresSeen > total / 2)
    }

    /// Whether `state` is what the workload's next transaction (after `acked` ones) would make.
    static func isOneMore(_ state: Model, than previous: Model, transactions: Int) -> Bool {
        // Recompute the workload's transactions deterministically to find the next state.
        var model: Model = [:]
        var states: [Model] = [model]
        for t in 0..<transactions {
            for i in 0..<4 {
                let key = Array("k\((t * 7 + i * 3) % 23)".utf8)
                if (t + i) % 5 == 4 {
                    model[key] = nil
                } else {
                    model[key] = [UInt8](repeating: UInt8(truncatingIfNeeded: t), count: i == 3 ? 6000 : 300)
                }
            }
            states.append(model)
        }
        guard let i = states.firstIndex(of: previous), i + 1 < states.count else { return false }
        return states[i + 1] == state
    }
}
