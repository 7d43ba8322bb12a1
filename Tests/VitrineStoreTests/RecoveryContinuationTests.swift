import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// Recovery that continues the replayed log generation (WriteAheadLog.resume): what it cuts,
/// power cuts after it, and copies of a crashed database (first found by a review of the change).
@Suite struct RecoveryContinuationTests {
    static func value(_ db: Database, _ key: String) throws -> String? {
        try db.read { tx in
            guard let t = try tx.table("t"), let v = try t.get(bytes(key)) else { return nil }
            return String(decoding: v, as: UTF8.self)
        }
    }

    /// Two copies of a crashed database (files copied after kill -9), each reopened and written:
    /// both recover the same generation and salt, but each session's first write checkpoints to
    /// a salt of its own, so a log moved from one to the other is refused as "another copy"
    /// instead of being replayed (its commits grafted on, the file's own lost).
    @Test func divergedCopiesOfACrashedDatabaseStayApart() throws {
        let dir = TempDir(); defer { dir.remove() }
        let a = dir.file("a.db"), b = dir.file("b.db")
        let crashed: (data: [UInt8], log: [UInt8])
        do {
            let db = try Database(path: a)
            try db.write { tx in try tx.createTable("t").put(bytes("common"), bytes("before the crash")) }
            crashed = (readFile(a), readFile(a + "-wal")) // kill -9 here
            db.close()
        }
        for p in [a, b] { writeFile(p, crashed.data); writeFile(p + "-wal", crashed.log) }
        var after: [String: (data: [UInt8], log: [UInt8])] = [:]
        for (path, key) in [(a, "only-a"), (b, "only-b")] {
            let db = try Database(path: path) // replays "common", resumes the generation
            try db.write { tx in try tx.createTable("t").put(bytes(key), bytes("acknowledged")) }
            after[path] = (readFile(path), readFile(path + "-wal")) // kill -9 again
            db.close()
        }
        let ca = try #require(after[a]), cb = try #require(after[b])
        // a's data file with b's log.
        writeFile(a, ca.data); writeFile(a + "-wal", cb.log)
        var refused = false
        do {
            let db = try Database(path: a)
            let grafted = try Self.value(db, "only-b")
            _ = grafted
            db.close()
        } catch {
            refused = true
        }
        #expect(refused, "the log of a diverged copy was replayed")
    }

    /// A torn record followed by intact, never-acknowledged ones (.relaxed, nothing synced, then
    /// a power cut: `.never`, or the opens of the same file in this boot would try to adopt):
    /// the generation continues without them, and no later recovery replays them after new
    /// commits.
    @Test func resumeCutsIntactRecordsAfterATornOne() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        var options = DatabaseOptions(durability: .relaxed)
        options.relaxedSyncIntervalMilliseconds = 3_600_000
        let db = try Database(path: path, options: options)
        for i in 1...5 {
            try db.write { tx in try tx.createTable("t").put(bytes("k\(i)"), bytes(String(repeating: "v\(i)", count: 50))) }
        }
        var files = (data: readFile(path), log: readFile(path + "-wal"))
        db.close()
        let offsets = LogIdentityTests.recordOffsets(files.log)
        #expect(offsets.count == 5)
        for i in offsets[2]..<offsets[3] { files.log[i] = 0 }
        writeFile(path, files.data); writeFile(path + "-wal", files.log)
        var afterPowerCut = DatabaseOptions()
        afterPowerCut.pageCacheTrust = .never
        for round in 0..<3 {
            let db2 = try Database(path: path, options: afterPowerCut)
            #expect(try db2.statistics().recovery.method == .replayed)
            #expect(try Self.value(db2, "k2") != nil)
            #expect(try Self.value(db2, "k3") == nil)
            #expect(try Self.value(db2, "k4") == nil)
            #expect(try Self.value(db2, "k5") == nil)
            for r in 0...round { #expect(try Self.value(db2, "n\(r)") == (r < round ? "x" : nil)) }
            try db2.write { tx in try tx.createTable("t").put(bytes("n\(round)"), bytes("x")) }
            let crash = (data: readFile(path), log: readFile(path + "-wal"))
            db2.close()
            writeFile(path, crash.data); writeFile(path + "-wal", crash.log)
        }
    }
}

extension CrashTests {
    @Test(arguments: [Durability.grouped, .full])
    func powerLossAfterARecoveryThatCutATornTail(mode: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let rec = try Self.recordAfterRecovery(
            seed: 9, killedAfter: 10, killedMode: .relaxed, tornAt: 6, transactions: 16, mode: mode, dir: dir)
        var rng = SeededRandom(seed: 9)
        let outcome = try Self.check(rec, strict: true, dir: dir, rng: &rng)
        print("crash(after torn recovery, \(mode)): \(outcome.states) states, \(outcome.lost) lost, \(outcome.corrupt) corrupt")
        #expect(outcome.failures.isEmpty, "\(outcome.failures.prefix(5))")
    }
}
