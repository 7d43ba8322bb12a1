import Foundation
import Synchronization
import Testing
@_spi(Testing) import VitrineTestSupport

@_spi(Testing) @testable import VitrineStore

/// A `write` whose body changes nothing, or throws, reports what it read: "sold out" after
/// another caller's purchase, say. In `.grouped` that purchase may be committed and still waiting
/// for its log sync; if the second caller heard "sold out" before the sync and the power then
/// failed, the purchase would be gone and the answer false. So such a write returns (or
/// rethrows) only once the state it read is durable, as a batch that changed nothing does
/// (Database.write; formats/write-ahead-log.md 8.1, step 2). The purchase's log write is held
/// (LogWriteGate) while the second caller runs.
@Suite struct UnchangedWriteTests {
    struct SoldOut: Error {}

    /// Waits (bounded) for `condition`.
    static func waitFor(seconds: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            usleep(100)
        }
        return true
    }

    /// The purchase's log write is held until the second caller's body has run and returned
    /// (or thrown) "sold out"; the second caller must still be waiting then. With
    /// `syncFails`, the held write then fails: the second caller gets that failure, not the
    /// "sold out" that rested on a purchase never made durable (8.1 step 2).
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func waitsUntilTheCommitItReadIsDurable(bodyThrows: Bool, syncFails: Bool) throws {
        let dir = TempDir(); defer { dir.remove() }
        let gate = LogWriteGate()
        var options = DatabaseOptions(durability: .grouped)
        options.fileSystem = LogWriteHoldingFileSystem(inner: PosixFileSystem(), gate: gate)
        let db = try Database(path: dir.file(), options: options)
        defer { db.close() }
        try db.write { tx in try tx.createTable("stock").put(bytes("p1"), [1]) }

        let finished = Mutex<(purchase: Bool, second: Bool, heard: String)>((false, false, ""))
        gate.arm()
        let purchase = Thread {
            _ = try? db.write { tx in try tx.table("stock")?.put(bytes("p1"), [0]) }
            finished.withLock { $0.purchase = true }
        }
        purchase.start()
        // The purchase is committed; its log write is held.
        #expect(Self.waitFor { gate.isHolding })

        let second = Thread {
            var heard = "?"
            do {
                heard = try db.write { tx in
                    guard try tx.table("stock")?.get(bytes("p1")) == [0] else { return "in stock" }
                    if bodyThrows { throw SoldOut() }
                    return "sold out"
                }
            } catch is SoldOut {
                heard = "sold out (thrown)"
            } catch let error as StoreError {
                heard = "store error: \(error)"
            } catch {
                heard = "\(error)"
            }
            finished.withLock {
                $0.second = true
                $0.heard = heard
            }
        }
        second.start()
        // Long enough for a second caller that does not wait to have returned many times over.
        usleep(50_000)
        #expect(
            finished.withLock { !$0.second }, "the second caller heard \(finished.withLock { $0.heard }) before the purchase was durable")
        #expect(finished.withLock { !$0.purchase })
        gate.release(failingWith: syncFails ? EIO : nil)
        #expect(Self.waitFor { finished.withLock { $0.purchase && $0.second } })
        let heard = finished.withLock { $0.heard }
        if syncFails {
            #expect(heard.hasPrefix("store error: "), "the second caller heard \(heard) though the purchase it read was lost")
        } else {
            #expect(heard == (bodyThrows ? "sold out (thrown)" : "sold out"))
        }
    }

    /// `.relaxed` promises nothing about the durability of what a write read, and keeps its
    /// latency: a write that changes nothing, after a purchase its flusher has not synced yet
    /// (the interval is an hour here), syncs nothing. (Waiting for that state would sync the
    /// log: a waiter with no sync running leads one.)
    @Test func aRelaxedWriteThatChangesNothingSyncsNothing() throws {
        let dir = TempDir(); defer { dir.remove() }
        let trace = IOTrace()
        var options = DatabaseOptions(durability: .relaxed)
        options.relaxedSyncIntervalMilliseconds = 3_600_000
        options.fileSystem = RecordingFileSystem(trace: trace)
        let path = dir.file()
        let db = try Database(path: path, options: options)
        defer { db.close() }
        try db.write { tx in try tx.createTable("stock").put(bytes("p1"), [1]) }
        try db.sync()
        try db.write { tx in try tx.table("stock")?.put(bytes("p1"), [0]) }
        let log = trace.index(of: path + "-wal")
        let syncsBefore = trace.events.filter { $0.isSync && $0.file == log }.count
        let heard = try db.write { tx in try tx.table("stock")?.get(bytes("p1")) == [0] ? "sold out" : "in stock" }
        #expect(heard == "sold out")
        #expect(
            trace.events.filter { $0.isSync && $0.file == log }.count == syncsBefore, "a relaxed write that changed nothing synced the log")
    }
}
