// `.relaxed` commits leave their page writes to a thread of their own.
//
// Why: a relaxed commit syncs nothing, so what it costs is CPU, and `perf` put a third of a
// 1-thread relaxed checkout in the `pwrite`s of its ~10 dirty pages (each a page-cache lookup,
// a buffer dirtied and 4 KiB copied by the kernel). Handed to this thread, they run beside the
// next transaction on another core.
//
// The rules that keep that invisible:
// (1) Nothing reads an unwritten page from the file. The writer reads a page a handed-over
//     commit wrote through `UnwrittenPages` first (PageReader), so its next transaction sees
//     its own commits; readers start only on published snapshots, and this thread publishes a
//     commit's snapshot only once its pages are written. `Database.read` waits for the
//     snapshot of the last commit handed over, so a read after a `write` returned sees it.
// (2) Pages are written in commit order, one commit after the other, after the commit's log
//     record (an inline commit of rule 5 writes its own, before its record, once the queue is
//     empty). A process that dies meanwhile leaves written commits as a prefix and at most the
//     next one partly: adoption checks the pages of the log's last record against the record's
//     page digest and replays the log when one is not the commit's (Adoption.swift), so nothing
//     depends on an unwritten page.
// (3) A page number is reused only once every commit up to the one that freed it is written
//     and reclaimed (`Database.oldestSnapshot`), so an unwritten page is never overwritten.
// (4) Whatever reads the file other than through a write transaction (checkpoint, verify,
//     statistics, page map, shrink, `sync`, close) drains this thread first (`settlePages`), and so
//     does any other writer of `DirtyPage`s (`Pager.write` shares one staging buffer).
// (5) Only while no reader waits. A read that starts while a commit is queued waits for it, and
//     where reads follow writes (a cart listed after a line is added, showcase readers beside
//     a price updater) that wait cost more than the commit saved: at the bench, cart churn
//     120 k -> 85 k ops/s and showcase reads beside updates 76 k -> 43 k pages/s. So a wait
//     makes the writer write its next `inlineCommits` commits' pages itself (before their
//     records, once the queue is empty, as in the other modes) and publish at once; then it
//     hands over again. The price, found by review: a reader that polls now and then (100
//     reads a second) keeps most commits inline (87%, -10% of their rate). Waiting for 4 waits
//     in 64 hand-overs instead cost the showcase readers beside a price updater 10% (58 - 63 k
//     against 67 - 69 k pages/s, alternating runs): not kept.
// (6) A failed write refuses every later write and the reads that would need it
//     (`Database.checkWritable`, `waitForHandedOver`), as a failed commit would: the commit is
//     in the log, so reopening replays it.

import CPrefetch
import Foundation
import Synchronization

/// The writes of `.relaxed` commits' pages, in commit order, on a thread of their own.
final class PageWriter: @unchecked Sendable {
    /// A commit's sealed pages and the snapshot to publish once they are written. Images, not
    /// the page objects, which stay with the writer until written: retaining and releasing
    /// them here bounced their reference counts between the cores (`swift_retain` in `touch`
    /// was 8% of the committing thread).
    struct Job {
        let snapshot: Snapshot
        let pages: [PageImage]
    }

    private let pager: Pager
    private let snapshots: SnapshotRegistry
    private let lock = ConditionLock()
    // Under `lock`:
    private var queue: [Job] = []
    private var queuedPages = 0
    private var writing = false
    private var writtenThrough: UInt64
    private var failure: StoreError?
    private var stopping = false
    private var running = true
    /// The thread waits on `lock` for a job (a hand-over must wake it).
    private var sleeping = false
    /// Set with `failure`.
    private let hasFailed = Atomic<Bool>(false)
    /// Jobs queued, for the thread's polling outside the lock.
    private let queuedJobs = Atomic<Int>(0)
    /// The txid of the last commit handed over (set by the writer before `write` returns).
    private let handedOver: Atomic<UInt64>

    /// Jobs beyond this many queued pages make the writer wait: memory stays bounded when the
    /// disk is slower than the commits, and so does what a read may wait for (4 MiB of page
    /// writes; more when the kernel throttles dirty pages).
    static let queueLimitPages = 1024
    /// Commits whose pages the writer writes itself after a read had to wait (rule 5).
    static let inlineCommits = 4096
    /// Reads that found a commit not yet published and waited (rule 5).
    let readerWaits = Atomic<Int>(0)

    /// How long the thread polls for the next job before it sleeps, in spin-wait hints
    /// (~50 - 150 us). Waking a sleeping thread cost the committer a futex call and a
    /// wake-up, ~9% of a relaxed checkout, and commits come every ~20 us when they come.
    static let pollSpins = 2048

    init(pager: Pager, snapshots: SnapshotRegistry, txid: UInt64) {
        self.pager = pager
        self.snapshots = snapshots
        writtenThrough = txid
        handedOver = Atomic(txid)
        let thread = Thread { [self] in run() }
        thread.name = "vitrine-page-writer"
        thread.start()
    }

    // MARK: - The writer's side (writer lock held)

    /// Rule 5: commits left that write their own pages, and the reads that had waited when
    /// that was decided (touched only by the committer, under the writer lock).
    private var inlineCommitsLeft = 0
    private var readerWaitsSeen = 0

    /// Whether the next commit hands its pages over, or writes them itself because a read has
    /// waited lately (rule 5). Counts the commit.
    func takesNextCommit() -> Bool {
        let waits = readerWaits.load(ordering: .relaxed)
        if waits != readerWaitsSeen {
            readerWaitsSeen = waits
            inlineCommitsLeft = Self.inlineCommits
        }
        guard inlineCommitsLeft > 0 else { return true }
        inlineCommitsLeft -= 1
        return false
    }

    /// Queues a committed transaction's sealed pages; `snapshot` is published once they are
    /// written. The caller keeps the pages unchanged until `writtenTxid` reaches the snapshot's.
    /// Waits while the queue is full.
    func handOver(_ pages: [PageImage], publishing snapshot: Snapshot) {
        lock.lock()
        while queuedPages >= Self.queueLimitPages && failure == nil && running { lock.wait() }
        queue.append(Job(snapshot: snapshot, pages: pages))
        queuedPages += pages.count
        queuedJobs.store(queue.count, ordering: .relaxed)
        handedOver.store(snapshot.txid, ordering: .sequentiallyConsistent)
        if sleeping { lock.broadcast() }
        lock.unlock()
    }

    /// Waits until every page handed over is written (or a write failed).
    /// - Throws: the write's failure.
    func drain() throws {
        lock.lock()
        defer { lock.unlock() }
        while (!queue.isEmpty || writing) && failure == nil && running { lock.wait() }
        if let failure { throw failure }
        // Stopped with pages queued: never, as nothing commits once `close()` began; but then
        // the data file would lack committed pages, and the caller must not go on as if not.
        if !queue.isEmpty { throw StoreError.closed }
    }

    /// Every commit handed over up to this txid is written (its pages may be reused).
    var writtenTxid: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return writtenThrough
    }

    /// Writes what is queued, then ends the thread. Later hand-overs are refused by the caller
    /// (the database is closed).
    func stop() {
        lock.lock()
        stopping = true
        lock.broadcast()
        while running { lock.wait() }
        lock.unlock()
    }

    /// The failed write, if one failed: the database takes no more writes. (An atomic load
    /// when none did: `checkWritable` asks at every write.)
    var writeFailure: StoreError? {
        if !hasFailed.load(ordering: .sequentiallyConsistent) { return nil }
        lock.lock()
        defer { lock.unlock() }
        return failure
    }

    /// The txid of the last commit handed over.
    var lastHandedOver: UInt64 { handedOver.load(ordering: .sequentiallyConsistent) }

    // MARK: - Readers

    /// Returns once the last commit handed over is published, so a read that follows a `write`
    /// sees it. One atomic load when nothing is waiting to be written.
    /// - Throws: `.needsReopen` when the write that would have published it failed.
    func waitForHandedOver() throws {
        let target = handedOver.load(ordering: .sequentiallyConsistent)
        if snapshots.publishedTxid >= target { return }
        readerWaits.wrappingAdd(1, ordering: .relaxed)
        lock.lock()
        defer { lock.unlock() }
        while writtenThrough < target && failure == nil && running { lock.wait() }
        if writtenThrough < target, let failure { throw StoreError.needsReopen(cause: "\(failure)") }
    }

    // MARK: - The thread

    private func run() {
        lock.lock()
        while true {
            if queue.isEmpty && !stopping {
                lock.unlock()
                var spins = 0
                while queuedJobs.load(ordering: .relaxed) == 0 && spins < Self.pollSpins {
                    vitrine_spin_pause()
                    spins += 1
                }
                lock.lock()
                while queue.isEmpty && !stopping {
                    sleeping = true
                    lock.wait()
                    sleeping = false
                }
            }
            if queue.isEmpty || failure != nil { break }
            let jobs = queue
            queue = []
            queuedJobs.store(0, ordering: .relaxed)
            writing = true
            lock.unlock()
            var failed: Error? = nil
            var done = 0
            for job in jobs {
                do { try pager.write(job.pages) } catch {
                    failed = error
                    break
                }
                done += 1
            }
            // Published before `writtenThrough` moves: a reader that waited for it finds it.
            if done > 0 { snapshots.publish(jobs[done - 1].snapshot, onlyIfNewer: true) }
            lock.lock()
            writing = false
            queuedPages -= jobs.reduce(0) { $0 + $1.pages.count }
            if done > 0 { writtenThrough = jobs[done - 1].snapshot.txid }
            if let failed {
                let error = (failed as? StoreError) ?? .needsReopen(cause: "\(failed)")
                failure = error
                hasFailed.store(true, ordering: .sequentiallyConsistent)
            }
            lock.broadcast()
            if failed != nil { break }
        }
        queue = []
        running = false
        lock.broadcast()
        lock.unlock()
    }
}

/// The pages of commits handed to the `PageWriter` and not yet written, by page number: what the
/// writer reads in their place (writer only).
final class UnwrittenPages {
    @exclusivity(unchecked) private var pages = PageNumberTable<DirtyPage>()

    var isEmpty: Bool { pages.isEmpty }

    @inline(__always) func page(_ p: PageNumber) -> DirtyPage? { pages[p] }

    /// Handed-over commits not yet taken back, oldest first: (txid, its pages).
    private var commits: [(txid: UInt64, pages: [DirtyPage])] = []
    private var head = 0

    func add(_ job: [DirtyPage], txid: UInt64) {
        for d in job { pages[d.number] = d }
        commits.append((txid, job))
    }

    /// Forgets the pages of the commits up to `txid` (those a later commit did not replace
    /// under the same number) and returns them, to be reused.
    func removeCommits(through txid: UInt64) -> [DirtyPage] {
        var done: [DirtyPage] = []
        while head < commits.count && commits[head].txid <= txid {
            for d in commits[head].pages where pages[d.number] === d { pages[d.number] = nil }
            done.append(contentsOf: commits[head].pages)
            commits[head].pages = []
            head += 1
        }
        if head > 64 && head * 2 > commits.count {
            commits.removeFirst(head)
            head = 0
        }
        return done
    }
}
