import Foundation
import Synchronization
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// `.relaxed` commits whose pages the page writer writes after the record (PageWriter.swift):
/// nobody sees a page before it is written, and nothing acknowledged is lost when a write fails.
@Suite struct PageWriterTests {
    static func key(_ i: Int) -> [UInt8] { bytes("k\(String(i, radix: 16))") }

    /// A `write` that returned is seen by every read that starts after it: by the same thread
    /// at once, and by another thread that learned of it (through an atomic). Values are big
    /// enough to split leaves, so most commits write several pages.
    @Test func aReadAfterAWriteSeesIt() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: .relaxed))
        defer { db.close() }
        try db.write { tx in _ = try tx.createTable("t") }
        let commits = 3000
        let acknowledged = Atomic<Int>(-1)
        let misses = Atomic<Int>(0)
        let reads = Atomic<Int>(0)
        let group = ThreadGroup()
        group.spawn(3) { thread in
            if thread == 0 {
                for i in 0..<commits {
                    do {
                        try db.write { tx in try tx.table("t")!.put(Self.key(i), [UInt8](repeating: UInt8(i & 0xFF), count: 300)) }
                        let seen = try db.read { tx in try tx.table("t")?.get(Self.key(i)) != nil }
                        if !seen { misses.add(1, ordering: .relaxed) }
                    } catch {
                        misses.add(1, ordering: .relaxed)
                    }
                    acknowledged.store(i, ordering: .sequentiallyConsistent)
                }
            } else {
                while true {
                    let last = acknowledged.load(ordering: .sequentiallyConsistent)
                    if last >= 0 {
                        let seen = (try? db.read { tx in try tx.table("t")?.get(Self.key(last)) != nil }) ?? false
                        if !seen { misses.add(1, ordering: .relaxed) }
                        reads.add(1, ordering: .relaxed)
                    }
                    if last == commits - 1 { break }
                }
            }
        }
        group.join()
        #expect(misses.load(ordering: .relaxed) == 0)
        #expect(reads.load(ordering: .relaxed) > 100)
        #expect(try db.read { tx in try tx.table("t")!.count } == commits)
        #expect(try db.verify().isClean)
    }

    /// Each transaction reads what the one before wrote, from pages the page writer may not
    /// have written yet: a counter, and a table that grows and shrinks (splits and merges), with
    /// a checkpoint now and then (which waits for the page writer).
    @Test func theWriterBuildsOnCommitsNotWrittenYet() throws {
        let dir = TempDir(); defer { dir.remove() }
        var options = DatabaseOptions(durability: .relaxed)
        options.checkpointPages = 300
        let db = try Database(path: dir.file(), options: options)
        defer { db.close() }
        try db.write { tx in
            _ = try tx.createTable("counter")
            _ = try tx.createTable("rows")
        }
        var model: [Int: Int] = [:]
        var rng = SeededRandom(seed: 11)
        for round in 0..<2000 {
            try db.write { tx in
                let counter = try tx.table("counter")!
                let n = try counter.get(bytes("n")).map { Int($0[0]) | Int($0[1]) << 8 } ?? 0
                #expect(n == round)
                try counter.put(bytes("n"), [UInt8(truncatingIfNeeded: n + 1), UInt8(truncatingIfNeeded: (n + 1) >> 8)])
                let rows = try tx.table("rows")!
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let k = Int.random(in: 0..<600, using: &rng)
                    if Bool.random(using: &rng) {
                        let length = Int.random(in: 10...700, using: &rng)
                        try rows.put(Self.key(k), [UInt8](repeating: UInt8(length & 0xFF), count: length))
                        model[k] = length
                    } else {
                        _ = try rows.delete(Self.key(k))
                        model[k] = nil
                    }
                }
            }
        }
        let stored = try db.read { tx in
            var out: [Int: Int] = [:]
            for k in 0..<600 {
                if let v = try tx.table("rows")!.get(Self.key(k)) { out[k] = v.count }
            }
            return out
        }
        #expect(stored == model)
        #expect(try db.verify().isClean)
    }

    /// A page write that fails after its commit was acknowledged: the database refuses reads of
    /// that commit and every later write (`needsReopen`); the commit is in the log, so reopening
    /// finds it.
    @Test func aFailedPageWriteKeepsTheCommitForTheReopen() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let trace = IOTrace()
        var options = DatabaseOptions(durability: .relaxed)
        options.fileSystem = RecordingFileSystem(trace: trace)
        let db = try Database(path: path, options: options)
        try db.write { tx in try tx.createTable("t").put(bytes("before"), bytes("1")) }
        #expect(try db.read { tx in try tx.table("t")?.get(bytes("before")) } == bytes("1"))
        // The next write to the data file is the page writer's.
        trace.failEvent(at: trace.count, errno: EIO, kinds: ["write"], file: trace.index(of: path))
        try db.write { tx in try tx.table("t")!.put(bytes("acknowledged"), bytes("2")) }
        #expect(throws: StoreError.self) { try db.read { _ in () } }
        do {
            try db.write { tx in try tx.table("t")!.put(bytes("refused"), bytes("3")) }
            Issue.record("a write after a failed page write was accepted")
        } catch StoreError.needsReopen {
        } catch {
            Issue.record("unexpected \(error)")
        }
        db.close()

        let reopened = try Database(path: path)
        defer { reopened.close() }
        #expect(try reopened.read { tx in try tx.table("t")?.get(bytes("acknowledged")) } == bytes("2"))
        #expect(try reopened.read { tx in try tx.table("t")?.get(bytes("refused")) } == nil)
        #expect(try reopened.verify().isClean)
    }
}
