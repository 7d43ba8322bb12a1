import Foundation
import Synchronization
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// How a database's background threads reach it (LentReference.swift): a loan in flight holds
/// the deinit back, a loan that held the last reference runs the deinit on its own thread, and
/// no later loan is given. Then the same through `Database`: dropped without `close()` while its
/// batch threads and flusher run, it closes with everything acknowledged kept, and it has no
/// side table (what the link is for). Each step waits for an observable state, never a sleep; a
/// hang is caught by `runBounded`.
@Suite struct LentReferenceTests {
    /// An owner as `Database` is one: it severs its link first thing in its deinit.
    final class Owner: @unchecked Sendable {
        let link = LentReference<Owner>()
        let events: Events
        let payload = [UInt8](repeating: 7, count: 64)
        var beforeSever: (@Sendable () -> Void)?
        /// Runs right after `sever` returns, with the strong count the runtime then holds for
        /// the object beyond its own (a loan's retain not yet given back shows here).
        var afterSever: (@Sendable (_ extraRetains: UInt64) -> Void)?
        init(events: Events) {
            self.events = events
            link.attach(self)
        }
        deinit {
            beforeSever?()
            link.sever()
            if let afterSever {
                // The inline count's strong extra field (bits 33 - 62 on 64-bit platforms).
                let bits = Unmanaged.passUnretained(self).toOpaque().load(fromByteOffset: 8, as: UInt64.self)
                afterSever(bits >> 33 & (1 << 30 - 1))
            }
            events.append("deinit done")
        }
    }

    final class Events: Sendable {
        private let list = Mutex<[String]>([])
        func append(_ s: String) { list.withLock { $0.append(s) } }
        var all: [String] { list.withLock { $0 } }
    }

    final class Box: @unchecked Sendable {
        var owner: Owner?
        init(_ owner: Owner) { self.owner = owner }
    }

    /// A loan taken after the last release, before the deinit severs the link (the window a
    /// `weak` load would refuse): the deinit waits for it, its retain given back included (the
    /// first version counted the loan off first, so the release could reach freed memory), the
    /// borrower sees the object whole, its balanced retain and release do not run the deinit
    /// twice, and no loan comes after.
    @Test func aLoanTakenAsTheDeinitBeginsHoldsItBack() throws {
        guard MemoryLayout<Int>.size == 8 else { return }
        let events = Events()
        let box = Box(Owner(events: events))
        let link = try #require(box.owner).link
        let deinitBegun = DispatchSemaphore(value: 0)
        let loanTaken = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        box.owner?.beforeSever = {
            deinitBegun.signal()
            loanTaken.wait()
        }
        // Gives `sever` every chance to return before the loan's release: the release waits
        // (bounded) for the deinit to be past `sever`, which a correct link never lets happen.
        let severReturned = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        link.setHooks(beforeLoanRelease: { _ = severReturned.wait(timeout: .now() + 0.2) })
        let extraRetains = Mutex<UInt64?>(nil)
        box.owner?.afterSever = { extra in
            extraRetains.withLock { $0 = extra }
            severReturned.signal()
            // A wrong link: the deinit must not free the object before the release lands.
            _ = released.wait(timeout: .now() + 60)
        }
        let dropperDone = DispatchSemaphore(value: 0)
        Thread {
            box.owner = nil
            dropperDone.signal()
        }.start()
        #expect(deinitBegun.wait(timeout: .now() + 60) == .success)
        let seen = Mutex<Int>(0)
        let borrowerDone = DispatchSemaphore(value: 0)
        Thread {
            let lent: Void? = link.lend { o in
                loanTaken.signal()
                release.wait()
                seen.withLock { $0 = o.payload.reduce(0) { $0 + Int($1) } }
            }
            if lent == nil { seen.withLock { $0 = -1 } }
            released.signal()
            borrowerDone.signal()
        }.start()
        let severed = runBounded(seconds: 60) { () -> Bool in
            while !link.isSevered { sched_yield() }
            return true
        }
        #expect(severed == true, "the deinit never reached sever")
        #expect(events.all.isEmpty, "the deinit finished while a loan was in flight")
        release.signal()
        #expect(borrowerDone.wait(timeout: .now() + 60) == .success)
        #expect(dropperDone.wait(timeout: .now() + 60) == .success)
        #expect(seen.withLock { $0 } == 7 * 64)
        #expect(extraRetains.withLock { $0 } == 0, "sever returned before the loan gave its retain back")
        #expect(events.all == ["deinit done"])
        #expect(link.lend { _ in 1 } == nil)
    }

    /// The loan held the last reference: the deinit runs on the borrowing thread when the loan
    /// ends, without waiting for itself.
    @Test func aLoanHoldingTheLastReferenceRunsTheDeinitOnItsThread() throws {
        let events = Events()
        let box = Box(Owner(events: events))
        let link = try #require(box.owner).link
        let borrowing = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let done = runBounded(seconds: 60) { () -> Bool in
            let finished = DispatchSemaphore(value: 0)
            Thread {
                _ = link.lend { _ in
                    borrowing.signal()
                    release.wait()
                }
                events.append("loan over")
                finished.signal()
            }.start()
            borrowing.wait()
            box.owner = nil // the loan's retain is now the only one
            release.signal()
            finished.wait()
            return true
        }
        #expect(done == true, "the deinit on the borrowing thread deadlocked")
        #expect(events.all == ["deinit done", "loan over"])
        #expect(link.isSevered)
        #expect(link.lend { _ in 1 } == nil)
    }

    /// Databases dropped without `close()` in each mode, right after callers' batches and with
    /// the relaxed flusher running: each closes by its deinit, whichever thread holds the last
    /// reference, and a reopen finds every acknowledged write.
    @Test(arguments: [Durability.full, .grouped, .relaxed])
    func databasesDroppedWithoutCloseKeepWhatTheyAcknowledged(durability: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let rounds = 12
        let callers = 4
        let finished = runBounded(seconds: 300) { () -> Bool in
            for round in 0..<rounds {
                do {
                    var options = DatabaseOptions(durability: durability)
                    options.relaxedSyncIntervalMilliseconds = 1
                    let group = DispatchGroup()
                    // Each caller and each caller's closure holds the database, and nothing
                    // else once this scope ends: the last reference may go on the batch
                    // thread, the sync thread, the flusher or a caller.
                    do {
                        let db = try Self.openOnceFree(dir.file(), options)
                        for c in 0..<callers {
                            group.enter()
                            Thread {
                                defer { group.leave() }
                                _ = try? db.batchWrite { tx in
                                    _ = db
                                    try tx.createTable("t").put(bytes("r\(round)c\(c)"), bytes("v"))
                                }
                            }.start()
                        }
                    }
                    group.wait()
                } catch {
                    return false
                }
            }
            return true
        }
        #expect(finished == true, "a database dropped without close() hung or failed to open")
        let reopened = try Self.openOnceFree(dir.file(), DatabaseOptions())
        defer { reopened.close() }
        let count = try reopened.read { tx in try tx.table("t")?.range(from: [], to: [0xFF]).count ?? 0 }
        #expect(count == rounds * callers)
    }

    /// The relaxed flusher borrows the database in the window between its last release and
    /// `sever`: the deinit waits for that loan (its log sync runs on a database whose fields are
    /// whole), then closes, and a reopen finds the write.
    @Test func theFlushersLoanAsTheDeinitBeginsIsWaitedFor() throws {
        let dir = TempDir()
        defer { dir.remove() }
        var options = DatabaseOptions(durability: .relaxed)
        options.relaxedSyncIntervalMilliseconds = 1
        let deinitBegun = Atomic<Bool>(false)
        let windowLoan = DispatchSemaphore(value: 0)
        let waitedForLoan = Atomic<Bool>(false)
        do {
            let db = try Database(path: dir.file(), options: options)
            try db.write { tx in try tx.createTable("t").put(bytes("k"), bytes("v")) }
            db.link.setHooks(afterLoanTaken: {
                if deinitBegun.load(ordering: .sequentiallyConsistent) { windowLoan.signal() }
            })
            db.beforeDeinitSeversLink = {
                deinitBegun.store(true, ordering: .sequentiallyConsistent)
                // The flusher lends every millisecond; one of its loans lands in the window.
                if windowLoan.wait(timeout: .now() + 60) == .success {
                    waitedForLoan.store(true, ordering: .sequentiallyConsistent)
                }
            }
        }
        let waited = waitedForLoan.load(ordering: .sequentiallyConsistent)
        #expect(waited, "no flusher loan between the last release and sever")
        let reopened = try Self.openOnceFree(dir.file(), DatabaseOptions())
        defer { reopened.close() }
        #expect(try reopened.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
    }

    /// The batch thread's loan holds the last reference: its caller was answered and let go
    /// while the batch thread was still inside the batch. The deinit runs on the batch thread,
    /// closes without waiting for that thread itself, and a reopen finds the batch's write.
    @Test func theBatchThreadsLoanHoldingTheLastReferenceRunsTheDeinitThere() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let callerLetGo = DispatchSemaphore(value: 0)
        let deinitThread = Mutex<UInt?>(nil)
        let batchThread = Mutex<UInt?>(nil)
        let box = DatabaseBox(try Database(path: dir.file(), options: DatabaseOptions(durability: .relaxed)))
        box.with { db in
            db.afterBatchHandOff = {
                batchThread.withLock { $0 = UInt(pthread_self()) }
                _ = callerLetGo.wait(timeout: .now() + 60)
            }
            db.beforeDeinitSeversLink = { deinitThread.withLock { $0 = UInt(pthread_self()) } }
        }
        let finished = runBounded(seconds: 120) { () -> Bool in
            let done = DispatchSemaphore(value: 0)
            Thread {
                // In `.relaxed` the sync thread answers the caller at once, while the batch
                // thread waits in the hook, still borrowing the database.
                let wrote = box.with { db in
                    (try? db.batchWrite { tx in try tx.createTable("t").put(bytes("k"), bytes("v")) }) != nil
                }
                box.drop()
                callerLetGo.signal()
                if wrote == true { done.signal() }
            }.start()
            return done.wait(timeout: .now() + 60) == .success
        }
        #expect(finished == true, "the batch did not complete")
        let closedThere = runBounded(seconds: 60) { () -> Bool in
            while deinitThread.withLock({ $0 }) == nil { sched_yield() }
            return true
        }
        #expect(closedThere == true, "the database was never deinitialized")
        let ranOn = deinitThread.withLock { $0 }
        #expect(ranOn != nil && ranOn == batchThread.withLock { $0 }, "the deinit ran elsewhere than on the batch thread")
        let reopened = try Self.openOnceFree(dir.file(), DatabaseOptions())
        defer { reopened.close() }
        #expect(try reopened.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
    }

    /// The test's one strong reference to a database, handed over to another thread's use.
    final class DatabaseBox: @unchecked Sendable {
        private let value: Mutex<Database?>
        init(_ db: Database) { value = Mutex(db) }
        func with<T>(_ body: (Database) throws -> T) rethrows -> T? {
            guard let db = value.withLock({ $0 }) else { return nil }
            return try body(db)
        }
        func drop() { value.withLock { $0 = nil } }
    }

    /// Opens the database once the previous round's last reference is gone: the callers'
    /// threads let go of it after they signal the group, and its deinit then closes it (its
    /// checkpoint's sync may outlast the open's wait for the lock).
    static func openOnceFree(_ path: String, _ options: DatabaseOptions) throws -> Database {
        var tries = 0
        while true {
            do {
                return try Database(path: path, options: options)
            } catch StoreError.databaseLocked where tries < 240 {
                tries += 1
            }
        }
    }

    /// What the link is for: nothing takes a weak reference to a database, so its reference
    /// count stays inline (a side table sends every retain and release down the runtime's slow
    /// path). On 64-bit platforms the inline count's top bit (UseSlowRC) is set exactly when the
    /// object has a side table (or is immortal, which a heap object is not).
    @Test(arguments: [Durability.full, .grouped, .relaxed])
    func aDatabaseHasNoSideTable(durability: Durability) throws {
        guard MemoryLayout<Int>.size == 8 else { return }
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: durability))
        defer { db.close() }
        try db.batchWrite { tx in try tx.createTable("t").put(bytes("k"), bytes("v")) }
        try db.write { tx in try tx.createTable("t").put(bytes("k2"), bytes("v")) }
        try db.bulkLoad { try db.write { tx in try tx.createTable("t").put(bytes("k3"), bytes("v")) } }
        #expect(try db.read { try $0.table("t")?.get(bytes("k3")) } == bytes("v"))
        try db.sync()
        try db.checkpoint()
        let bits = Unmanaged.passUnretained(db).toOpaque().load(fromByteOffset: 8, as: UInt64.self)
        #expect(bits >> 63 == 0, "the database has a side table: refcount bits \(String(bits, radix: 16))")
    }
}
