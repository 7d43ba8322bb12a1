import Foundation
import Synchronization
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// close() against everything that can still be running when it is called: a group-commit
/// waiter that has yet to sync, a batch in flight, and readers that call back into the database
/// from inside their read. Each race is made deterministic with a hook or by waiting for an
/// observable state, never with sleeps; a hang is caught by `runBounded` (its bound is far above
/// any honest run, not a timing assertion).
@Suite struct CloseTests {
    /// A boxed error, so that a thread can hand its outcome back.
    final class Outcome: @unchecked Sendable {
        private let value = Mutex<Result<Void, StoreError>?>(nil)
        func set(_ r: Result<Void, StoreError>) { value.withLock { $0 = r } }
        var result: Result<Void, StoreError>? { value.withLock { $0 } }
    }

    static func run(_ body: @escaping @Sendable () -> Void) {
        let t = Thread(block: body)
        t.stackSize = 4 << 20
        t.start()
    }

    static func outcome(_ body: () throws -> Void) -> Result<Void, StoreError> {
        do { try body(); return .success(()) } catch let e as StoreError { return .failure(e) } catch {
            return .failure(.io(operation: "unexpected \(error)", path: "", errno: 0))
        }
    }

    /// A poisoned database skips the checkpoint at close; a `.grouped` committer that released
    /// the writer lock but has not yet waited for its sync must not become the sync leader after
    /// close() returned (it would pwrite and fdatasync a closed, possibly reused descriptor).
    @Test func groupedWaiterNeverTouchesTheLogAfterClose() throws {
        let dir = TempDir(); defer { dir.remove() }
        let trace = IOTrace()
        var options = DatabaseOptions(durability: .grouped)
        options.fileSystem = RecordingFileSystem(trace: trace)
        let db = try Database(path: dir.file(), options: options)
        try db.write { try $0.createTable("t").put(bytes("before"), bytes("1")) }

        let committed = DispatchSemaphore(value: 0)
        let resume = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        db.afterCommitBeforeDurableWait = {
            committed.signal()
            resume.wait()
        }
        let writer = Outcome()
        Self.run {
            writer.set(Self.outcome { try db.write { try $0.createTable("t").put(bytes("waiter"), bytes("2")) } })
            done.signal()
        }
        committed.wait()
        db.afterCommitBeforeDurableWait = nil
        // Poisoned by something other than a sync (a failed checkpoint, say): the waiter's
        // record is written and no sync has failed.
        db.poison(StoreError.io(operation: "test", path: dir.file(), errno: EIO))
        db.close()
        resume.signal()
        done.wait()

        #expect(trace.usesAfterClose == 0)
        // close() made the waiter's record durable (or told it the database closed); either
        // way it was never left to sync on its own.
        switch writer.result {
        case .success?: break
        case .failure(let e)?: #expect(e == .closed)
        case nil: Issue.record("writer did not finish")
        }
        let reopened = try Database(path: dir.file())
        defer { reopened.close() }
        let kept = try reopened.read { try $0.table("t")?.get(bytes("waiter")) }
        if case .success? = writer.result { #expect(kept == bytes("2")) }
    }

    /// close() with a batch running: the running batch finishes and becomes durable, a queued
    /// caller gets `.closed`, and nothing touches the files after close() returned.
    @Test(arguments: [Durability.full, .grouped])
    func closeLetsTheRunningBatchFinish(durability: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let trace = IOTrace()
        var options = DatabaseOptions(durability: durability)
        options.fileSystem = RecordingFileSystem(trace: trace)
        let db = try Database(path: dir.file(), options: options)
        try db.write { _ = try $0.createTable("t") }

        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let first = Outcome()
        let second = Outcome()
        Self.run {
            first.set(
                Self.outcome {
                    try db.batchWrite { tx in
                        inside.signal()
                        release.wait()
                        try tx.createTable("t").put(bytes("first"), bytes("1"))
                    }
                })
            finished.signal()
        }
        inside.wait()
        Self.run {
            second.set(Self.outcome { try db.batchWrite { try $0.createTable("t").put(bytes("second"), bytes("2")) } })
            finished.signal()
        }
        while db.batch.queued == 0 { sched_yield() }
        Self.run {
            db.close()
            finished.signal()
        }
        while !db.batch.isStopping { sched_yield() }
        release.signal()
        for _ in 0..<3 { finished.wait() }

        #expect(first.result.map { if case .success = $0 { true } else { false } } == true)
        #expect(second.result.map { if case .failure(.closed) = $0 { true } else { false } } == true)
        #expect(trace.usesAfterClose == 0)
        let reopened = try Database(path: dir.file())
        defer { reopened.close() }
        #expect(try reopened.read { try $0.table("t")?.get(bytes("first")) } == bytes("1"))
        #expect(try reopened.read { try $0.table("t")?.get(bytes("second")) } == nil)
    }

    /// A reader that, inside its read, calls what needs the writer lock while another thread
    /// closes: close() used to hold the writer lock while it waited for readers, so both waited
    /// forever. Now each call gets `.closed` and close() completes once the read ends.
    @Test func readerCallingBackDuringCloseDoesNotDeadlock() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: .grouped))
        try db.write { try $0.createTable("t").put(bytes("k"), bytes("v")) }

        let results = runBounded(seconds: 120) { () -> [String: Result<Void, StoreError>] in
            let entered = DispatchSemaphore(value: 0)
            let closed = DispatchSemaphore(value: 0)
            Self.run {
                entered.wait()
                db.close()
                closed.signal()
            }
            var results: [String: Result<Void, StoreError>] = [:]
            _ = try? db.read { tx in
                entered.signal()
                while !db.snapshots.isClosed { sched_yield() }
                results["write"] = Self.outcome { try db.write { try $0.createTable("t").put(bytes("k"), bytes("w")) } }
                results["batchWrite"] = Self.outcome { try db.batchWrite { try $0.createTable("t").put(bytes("k"), bytes("b")) } }
                results["sync"] = Self.outcome { try db.sync() }
                results["checkpoint"] = Self.outcome { try db.checkpoint() }
                results["verify"] = Self.outcome { _ = try db.verify() }
                results["statistics"] = Self.outcome { _ = try db.statistics() }
                results["close"] = Self.outcome { db.close() }
                // The snapshot stays readable until the read ends.
                results["read"] = Self.outcome { if try tx.table("t")?.get(bytes("k")) != bytes("v") { throw StoreError.closed } }
            }
            closed.wait()
            return results
        }
        let r = try #require(results, "close() and a reader calling back into the database deadlocked")
        for name in ["write", "batchWrite", "sync", "checkpoint", "verify", "statistics"] {
            #expect(
                r[name].map { if case .failure(.closed) = $0 { true } else { false } } == true, "\(name): \(String(describing: r[name]))")
        }
        #expect(r["close"].map { if case .success = $0 { true } else { false } } == true)
        #expect(r["read"].map { if case .success = $0 { true } else { false } } == true)
        // Everything was released: the database opens again in this process.
        let reopened = try Database(path: dir.file())
        #expect(try reopened.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
        reopened.close()
    }

    /// close() called inside a read of the same thread: it does everything but release the map
    /// and the files, which the end of that read does.
    @Test func closeInsideARead() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        try db.write { try $0.createTable("t").put(bytes("k"), bytes("v")) }
        let value = runBounded(seconds: 120) { () -> [UInt8]? in
            try? db.read { tx in
                db.close()
                return try tx.table("t")?.get(bytes("k"))
            }
        }
        let read = try #require(value, "close() inside a read deadlocked")
        #expect(read == bytes("v"))
        #expect(throws: StoreError.closed) { try db.read { _ in } }
        let reopened = try Database(path: dir.file())
        #expect(try reopened.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
        reopened.close()
    }

    /// close() called inside a write closure (which holds the writer lock close() needs) takes
    /// effect when the transaction ends: it commits, durably, and then the database is closed.
    @Test(arguments: [Durability.full, .grouped, .relaxed])
    func closeInsideAWrite(durability: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: durability))
        let done = runBounded(seconds: 120) { () -> Bool in
            do {
                try db.write { tx in
                    db.close()
                    try tx.createTable("t").put(bytes("k"), bytes("v"))
                }
                return true
            } catch {
                return false
            }
        }
        let doneValue = try #require(done as Bool?, "close() inside a write deadlocked")
        #expect(doneValue)
        #expect(throws: StoreError.closed) { try db.read { _ in } }
        #expect(throws: StoreError.closed) { () throws -> Void in try db.write { _ in } }
        let reopened = try Database(path: dir.file())
        #expect(try reopened.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
        reopened.close()
    }

    /// The same inside a batch closure (run on the batch thread, under the writer lock): the
    /// batch commits, its caller gets the result, then the database closes.
    @Test func closeInsideABatchClosure() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: .grouped))
        let done = runBounded(seconds: 120) { () -> Bool in
            do {
                try db.batchWrite { tx in
                    db.close()
                    try tx.createTable("t").put(bytes("k"), bytes("v"))
                }
                return true
            } catch {
                return false
            }
        }
        let doneValue = try #require(done as Bool?, "close() inside a batch closure deadlocked")
        #expect(doneValue)
        #expect(throws: StoreError.closed) { () throws -> Void in try db.batchWrite { _ in } }
        let reopened = try Database(path: dir.file())
        #expect(try reopened.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
        reopened.close()
    }

    /// close() from pageMap's label callback and from verify's progress callback (both run
    /// under the writer lock): the call finishes, then the database is closed; nothing else
    /// closes it later, and the file can be opened again at once.
    @Test(arguments: ["pageMap", "verify"])
    func closeInsideAnInspectionCallback(call: String) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let db = try Database(path: path)
        try db.write { tx in try tx.createTable("t").put(bytes("k"), bytes("v")) }
        // verify reports progress every 4096 pages: give it more than that.
        try db.write { tx in
            let big = try tx.createTable("big")
            for i in 0..<1100 { try big.put(bytes("v\(i)"), [UInt8](repeating: UInt8(i & 0xff), count: 16 << 10)) }
        }
        let called = ResultBox()
        let finished = runBounded(seconds: 120) { () -> Bool in
            do {
                if call == "pageMap" {
                    _ = try db.pageMap { table, _ in
                        if called.get() == nil { called.set("yes"); db.close() }
                        return table
                    }
                } else {
                    _ = try db.verify { _, _ in
                        if called.get() == nil { called.set("yes"); db.close() }
                    }
                }
                return true
            } catch {
                return false
            }
        }
        let finishedValue = try #require(finished as Bool?, "close() inside \(call)'s callback deadlocked")
        #expect(finishedValue)
        #expect(called.get() != nil)
        #expect(throws: StoreError.closed) { try db.read { _ in } }
        let other = try Database(path: path) // not databaseLocked: the close released the files
        #expect(try other.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
        other.close()
    }

    /// close() requested by one thread's write closure refuses other threads' new transactions at
    /// once, and only the requesting thread's call runs the close.
    @Test func closeRequestedInsideAWriteRefusesOthersAtOnce() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        let inside = DispatchSemaphore(value: 0), checked = DispatchSemaphore(value: 0)
        let box = ResultBox()
        let writer = Thread {
            do {
                try db.write { tx in
                    db.close()
                    inside.signal()
                    checked.wait()
                    try tx.createTable("t").put(bytes("k"), bytes("v"))
                }
                box.set("committed")
            } catch {
                box.set("failed: \(error)")
            }
        }
        writer.start()
        inside.wait()
        #expect(throws: StoreError.closed) { try db.read { _ in } }
        checked.signal()
        while box.get() == nil { usleep(1000) }
        #expect(box.get() == "committed")
        #expect(throws: StoreError.closed) { () throws -> Void in try db.write { _ in } }
        let reopened = try Database(path: dir.file())
        #expect(try reopened.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
        reopened.close()
    }

    final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value: String?
        func set(_ v: String) { lock.lock(); value = v; lock.unlock() }
        func get() -> String? { lock.lock(); defer { lock.unlock() }; return value }
    }

    /// close() inside a batch closure while a reader, inside its read, has a batchWrite queued
    /// behind that batch: the close on the batch thread must not wait for that reader (which
    /// waits for the batch thread to refuse its request): no deadlock, the reader gets `.closed`.
    @Test func closeInsideABatchClosureWithAReaderQueuedBehind() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: .grouped))
        try db.write { tx in _ = try tx.createTable("t") }
        let inBatch = DispatchSemaphore(value: 0)
        let readerOutcome = runBounded(seconds: 20) { () -> String in
            let t = Thread {
                _ = try? db.batchWrite { tx in
                    inBatch.signal()
                    usleep(300_000) // the reader below queues its batchWrite meanwhile
                    db.close()
                    try tx.createTable("t").put(bytes("a"), bytes("1"))
                }
            }
            t.start()
            inBatch.wait()
            do {
                try db.read { _ in
                    _ = try db.batchWrite { tx in try tx.createTable("t").put(bytes("b"), bytes("2")) }
                }
                return "reader's batchWrite succeeded"
            } catch {
                return "reader got \(error)"
            }
        }
        #expect(readerOutcome != nil, "deadlock: close() on the batch thread waits for a reader that waits for the batch thread")
    }
}
