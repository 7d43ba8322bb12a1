import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// A process killed between a meta page's write and the fdatasync that makes it durable (a
/// checkpoint's step 3, or a log generation's anchor) leaves that meta page in the page cache
/// only. The next session reads it, and it is the newest: its free list names pages of the older,
/// durable checkpoint's tree, and its other slot holds that older meta page. Whatever the next
/// session then writes before something syncs the data file must not destroy the older
/// checkpoint a power cut falls back to (Recovery.swift, step 1: `ensureMetaPageDurable`).
@Suite struct KilledCheckpointTests {
    typealias Model = CrashTests.Model

    /// Every meta page write in `events` that a data-file sync follows: the kill points.
    static func metaWrites(_ events: [IOEvent]) -> [Int] {
        events.indices.filter { i in
            guard case .write(0, let offset, let bytes) = events[i], offset == 0 || offset == Int64(PageLayout.size),
                bytes.count >= 8, Array(bytes[0..<8]) == MetaPage.magic
            else { return false }
            return events[(i + 1)...].contains { $0.isSync && $0.file == 0 }
        }
    }

    /// The files a process killed right after `events[kill]` leaves: the durable part, and the
    /// writes no sync covered yet (in the page cache).
    static func killed(_ first: CrashTests.Recording, after kill: Int) -> (durable: [[UInt8]], unsynced: [IOEvent]) {
        var disk = PowerCutState(base: first.base)
        for event in first.events[...kill] { disk.advance(past: event) }
        return (disk.durable, disk.volatile)
    }

    /// The contents a database opened on `files` (written to a scratch path) recovers.
    static func recovered(_ files: [[UInt8]], dir: TempDir) throws -> Model {
        let path = dir.file("probe.db")
        writeFile(path, files[0])
        writeFile(path + "-wal", files[1])
        let db = try Database(path: path)
        defer { db.close() }
        return try CrashTests.contents(db)
    }

    /// A session recorded on the page cache a kill left (`unsynced` applied over `durable`),
    /// running `transactions` random ones in `mode`; its states are numbered from what it opened.
    static func recordNextSession(
        durable: [[UInt8]], unsynced: [IOEvent], opened: Model, mode: Durability, transactions: Int, seed: UInt64,
        dir: TempDir
    ) throws -> CrashTests.Recording {
        var pageCache = durable
        for event in unsynced { DiskImage.apply(event, to: &pageCache) }
        let path = dir.file("next.db")
        for suffix in ["", "-wal"] { unlink(path + suffix) }
        writeFile(path, pageCache[0])
        writeFile(path + "-wal", pageCache[1])
        let trace = IOTrace()
        trace.register(path)
        trace.register(path + "-wal")
        var options = DatabaseOptions(durability: mode, checkpointLogBytes: 24 << 10, checkpointPages: 64)
        options.fileSystem = RecordingFileSystem(trace: trace)
        options.minimumMapBytes = 64 << 10
        options.logGrowthBytes = 64 << 10
        options.logLimitStep = 8 << 10
        options.relaxedSyncIntervalMilliseconds = 3_600_000 // relaxed syncs only at checkpoints
        var rng = SeededRandom(seed: seed)
        let db = try Database(path: path, options: options)
        let openedAt = trace.count
        var model = try CrashTests.contents(db)
        guard CrashTests.same(model, opened) else {
            db.close()
            throw StoreError.corruptLog(offset: 0, reason: "the next session did not open the killed process's state")
        }
        var states = [model]
        var acked: [Int] = []
        for _ in 0..<transactions {
            var next = model
            try db.write { tx in try CrashTests.randomTransaction(tx, model: &next, rng: &rng) }
            model = next
            states.append(model)
            acked.append(trace.count)
        }
        db.close()
        return CrashTests.Recording(
            base: durable, events: trace.events, states: states, ackedAt: acked, openedAt: openedAt, inherited: unsynced)
    }

    /// Kills at every meta page write of a recorded session (each checkpoint's and each anchor's),
    /// then power cuts at every event of the next session: it never loses the state it opened
    /// nor an acknowledged commit, and never leaves a file that does not open clean.
    ///
    /// Without the sync (it was found by a review in session 11): the next session cut the log
    /// the killed checkpoint had made redundant, or wrote into pages its meta page freed,
    /// before anything made that meta page durable; the power cut then fell back to the older
    /// meta page with its log gone or its tree overwritten.
    ///
    /// The killed session runs `.full` with checkpoints in the commit, or `.relaxed` with them in
    /// the background, whose meta page names a generation the log already holds (so the log
    /// cannot vouch for it) and whose records after it the next session replays onto its tree.
    @Test(arguments: [(Durability.full, false, Durability.full), (.full, false, .relaxed), (.relaxed, true, .full)])
    func powerLossAfterAKillBetweenAMetaPageAndItsSync(killedMode: Durability, inBackground: Bool, mode: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let seed = envSeed(default: 11)
        let first = try CrashTests.record(
            seed: seed, transactions: envInt("VITRINE_CRASH_TRANSACTIONS", default: 24), durability: killedMode, dir: dir,
            checkpointsInBackground: inBackground)
        let kills = Self.metaWrites(first.events)
        var sessions = 0
        var total = CrashTests.Outcome()
        var rng = SeededRandom(seed: seed)
        for (n, kill) in kills.enumerated() {
            let (durable, unsynced) = Self.killed(first, after: kill)
            var pageCache = durable
            for event in unsynced { DiskImage.apply(event, to: &pageCache) }
            let opened = try Self.recovered(pageCache, dir: dir)
            // A commit by checkpoint (no log record) killed before its meta page is durable was
            // never acknowledged and is not in the durable files: the next session may lose it
            // until it syncs, which this recording's strict bound does not express. Skipped.
            guard CrashTests.same(try Self.recovered(durable, dir: dir), opened) else { continue }
            let next = try Self.recordNextSession(
                durable: durable, unsynced: unsynced, opened: opened, mode: mode, transactions: 4,
                seed: seed &+ UInt64(n), dir: dir)
            let outcome = try CrashTests.check(next, strict: mode == .full, dir: dir, rng: &rng)
            sessions += 1
            total.states += outcome.states
            total.lost += outcome.lost
            total.corrupt += outcome.corrupt
            total.failures += outcome.failures.map { "kill after event \(kill): \($0)" }
        }
        print(
            "killed checkpoint (\(killedMode)\(inBackground ? " in the background" : ""), then \(mode)): \(sessions) of \(kills.count) meta page writes killed, \(total.states) states, \(total.lost) lost, \(total.corrupt) corrupt (seed \(seed))"
        )
        #expect(sessions >= 3)
        #expect(total.failures.isEmpty, "\(total.failures.prefix(5))")
    }
}
