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
        var (trace, options) = CrashTests.recordingOptions(path: path, durability: mode)
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
        try CrashTests.runRandomTransactions(
            db, count: transactions, model: &model, rng: &rng, trace: trace, states: &states, acked: &acked)
        db.close()
        return CrashTests.Recording(
            base: durable, events: trace.events, states: states, ackedAt: acked, openedAt: openedAt, inherited: unsynced)
    }

    /// What killing at every meta page write of `first` and cutting power at every event of
    /// the next session gave.
    struct Campaign {
        var outcome = CrashTests.Outcome()
        /// Kill points whose next session was recorded and checked.
        var sessions = 0
        /// Of those, kills right after a background checkpoint's meta page (a log start).
        var backgroundMetas = 0
        var killPoints = 0

        /// One line for the test's output.
        func summary(_ label: String, seed: UInt64) -> String {
            "\(label): \(sessions) of \(killPoints) meta page writes killed (\(backgroundMetas) background), \(outcome.states) states, \(outcome.lost) lost, \(outcome.corrupt) corrupt (seed \(seed))"
        }
    }

    /// Kills `first` right after each of its meta page writes, records the next session in
    /// `mode` on what the kill left, and checks a power cut at every event of it.
    ///
    /// A kill point is skipped when the durable files alone recover another state than the
    /// page cache shows (a commit by checkpoint, which has no log record, or `.relaxed` records
    /// no sync covered yet): the next session may then lose that state until it syncs, which the
    /// strict bound does not express.
    static func killAtEveryMetaPageWrite(_ first: CrashTests.Recording, mode: Durability, seed: UInt64, dir: TempDir) throws
        -> Campaign
    {
        var campaign = Campaign()
        var rng = SeededRandom(seed: seed)
        let kills = metaWrites(first.events)
        campaign.killPoints = kills.count
        for (n, kill) in kills.enumerated() {
            let (durable, unsynced) = killed(first, after: kill)
            var pageCache = durable
            for event in unsynced { DiskImage.apply(event, to: &pageCache) }
            let opened = try recovered(pageCache, dir: dir)
            guard CrashTests.same(try recovered(durable, dir: dir), opened) else { continue }
            if case .write(_, _, let bytes) = first.events[kill], case .valid(let meta) = Meta.decode(bytes), meta.logStart != 0 {
                campaign.backgroundMetas += 1
            }
            let next = try recordNextSession(
                durable: durable, unsynced: unsynced, opened: opened, mode: mode, transactions: 4,
                seed: seed &+ UInt64(n), dir: dir)
            let outcome = try CrashTests.check(next, strict: mode == .full, dir: dir, rng: &rng)
            campaign.sessions += 1
            campaign.outcome.states += outcome.states
            campaign.outcome.lost += outcome.lost
            campaign.outcome.corrupt += outcome.corrupt
            campaign.outcome.failures += outcome.failures.map { "kill after event \(kill): \($0)" }
        }
        return campaign
    }

    /// Kills at every meta page write of a recorded session (each checkpoint's and each anchor's),
    /// then power cuts at every event of the next session: it never loses the state it opened
    /// nor an acknowledged commit, and never leaves a file that does not open clean.
    ///
    /// Without the sync (it was found by a review in session 11): the next session cut the log
    /// the killed checkpoint had made redundant, or wrote into pages its meta page freed,
    /// before anything made that meta page durable; the power cut then fell back to the older
    /// meta page with its log gone or its tree overwritten.
    @Test(arguments: [Durability.full, .relaxed])
    func powerLossAfterAKillBetweenAMetaPageAndItsSync(mode: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let seed = envSeed(default: 11)
        let first = try CrashTests.record(
            seed: seed, transactions: envInt("VITRINE_CRASH_TRANSACTIONS", default: 24), durability: .full, dir: dir)
        let campaign = try Self.killAtEveryMetaPageWrite(first, mode: mode, seed: seed, dir: dir)
        print(campaign.summary("killed checkpoint (then \(mode))", seed: seed))
        #expect(campaign.sessions >= 3)
        #expect(campaign.outcome.failures.isEmpty, "\(campaign.outcome.failures.prefix(5))")
    }

    /// The same with background checkpoints (`.relaxed`), whose meta page names a generation the
    /// log already holds (so the log cannot vouch for it) and whose records after it the next
    /// session replays onto its tree. The log is synced after every commit, so that a kill right
    /// after the checkpointer's meta page write leaves the durable files at the same state.
    /// Without the sync before the replay's first page write: corrupt states (a review's probe).
    @Test func powerLossAfterAKillBetweenABackgroundCheckpointsMetaPageAndItsSync() throws {
        let dir = TempDir(); defer { dir.remove() }
        let seed = envSeed(default: 11)
        let first = try Self.recordRandomTransactions(
            dir: dir, seed: seed, durability: .relaxed, checkpointsInBackground: true, count: 40, syncingEach: true)
        let campaign = try Self.killAtEveryMetaPageWrite(first, mode: .full, seed: seed, dir: dir)
        print(campaign.summary("killed background checkpoint", seed: seed))
        // Kills while a commit's record was not synced yet are skipped, which depends on when the
        // checkpointer thread ran: 5 - 9 background meta pages killed in 6 runs of the default
        // seed, 2 - 7 with 8 other seeds.
        #expect(campaign.backgroundMetas >= 1, "no background checkpoint's meta page was killed")
        #expect(campaign.outcome.failures.isEmpty, "\(campaign.outcome.failures.prefix(5))")
    }

    /// A checkpoint on a log that holds no record (4,096 bytes after a clean close): recovery
    /// then cuts nothing, and the first write transaction's sync is the only one before its
    /// page writes. Without it: "expected a free-list page, found kind 3" (a review's probe).
    @Test func powerLossAfterAKilledCheckpointOnAnEmptyLog() throws {
        let dir = TempDir(); defer { dir.remove() }
        let seed = envSeed(default: 11)
        let first = try Self.recordRandomTransactions(
            dir: dir, seed: seed, durability: .full, checkpointsInBackground: false, count: 12
        ) { db in
            try db.checkpoint()
            try db.checkpoint()
        }
        let campaign = try Self.killAtEveryMetaPageWrite(first, mode: .full, seed: seed, dir: dir)
        print(campaign.summary("killed checkpoint on an empty log", seed: seed))
        #expect(campaign.sessions >= 3)
        #expect(campaign.outcome.failures.isEmpty, "\(campaign.outcome.failures.prefix(5))")
    }

    /// A recorded session of `count` random transactions on a fresh file (each synced when
    /// `syncingEach`), then, if given, `nextSession` on the file opened again, recorded too.
    static func recordRandomTransactions(
        dir: TempDir, seed: UInt64, durability: Durability, checkpointsInBackground: Bool, count: Int,
        syncingEach: Bool = false, nextSession: ((Database) throws -> Void)? = nil
    ) throws -> CrashTests.Recording {
        let (path, base, trace, options) = try CrashTests.recordedSetup(
            dir: dir, durability: durability, checkpointsInBackground: checkpointsInBackground)
        var rng = SeededRandom(seed: seed)
        var model: CrashTests.Model = [:]
        var states = [model]
        var acked: [Int] = []
        do {
            let db = try Database(path: path, options: options)
            try CrashTests.runRandomTransactions(
                db, count: count, model: &model, rng: &rng, trace: trace, states: &states, acked: &acked,
                syncingEach: syncingEach)
            db.close()
        }
        if let nextSession {
            let db = try Database(path: path, options: options)
            try nextSession(db)
            db.close()
        }
        return CrashTests.Recording(base: base, events: trace.events, states: states, ackedAt: acked)
    }

    /// `.grouped`: `sync()` before the session's first commit flushed the header of the log
    /// generation started at open, which no meta page named yet: the next open refused the log
    /// as another copy's (a review's probe; `WriteAheadLog.flush` writes no unanchored header).
    @Test func aGroupedSyncBeforeTheFirstCommitLeavesAnOpenableFile() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("g.db")
        let options = DatabaseOptions(durability: .grouped)
        do {
            let db = try Database(path: path, options: options)
            try db.write { tx in try tx.createTable("t").put(Array("k".utf8), Array("v".utf8)) }
            db.close()
        }
        do {
            let db = try Database(path: path, options: options)
            try db.sync()
            db.close()
        }
        let db = try Database(path: path, options: options)
        defer { db.close() }
        #expect(try db.read { tx in try tx.table("t")?.get(Array("k".utf8)) } == Array("v".utf8))
    }

    /// The same header, flushed before the first commit's anchor, was taken by the next session
    /// (after a kill between the anchor's meta page write and its sync) as proof that meta page
    /// was durable: that session then wrote its own anchor over the only durable meta page's
    /// slot before any data-file sync. A power cut there lost 3 acknowledged commits and left
    /// a file that did not open (a review's probe).
    @Test func aHeaderFlushedBeforeTheAnchorIsNoProof() throws {
        let dir = TempDir(); defer { dir.remove() }
        let (path, _, trace, setupOptions) = try CrashTests.recordedSetup(
            dir: dir, durability: .grouped, checkpointsInBackground: false)
        var options = setupOptions
        options.checkpointLogBytes = 8 << 20
        do {
            let db = try Database(path: path, options: options)
            for i in 0..<3 { try db.write { tx in try tx.createTable("t").put(Array("k\(i)".utf8), Array("v".utf8)) } }
            db.close()
        }
        let base = [readFile(path), readFile(path + "-wal"), []]
        let start = trace.count
        do {
            let db = try Database(path: path, options: options)
            try db.sync()
            try db.write { tx in try tx.createTable("t").put(Array("k9".utf8), Array("v".utf8)) }
            db.close()
        }
        let events = Array(trace.events[start...])
        let first = CrashTests.Recording(base: base, events: events, states: [], ackedAt: [])
        let kill = try #require(Self.metaWrites(events).first, "the session wrote no meta page")
        guard case .write(_, let killedSlot, _) = events[kill] else { return }
        let (durable, unsynced) = Self.killed(first, after: kill)
        var pageCache = durable
        for event in unsynced { DiskImage.apply(event, to: &pageCache) }
        // The next session, on the page cache the kill left.
        let next = dir.file("next.db")
        writeFile(next, pageCache[0])
        writeFile(next + "-wal", pageCache[1])
        let nextTrace = IOTrace()
        nextTrace.register(next)
        nextTrace.register(next + "-wal")
        var nextOptions = options
        nextOptions.fileSystem = RecordingFileSystem(trace: nextTrace)
        let db = try Database(path: next, options: nextOptions)
        try db.write { tx in try tx.createTable("t").put(Array("k10".utf8), Array("v".utf8)) }
        db.close()
        let otherSlot = killedSlot == 0 ? Int64(PageLayout.size) : 0
        let firstSync = nextTrace.events.firstIndex { $0.isSync && $0.file == 0 } ?? Int.max
        let overwrite =
            nextTrace.events.firstIndex {
                if case .write(0, let offset, _) = $0 { return offset == otherSlot }
                return false
            } ?? Int.max
        #expect(
            firstSync < overwrite,
            "the durable meta page's slot is written (event \(overwrite)) before the first data-file sync (event \(firstSync))")
    }
}
