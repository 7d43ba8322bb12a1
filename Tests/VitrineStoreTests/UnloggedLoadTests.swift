import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// `Database.bulkLoad(.unlogged)` (BulkLoad.swift): no log record while it runs; a crash before
/// it returns takes the database back to the load's start; commits that must be durable when
/// they return are made so by checkpoints; logging resumes after one.
@Suite struct UnloggedLoadTests {
    static func options(_ durability: Durability) -> DatabaseOptions {
        // Small thresholds: outside a bulk load these commits would checkpoint every few times.
        DatabaseOptions(durability: durability, checkpointLogBytes: 64 << 10, checkpointPages: 64)
    }

    static func load(_ db: Database, batches: Int, from start: Int = 0) throws {
        try BulkLoadTests.load(db, batches: batches, from: start)
    }

    static func count(_ db: Database) throws -> Int { try BulkLoadTests.count(db) }

    /// The files as a process killed now leaves them (the page cache's contents).
    static func killed(_ path: String) -> (data: [UInt8], log: [UInt8]) { (readFile(path), readFile(path + "-wal")) }

    /// Opens `files` at `target`: the same file after a kill (`.ignoringOrigin`, as the same
    /// boot would), or as a power cut leaves a copy (`.sameOrigin` on a new file).
    static func recovered(_ files: (data: [UInt8], log: [UInt8]), at target: String, killed: Bool) throws -> Database {
        writeFile(target, files.data)
        writeFile(target + "-wal", files.log)
        var options = DatabaseOptions(durability: .relaxed)
        options.pageCacheTrust = killed ? .ignoringOrigin : .sameOrigin
        return try Database(path: target, options: options)
    }

    @Test func logsNothingAndCheckpointsAtTheEnd() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        // The default thresholds: the commits before and after the load checkpoint nothing.
        let db = try Database(path: path, options: DatabaseOptions(durability: .relaxed))
        defer { db.close() }
        try Self.load(db, batches: 2)
        #expect(try db.statistics().logBytes > 0)
        let before = try db.statistics().checkpointSequence
        try db.bulkLoad(.unlogged) {
            // The logged commits before it were checkpointed first (rule 1).
            let start = try db.statistics()
            #expect(start.checkpointSequence == before + 1)
            #expect(start.logBytes == 0)
            try Self.load(db, batches: 30, from: 400)
            let inside = try db.statistics()
            #expect(inside.logBytes == 0, "an unlogged load wrote log records")
            #expect(inside.checkpointSequence == before + 1, "an unlogged relaxed commit checkpointed")
            // Its commits are visible at once.
            #expect(try Self.count(db) == 6400)
        }
        let after = try db.statistics()
        // Its end checkpoints (and here shrinks, which checkpoints again: Shrink.swift).
        #expect(after.checkpointSequence >= before + 2)
        #expect(after.logBytes == 0)
        #expect(try Self.count(db) == 6400)
        #expect(try db.verify().isClean)
        // Logging resumes: the next commit has a record.
        try Self.load(db, batches: 1, from: 6400)
        #expect(try db.statistics().logBytes > 0)
    }

    /// A crash inside the load, by a kill or a power cut: the state when the load began, with
    /// every commit logged and acknowledged before it; a crash after it: all of it.
    @Test(arguments: [false, true])
    func aCrashInsideReturnsToTheLoadsStart(killed: Bool) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        var options = Self.options(.relaxed)
        options.relaxedSyncIntervalMilliseconds = 3_600_000 // nothing synced but by the load
        let db = try Database(path: path, options: options)
        try Self.load(db, batches: 3) // logged, not synced: the load's first checkpoint keeps them
        var inside: (data: [UInt8], log: [UInt8]) = ([], [])
        try db.bulkLoad(.unlogged) {
            try Self.load(db, batches: 25, from: 600)
            inside = Self.killed(path)
        }
        let after = Self.killed(path)
        try Self.load(db, batches: 1, from: 100_000) // logged again
        let later = Self.killed(path)
        db.close()
        for (n, (files, expected)) in [(inside, 600), (after, 5600), (later, 5800)].enumerated() {
            let recovered = try Self.recovered(files, at: dir.file("copy\(n)"), killed: killed)
            #expect(try Self.count(recovered) == expected, "state \(n)")
            #expect(try recovered.verify().isClean, "state \(n)")
            // The load's pages left in the file are free again, and the database takes writes.
            try Self.load(recovered, batches: 1, from: 200_000)
            #expect(try Self.count(recovered) == expected + 200)
            #expect(try recovered.verify().isClean, "state \(n), written after")
            recovered.close()
        }
    }

    /// `.full` and `.grouped` commits inside the load are durable when they return: each
    /// checkpoints. So is everything before a `sync()` in `.relaxed` mode.
    @Test(arguments: [Durability.full, .grouped, .relaxed])
    func whatMustBeDurableIsCheckpointed(durability: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        let db = try Database(path: path, options: Self.options(durability))
        defer { db.close() }
        var files: (data: [UInt8], log: [UInt8]) = ([], [])
        try db.bulkLoad(.unlogged) {
            let before = try db.statistics().checkpointSequence
            try Self.load(db, batches: 4)
            if durability == .relaxed {
                #expect(try db.statistics().checkpointSequence == before)
                try db.sync()
            } else {
                #expect(try db.statistics().checkpointSequence == before + 4, "one checkpoint per commit")
            }
            // Through the batch path too (a grouped commit of its own).
            try db.batchWrite { tx in
                try tx.createTable("products").put(Array("batched".utf8), [1, 2, 3])
            }
            if durability == .relaxed { try db.sync() }
            #expect(try db.statistics().logBytes == 0)
            files = Self.killed(path)
        }
        let recovered = try Self.recovered(files, at: dir.file("copy"), killed: false)
        defer { recovered.close() }
        #expect(try Self.count(recovered) == 801)
        #expect(try recovered.verify().isClean)
    }

    /// Nested loads: an unlogged one inside a logged one checkpoints the records before it and
    /// when it ends; a logged one inside an unlogged one logs nothing.
    @Test func nestsEitherWay() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        let db = try Database(path: path, options: Self.options(.relaxed))
        defer { db.close() }
        try db.bulkLoad {
            try Self.load(db, batches: 2)
            #expect(try db.statistics().logBytes > 0)
            let before = try db.statistics().checkpointSequence
            try db.bulkLoad(.unlogged) {
                #expect(try db.statistics().logBytes == 0)
                try db.bulkLoad { try Self.load(db, batches: 2, from: 400) }
                #expect(try db.statistics().logBytes == 0)
            }
            // Ended with a checkpoint though the outer load goes on; logging resumes.
            #expect(try db.statistics().checkpointSequence == before + 2)
            try Self.load(db, batches: 1, from: 800)
            #expect(try db.statistics().logBytes > 0)
        }
        #expect(try db.statistics().logBytes == 0)
        #expect(try Self.count(db) == 1000)
    }

    /// Loads on two threads overlap (neither nested in the other): the one that ends first,
    /// unlogged or logged, returns with its commits durable although the other goes on; a
    /// crash then loses only what the other committed since (found by the change's review).
    @Test(arguments: [BulkLoadMode.unlogged, .logged])
    func overlappingLoadsEachReturnDurable(firstMode: BulkLoadMode) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        var options = Self.options(.relaxed)
        options.relaxedSyncIntervalMilliseconds = 3_600_000
        let db = try Database(path: path, options: options)
        defer { db.close() }
        let otherStarted = DispatchSemaphore(value: 0)
        let firstReturned = DispatchSemaphore(value: 0)
        let otherDone = DispatchSemaphore(value: 0)
        // Written by the thread before `otherDone` is signalled, read after it is waited for.
        final class Failure: @unchecked Sendable { var message: String? }
        let failure = Failure()
        Thread.detachNewThread {
            do {
                try db.bulkLoad(.unlogged) {
                    try Self.load(db, batches: 1, from: 100_000)
                    otherStarted.signal()
                    firstReturned.wait()
                    try Self.load(db, batches: 1, from: 200_000)
                }
            } catch {
                failure.message = "\(error)"
            }
            otherDone.signal()
        }
        otherStarted.wait()
        try db.bulkLoad(firstMode) { try Self.load(db, batches: 3) }
        let returned = Self.killed(path)
        firstReturned.signal()
        otherDone.wait()
        #expect(failure.message == nil)
        let recovered = try Self.recovered(returned, at: dir.file("copy"), killed: false)
        defer { recovered.close() }
        // This load's 600 and the other's first 200, checkpointed together.
        #expect(try Self.count(recovered) == 800)
        #expect(try recovered.verify().isClean)
        #expect(try Self.count(db) == 1000)
    }

    /// A relaxed `batchWrite` inside the load: the batch thread's transaction, begun while the
    /// load runs, is unlogged too (rule 3), checkpoints nothing (rule 4: a relaxed commit waits
    /// for the load's end), and is seen at once; a crash before the load returns loses it with
    /// the load, and its end keeps it. (The `.relaxed` case of `whatMustBeDurableIsCheckpointed`
    /// syncs after its batch, which would hide a logged record: the sync checkpoints.)
    @Test func aRelaxedBatchInsideIsUnloggedUntilTheLoadEnds() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        var options = Self.options(.relaxed)
        options.relaxedSyncIntervalMilliseconds = 3_600_000 // nothing synced but by the load
        let db = try Database(path: path, options: options)
        defer { db.close() }
        try Self.load(db, batches: 1)
        var inside: (data: [UInt8], log: [UInt8]) = ([], [])
        try db.bulkLoad(.unlogged) {
            let sequence = try db.statistics().checkpointSequence
            let key = Array("batched".utf8)
            for batching in [Batching.always, .whenContended] {
                try db.write(batching: batching) { tx in
                    try tx.createTable("products").put(key + [batching == .always ? 1 : 2], [1, 2, 3])
                }
            }
            let stats = try db.statistics()
            #expect(stats.logBytes == 0, "a batch inside an unlogged load wrote a log record")
            #expect(stats.checkpointSequence == sequence, "a relaxed batch inside the load checkpointed")
            #expect(db.batchStatistics().closures == 1)
            #expect(try Self.count(db) == 202)
            inside = Self.killed(path)
        }
        let after = Self.killed(path)
        for (n, (files, expected)) in [(inside, 200), (after, 202)].enumerated() {
            let recovered = try Self.recovered(files, at: dir.file("copy\(n)"), killed: true)
            #expect(try Self.count(recovered) == expected, "state \(n)")
            #expect(try recovered.verify().isClean, "state \(n)")
            recovered.close()
        }
    }

    /// A background checkpoint in flight when the load begins (its meta page not yet
    /// finished, with or without commits after it): the load's first checkpoint finishes it
    /// first (rule 1), so a crash inside the load returns to the load's start with every commit
    /// before it, and the log the load leaves behind is the new generation's.
    @Test(arguments: [0, 5])
    func aBackgroundCheckpointInFlightWhenItBegins(commitsAfter: Int) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        let db = try Database(path: path, options: BackgroundCheckpointTests.options)
        defer { db.close() }
        var commits = 0
        try BackgroundCheckpointTests.commitUntilACheckpointIsInFlight(db, commits: &commits)
        db.commitsFinishBackgroundCheckpoints = false
        for _ in 0..<commitsAfter {
            let i = commits
            try db.write { try $0.createTable("t").put(bytes("k\(i)"), BackgroundCheckpointTests.value(i)) }
            commits += 1
        }
        #expect(db.checkpointInFlight != nil)
        let sequence = try db.statistics().checkpointSequence
        var inside: (data: [UInt8], log: [UInt8]) = ([], [])
        try db.bulkLoad(.unlogged) {
            #expect(db.checkpointInFlight == nil, "the load began with a background checkpoint in flight")
            #expect(try db.statistics().checkpointSequence >= sequence + 2, "the one in flight, then the load's own")
            #expect(try db.statistics().logBytes == 0)
            try Self.load(db, batches: 3)
            inside = Self.killed(path)
        }
        db.commitsFinishBackgroundCheckpoints = true
        let after = Self.killed(path)
        for (n, (files, loaded)) in [(inside, 0), (after, 600)].enumerated() {
            let recovered = try Self.recovered(files, at: dir.file("copy\(n)"), killed: true)
            defer { recovered.close() }
            #expect(try recovered.verify().isClean, "state \(n)")
            #expect(try Self.count(recovered) == loaded, "state \(n)")
            try recovered.read { tx in
                let t = try #require(try tx.table("t"))
                for i in 0..<commits {
                    #expect(try t.get(bytes("k\(i)")) == BackgroundCheckpointTests.value(i), "state \(n), k\(i)")
                }
            }
        }
    }

    /// The body throws: its commits stay and are checkpointed; a close inside the load makes
    /// them durable too; a write transaction cannot start one.
    @Test func finishedWhenTheBodyThrowsOrTheDatabaseCloses() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        var options = Self.options(.relaxed)
        options.relaxedSyncIntervalMilliseconds = 3_600_000
        let db = try Database(path: path, options: options)
        #expect(throws: StoreError.nestedWriteTransaction) {
            try db.write { _ in try db.bulkLoad(.unlogged) {} }
        }
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try db.bulkLoad(.unlogged) {
                try Self.load(db, batches: 2)
                throw Stop()
            }
        }
        #expect(try db.statistics().logBytes == 0)
        let thrown = Self.killed(path)
        #expect(throws: StoreError.closed) {
            try db.bulkLoad(.unlogged) {
                try Self.load(db, batches: 2, from: 400)
                db.close()
            }
        }
        for (n, (files, expected)) in [(thrown, 400), (Self.killed(path), 800)].enumerated() {
            let recovered = try Self.recovered(files, at: dir.file("copy\(n)"), killed: false)
            #expect(try Self.count(recovered) == expected, "state \(n)")
            #expect(try recovered.verify().isClean)
            recovered.close()
        }
    }
}
