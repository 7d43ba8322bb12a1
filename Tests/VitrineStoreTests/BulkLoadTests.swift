import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// `Database.bulkLoad` (BulkLoad.swift): no checkpoint between its commits, one at the end, and
/// every commit as durable and recoverable as outside it.
@Suite struct BulkLoadTests {
    static func options() -> DatabaseOptions {
        // Small thresholds: outside a bulk load these commits would checkpoint every few times.
        DatabaseOptions(durability: .full, checkpointLogBytes: 64 << 10, checkpointPages: 64)
    }

    static func load(_ db: Database, batches: Int, from start: Int = 0) throws {
        for b in 0..<batches {
            try db.write { tx in
                let t = try tx.createTable("products")
                for i in 0..<200 {
                    let n = (start + b * 200 + i) &* 7919 % 1_000_003 // random order
                    try t.put(Array("p\(n)".utf8), [UInt8](repeating: UInt8(truncatingIfNeeded: n), count: 150))
                }
            }
        }
    }

    static func logFileBytes(_ db: Database) -> Int {
        var info = stat()
        return stat(db.path + "-wal", &info) == 0 ? Int(info.st_size) : -1
    }

    static func count(_ db: Database) throws -> Int {
        try db.read { tx in try tx.table("products").map { try $0.range(from: [], to: []).count } ?? 0 }
    }

    @Test func checkpointsOnceAtTheEndAndGivesTheLogBack() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let db = try Database(path: path, options: Self.options())
        defer { db.close() }
        let before = try db.statistics().checkpointSequence
        try db.bulkLoad {
            try Self.load(db, batches: 30)
            // Still inside: the log holds every commit, no checkpoint happened.
            let inside = try db.statistics()
            #expect(inside.checkpointSequence <= before + 1) // at most the first commit's anchor
            #expect(inside.logBytes > 30 * 200 * 150)
        }
        let after = try db.statistics()
        #expect(after.checkpointSequence > before)
        #expect(after.logBytes == 0)
        #expect(Self.logFileBytes(db) == 4096, "the log's space was not given back")
        #expect(try Self.count(db) == 6000)
        #expect(try db.verify().isClean)
        // Outside a bulk load the same commits checkpoint as usual.
        let outside = try db.statistics().checkpointSequence
        try Self.load(db, batches: 10, from: 6000)
        #expect(try db.statistics().checkpointSequence > outside + 2)
    }

    /// A process killed in the middle of a bulk load: every acknowledged commit comes back,
    /// adopted (same file) or replayed (a copy), and the database checks out.
    @Test func aCrashDuringABulkLoadKeepsEveryCommit() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        let db = try Database(path: path, options: Self.options())
        var files: ([UInt8], [UInt8]) = ([], [])
        try db.bulkLoad {
            try Self.load(db, batches: 25)
            files = (readFile(path), readFile(path + "-wal")) // kill -9 here
        }
        db.close()
        for (target, method) in [(path, RecoveryReport.Method.adopted), (dir.file("copy"), .replayed)] {
            writeFile(target, files.0)
            writeFile(target + "-wal", files.1)
            let recovered = try Database(path: target)
            #expect(try recovered.statistics().recovery.method == method)
            #expect(try Self.count(recovered) == 5000)
            #expect(try recovered.verify().isClean)
            recovered.close()
        }
    }

    @Test func refusedInsideAWriteAndFinishedWhenTheBodyThrows() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: Self.options())
        defer { db.close() }
        #expect(throws: StoreError.nestedWriteTransaction) {
            try db.write { _ in try db.bulkLoad {} }
        }
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try db.bulkLoad {
                try Self.load(db, batches: 5)
                throw Stop()
            }
        }
        // The commits before the throw stay, and the load was finished (checkpointed).
        #expect(try Self.count(db) == 1000)
        #expect(try db.statistics().logBytes == 0)
        #expect(Self.logFileBytes(db) == 4096)
        // Nested loads: the outer one checkpoints.
        try db.bulkLoad {
            try db.bulkLoad { try Self.load(db, batches: 3, from: 1000) }
            #expect(try db.statistics().logBytes > 0)
        }
        #expect(try db.statistics().logBytes == 0)
        #expect(Self.logFileBytes(db) == 4096)
    }
}

/// The page summary counts toward `largeTransactionBytes` (found by the review of the change):
/// a drop of a large table is one small operation but frees every page of the table.
@Suite struct PageSummarySizeTests {
    @Test func droppingALargeTableCommitsByCheckpoint() throws {
        let dir = TempDir(); defer { dir.remove() }
        // Each put's record (~4 KiB) is logged; the drop's summary (~1,500 freed pages) would
        // be over 8 KiB.
        let options = DatabaseOptions(durability: .relaxed, checkpointLogBytes: 64 << 20, largeTransactionBytes: 8 << 10)
        let db = try Database(path: dir.file(), options: options)
        defer { db.close() }
        for i in 0..<1500 {
            try db.write { tx in try tx.createTable("big").put(Array("k\(i)".utf8), [UInt8](repeating: 1, count: 4000)) }
        }
        let before = try db.statistics()
        #expect(before.logBytes > 0)
        try db.write { tx in try tx.dropTable("big") }
        let after = try db.statistics()
        // By checkpoint: the log holds no record of the drop (a record would be > 16 KiB).
        #expect(after.checkpointSequence > before.checkpointSequence)
        #expect(after.logBytes == 0)
        #expect(try db.read { tx in try tx.table("big") } == nil)
    }
}
