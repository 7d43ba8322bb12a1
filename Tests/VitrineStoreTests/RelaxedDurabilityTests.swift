import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@_spi(Testing) @testable import VitrineStore

/// `.relaxed` under power cuts at every I/O event: what a sync (`Database.sync()`, the flusher, a
/// checkpoint) made durable is never lost, background checkpoints and log restarts included.
/// (Written by the review of the background checkpoints.)
@Suite struct RelaxedDurabilityTests {
    static func record(seed: UInt64, transactions: Int, dir: TempDir, syncEvery: Int, flushMs: Int) throws -> CrashTests.Recording {
        let (path, base, trace, setupOptions) = try CrashTests.recordedSetup(
            dir: dir, durability: .relaxed, checkpointsInBackground: true)
        var options = setupOptions
        options.relaxedSyncIntervalMilliseconds = flushMs
        var rng = SeededRandom(seed: seed)
        var model: CrashTests.Model = [:]
        var states: [CrashTests.Model] = [model]
        var acked: [Int] = []
        var durableAt: [(trace: Int, state: Int)] = []
        let db = try Database(path: path, options: options)
        var txids: [UInt64] = [db.lastTransactionId]
        for t in 0..<transactions {
            var next = model
            try db.write { tx in try CrashTests.randomTransaction(tx, model: &next, rng: &rng) }
            model = next
            states.append(model)
            txids.append(db.lastTransactionId)
            acked.append(trace.count)
            if syncEvery > 0 && t % syncEvery == syncEvery - 1 { try db.sync() }
            let d = db.durableTransactionId()
            let tc = trace.count
            if let j = txids.lastIndex(where: { $0 <= d }) { durableAt.append((tc, j)) }
        }
        db.close()
        var rec = CrashTests.Recording(base: base, events: trace.events, states: states, ackedAt: acked)
        rec.durableAt = durableAt
        return rec
    }

    @Test(arguments: [(UInt64(7), 1, 100_000), (UInt64(8), 3, 100_000), (UInt64(9), 0, 1), (UInt64(10), 2, 1)])
    func relaxedNeverLosesSyncedCommits(seed: UInt64, syncEvery: Int, flushMs: Int) throws {
        let dir = TempDir(); defer { dir.remove() }
        // `VITRINE_SEED` (a number, or `random`) replaces the configuration's seed.
        let seed = envSeed(default: seed)
        let transactions = envInt("VITRINE_CRASH_TRANSACTIONS", default: 40)
        let rec = try Self.record(seed: seed, transactions: transactions, dir: dir, syncEvery: syncEvery, flushMs: flushMs)
        var rng = SeededRandom(seed: seed)
        let outcome = try CrashTests.check(rec, strict: false, dir: dir, rng: &rng)
        let (backgroundMetas, restarts) = CrashTests.backgroundCheckpointWrites(rec)
        print(
            "relaxed durability(seed \(seed) sync \(syncEvery)): \(outcome.states) states, bg \(backgroundMetas), restarts \(restarts), lost \(outcome.lost), corrupt \(outcome.corrupt), durable points \(rec.durableAt.last.map { "\($0)" } ?? "-")"
        )
        #expect(outcome.failures.isEmpty, "\(outcome.failures.prefix(8))")
        #expect(backgroundMetas > 0 && restarts > 0, "no background checkpoint or no log restart was recorded")
    }
}
