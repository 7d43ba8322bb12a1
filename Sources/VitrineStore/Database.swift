// The database: one data file (`path`) and its write-ahead log (`path-wal`).
//
// Concurrency: one writer at a time (the writer lock, held for the whole `write` closure and its
// commit); any number of readers, each on a published snapshot, registered only for the moment
// it takes to copy the snapshot and to say it is done. Readers never wait for the writer (in
// .relaxed a read waits for the page writer to write what is queued, usually the last commit's
// pages, at most `PageWriter.queueLimitPages`, and to publish it; after such a wait the next
// commits write their own pages for a while: PageWriter.swift, rule 5).
//
// Commit, in order (Commit.swift): dirty pages -> their new page numbers (pwrite into the data file, not
// synced; they are unreachable until published; in .relaxed after the record, below), the
// transaction's logical record -> the log,
// then by durability mode:
//   .full     make the log record durable (one O_DIRECT | O_DSYNC write; a buffered write and
//             fdatasync where the file system refuses direct I/O), publish, return.
//   .grouped  release the writer lock, then wait until some committer's fdatasync covers this
//             record (one leader syncs for all who are waiting), publish, return.
//   .relaxed  hand the pages to the page writer and return: it writes them after the record and
//             then publishes (PageWriter.swift); a flusher thread syncs the log every
//             `relaxedSyncInterval` (and checkpoints sync everything), so a crash loses at most
//             that window.
// A snapshot is published only once durable (except in .relaxed), so no reader acts on a commit
// that a crash could take back.
//
// Batch commit (Batch.swift): `batchWrite` queues a closure for the batch thread, which runs
// every queued caller's closure in one transaction, each in its own savepoint, commits them with
// one log record, and completes each caller once that record is durable under the mode (in
// .full too, with one sync per batch). `write(batching: .whenContended)` takes that path only
// while two or more other `.whenContended` callers are in flight. formats/write-ahead-log.md
// 8.5b has the promises and the bounds.

import Foundation
import Glibc
import Synchronization

/// When `write` returns relative to the disk. See the type's documentation for the crash window.
public enum Durability: String, Sendable, CaseIterable {
    /// Each commit is on stable storage before `write` returns: its log record is written with
    /// one synchronous O_DIRECT | O_DSYNC write, or, where the file system refuses direct I/O
    /// (at open, or with EINVAL at write time: `DatabaseStatistics.logWrites`), with a buffered
    /// write and fdatasync.
    case full
    /// Concurrent committers share one fdatasync; each `write` still returns only once its own
    /// commit is durable.
    case grouped
    /// No sync per commit: a background thread syncs the log every `relaxedSyncInterval`
    /// (100 ms by default). A crash (power loss) may lose the commits of about that last window
    /// (plus the duration of one sync), never more, and never corrupts the database.
    case relaxed
}

/// How to open a database.
public struct DatabaseOptions: Sendable {
    /// How commits reach the disk (see ``Durability``).
    public var durability: Durability
    /// Checkpoint automatically once the log holds this many bytes. It bounds recovery, which
    /// re-executes the log: 8 MiB replays in ~80 ms (a 1,000,000-product database, 100 products
    /// per transaction); 32 MiB took ~170 ms. Small commits still checkpoint rarely (8 MiB holds
    /// ~40,000 checkouts).
    public var checkpointLogBytes: Int
    /// ... or once this many pages were written since the last checkpoint. The file grows by
    /// about that much between checkpoints, since the last checkpoint's pages are not reused
    /// until the next. nil (the default): 16,384, and in `.full` a sixteenth of the file's pages
    /// when that is fewer, but at least 1,024.
    public var checkpointPages: Int?
    /// A transaction whose log record would exceed this many bytes commits by checkpoint
    /// instead (its pages are written once, not also to the log). Not lower: a checkpoint syncs
    /// every page written since the last one, so at 1 MiB a load of 1,000,000 products in
    /// transactions of 10,000 ran 4x slower (62 k/s) than with the records logged.
    public var largeTransactionBytes: Int
    /// In `.relaxed` mode, the longest time between log syncs. Clamped to [1 ms, 1 hour].
    public var relaxedSyncIntervalMilliseconds: Int
    /// In `.relaxed` mode, whether automatic checkpoints run in the background, on a thread of
    /// their own, while commits go on (formats/database-file.md 13.4), instead of in the commit
    /// that crosses the threshold. The default: on machines with at least 4 cores. The
    /// checkpoint's sync is also ~40 ms of kernel work (walking and submitting ~10,000 dirty
    /// pages at the bench) that must run somewhere: with 2 cores, busy with the committer and
    /// the page writer, it preempted the committer in many small pieces instead of stalling
    /// one commit (a relaxed checkout at the bench: the same throughput, p99 36 -> 113-158 us,
    /// p99.9 81 -> 750-1,100 us, the longest commit 50 -> 4 ms).
    public var checkpointsInBackground: Bool = DatabaseOptions.onlineCores >= 4

    /// The cores online (sysconf: `ProcessInfo` would cost a cold open ~0.15 ms and 0.6 MiB of
    /// resident memory, the bench's open + first read 0.21 -> 0.35 ms).
    static let onlineCores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    /// Bounds on a batch of `batchWrite` callers (Batch.swift).
    public var batch = BatchLimits()

    /// The interval the flusher uses: whatever the option says, one that `usleep` takes (a
    /// u32 of microseconds reaches only ~71 minutes).
    var clampedRelaxedSyncIntervalMilliseconds: Int { min(max(1, relaxedSyncIntervalMilliseconds), 3_600_000) }

    var fileSystem: any StorageFileSystem = PosixFileSystem()
    /// The log file's first size and growth step (clamped to [64 KiB, 64 MiB]). In `.full` and
    /// `.grouped` the file is zero-filled ahead of the records so that a commit's synchronous write
    /// never has to allocate blocks; `.relaxed` only extends the file (its syncs run in the background).
    public var logGrowthBytes: Int64 = 4 << 20
    /// The least room a raise of the log header's record limit leaves past the record that
    /// crossed it (formats/write-ahead-log.md section 3; the room is a quarter of the generation's
    /// records when that is more): how far past the last record recovery's damage search may
    /// have to read, against one synchronous header rewrite per raise (tests lower it; clamped
    /// to [4 KiB, 64 MiB]). The durable modes only: `.relaxed` keeps no limit.
    var logLimitStep: Int64 = 128 << 10

    var minimumMapBytes: Int = 1 << 30
    /// When recovery may adopt a crashed session's pages instead of re-executing its log
    /// (Adoption.swift). Tests that build power-cut or process-kill states say which it is.
    var pageCacheTrust: PageCacheTrust = .sameOrigin
    /// Recovery: dirty pages after which a batch of replayed records commits (tests lower it).
    var replayBatchPages: Int = 4096
    /// How much a cold reader reads ahead (ReadAhead.swift); nil: the device's read-ahead size
    /// (tests fix it, so that what they check does not depend on the machine).
    var readAheadBytes: Int? = nil

    /// Options; the defaults: full durability, a checkpoint at 8 MiB of log or 16,384 dirty pages
    /// (fewer in a small file in `.full`: `checkpointPages`).
    public init(
        durability: Durability = .full, checkpointLogBytes: Int = 8 << 20, checkpointPages: Int? = nil,
        largeTransactionBytes: Int = 16 << 20, relaxedSyncIntervalMilliseconds: Int = 100
    ) {
        self.durability = durability
        self.checkpointLogBytes = checkpointLogBytes
        self.checkpointPages = checkpointPages
        self.largeTransactionBytes = largeTransactionBytes
        self.relaxedSyncIntervalMilliseconds = relaxedSyncIntervalMilliseconds
    }
}

/// An open Vitrine database. Share one instance between threads.
public final class Database: @unchecked Sendable {
    /// The data file's path (the log is beside it, with "-wal" added).
    public let path: String
    /// The options it was opened with.
    public let options: DatabaseOptions
    let dataFile: StorageFile
    let log: WriteAheadLog
    let pager: Pager
    let lockDescriptor: Int32

    // Writer state: touched only with `writer` held.
    let writer = WriterLock()
    var meta: Meta
    @exclusivity(unchecked) var allocator: PageAllocator
    /// The allocator holds the checkpoint's free list (read lazily, on the first write).
    var freeListLoaded = false
    /// Whether this session synced the directory (Recovery.swift, step 1).
    var directorySynced = false
    /// Whether the meta page this session works from is known to be on stable storage: synced
    /// by this session, or proven so by the log at recovery (Recovery.swift, step 1).
    var metaPageDurable = false
    /// Set by a recovery that continued the log's generation (Recovery.swift, step 5): the first
    /// write transaction checkpoints before it begins, so this session's records go to a
    /// generation with a salt of its own. Two copies of a crashed database (a VM snapshot, a
    /// copy after kill -9) recover the same generation and salt; were both to append to it,
    /// each copy's log could be replayed onto the other's data file (write-ahead-log.md 13).
    /// A session that only reads never pays the checkpoint.
    var checkpointBeforeNextWrite = false
    /// The data file may be longer than the allocator's pages: a checkpoint cut a free tail, or
    /// the file came so from a crash. A checkpoint cuts it once no reader can hold a longer page
    /// count (Shrink.swift).
    var fileTailMayBeCut = false
    /// The txid of the state whose page count dropped last: a reader on it or an older one may
    /// hold a longer page count, so the file is cut only once every reader is past it.
    var fileTailCutTxid: UInt64 = 0
    /// A background checkpoint whose meta page is being made durable (Checkpoint.swift).
    var checkpointInFlight: CheckpointInFlight?
    /// The thread that makes background checkpoints durable; made at the first one.
    var checkpointer: Checkpointer?
    /// Where the log's records after the last durable checkpoint begin (for the checkpoint
    /// threshold): the generation's first record, or a background checkpoint's log start when
    /// its restart did not fit.
    var checkpointLogStart = LogFormat.firstRecordOffset
    /// Open `bulkLoad` calls: while above 0, commits trigger no checkpoint (BulkLoad.swift).
    var bulkLoadDepth = 0
    /// Open `bulkLoad(.unlogged)` calls: while above 0, write transactions log nothing.
    var unloggedLoadDepth = 0
    /// A commit since the last checkpoint was unlogged: only a checkpoint makes it durable, and
    /// no logged transaction may begin before one (BulkLoad.swift rule 3).
    var unloggedSinceCheckpoint = false
    @exclusivity(unchecked) var latest: Snapshot
    @exclusivity(unchecked) var writerMapping: Mapping
    /// Dirty-page buffers kept between write transactions (writer only).
    @exclusivity(unchecked) var sparePages: [DirtyPage] = []
    /// How many `sparePages` may hold: more during a bulk load (WriteTransaction.sparePagesKept).
    var sparePagesKept: Int {
        bulkLoadDepth > 0 ? WriteTransaction.sparePagesKeptInBulkLoad : WriteTransaction.sparePagesKept
    }
    /// A log record's storage kept for the next write transaction's (writer only).
    @exclusivity(unchecked) var spareRecordBuffer: [UInt8] = []
    /// The largest `spareRecordBuffer` kept: a large transaction's record (up to
    /// `largeTransactionBytes`, at most 64 MiB) during a bulk load, 256 KiB otherwise.
    var spareRecordBytesKept: Int { bulkLoadDepth > 0 ? min(options.largeTransactionBytes, 64 << 20) : 256 << 10 }
    /// `.relaxed`: the thread that writes committed pages (PageWriter.swift); set once, by `init`.
    private(set) var pageWriter: PageWriter?
    /// Pages of commits handed to `pageWriter` and not yet written (writer only).
    let unwrittenPages = UnwrittenPages()
    /// Every commit up to this txid is written and its pages left `unwrittenPages` (writer only).
    var reclaimedThrough: UInt64 = 0
    var replaying = false
    /// Where this session's page writes go (System/PageCacheOrigin.swift), stamped on every
    /// log record; computed at the first commit.
    lazy var sessionOrigin: PageCacheOrigin? = PageCacheOrigin.current(descriptor: dataFile.descriptor)
    /// What the open did with the log it found.
    var recoveryReport = RecoveryReport(method: .none, records: 0)

    // Shared with readers.
    let snapshots: SnapshotRegistry
    let poison = Mutex<String?>(nil)
    /// 0 open; 2 once `close()` is done with the files and they may be released.
    let closeStage = Atomic<Int>(0)
    /// The thread that called `close()` while holding the writer lock (0: none): it closes
    /// when its call ends (`closeIfRequested`); meanwhile reads and writes are refused.
    let closeRequester = Atomic<UInt>(0)
    /// Whether the map and the files have been released.
    let released = Mutex<Bool>(false)

    // Group commit.
    let commitLock = ConditionLock()
    var durableTxid: UInt64 = 0
    var writtenTxid: UInt64 = 0
    var writtenSnapshot: Snapshot?
    var syncInProgress = false
    var syncFailure: StoreError?
    var flusherStopped = false
    /// Set by `close()`: no committer may lead a log sync any more.
    var durabilityClosed = false

    // Batch commit (Batch.swift).
    let batch: BatchCommitter
    /// How the background threads reach this database (LentReference.swift).
    let link: LentReference<Database>
    /// `write(batching: .whenContended)` callers from their choice of path to their return
    /// (Batch.swift, `contendedBatchThreshold`).
    let writersInFlight = Atomic<Int>(0)

    /// Test hook: false leaves a background checkpoint in flight unfinished by the commits that
    /// follow (until the log reaches 4 thresholds), so a test can kill the process between its
    /// meta page and the log's restart with records after the checkpoint.
    var commitsFinishBackgroundCheckpoints = true

    /// Test hook: runs on a committer's thread after it released the writer lock and before it
    /// waits for its commit to become durable (the window in which `close()` can begin).
    var afterCommitBeforeDurableWait: (@Sendable () -> Void)?

    /// Test hooks: the first runs first in the deinit, before the background threads' link is
    /// severed; the second on the batch thread once a batch is handed to the sync thread, while
    /// the batch thread still borrows the database (LentReference.swift).
    var beforeDeinitSeversLink: (@Sendable () -> Void)?
    var afterBatchHandOff: (@Sendable () -> Void)?

    /// Opens (creating if missing) the database at `path`, recovering from the log if the last
    /// process stopped without a clean close.
    /// - Throws: `.notADatabase`, `.unsupportedFormatVersion`, `.databaseLocked`, `.truncatedFile`,
    ///   `.corruptPage`, `.corruptLog`, `.io`.
    public init(path: String, options: DatabaseOptions = DatabaseOptions()) throws {
        self.path = path
        self.options = options
        let link = LentReference<Database>()
        self.link = link
        batch = BatchCommitter(limits: options.batch, link: link)
        let opened = try Recovery.openFiles(path: path, options: options)
        dataFile = opened.dataFile
        pager = opened.pager
        meta = opened.meta
        allocator = opened.allocator
        log = opened.log
        lockDescriptor = opened.lockDescriptor
        writerMapping = try pager.ensureMapped(pageCount: opened.meta.pageCount)
        latest = Snapshot(
            txid: meta.txid, catalogRoot: meta.catalogRoot, pageCount: meta.pageCount,
            nextTableId: meta.nextTableId, mapping: writerMapping)
        snapshots = SnapshotRegistry(latest)
        durableTxid = meta.txid
        writtenTxid = meta.txid
        do {
            link.attach(self)
            try recover(logHeader: opened.logHeader)
            if options.durability == .relaxed {
                reclaimedThrough = latest.txid
                pageWriter = PageWriter(pager: pager, snapshots: snapshots, txid: latest.txid)
                startFlusher()
            }
        } catch {
            // The object is fully initialized, so deinit (and close) will still run: mark it
            // closed first, or close() would close the lock descriptor a second time — by
            // then possibly another file's descriptor number.
            _ = snapshots.markClosed()
            released.withLock { $0 = true }
            closeStage.store(2, ordering: .sequentiallyConsistent)
            pager.readAhead.stop()
            dataFile.close()
            log.file.close()
            Syscalls.close(lockDescriptor)
            throw error
        }
    }

    deinit {
        beforeDeinitSeversLink?()
        // First: a background thread borrowing the database finishes before anything closes.
        link.sever()
        close()
    }

    /// Checkpoints (so the next open has no log to replay) and releases the map, the files and
    /// the lock. New transactions and calls throw `.closed` from the moment it begins.
    ///
    /// It waits for running read transactions to end without holding the writer lock, so a
    /// reader that calls `write`, `batchWrite`, `sync`, `checkpoint`, `verify` or `statistics`
    /// inside its read gets `.closed` and can leave. Called from inside a read on this thread,
    /// `close()` does everything but release the map and the files, and returns: the end of that
    /// read (or of the last other reader) releases them. A running batch finishes and becomes
    /// durable first; queued `batchWrite` callers get `.closed`; a `.grouped` committer still
    /// waiting for its sync is covered by one last sync here (or gets `.closed`), and nothing
    /// touches the files once they are released.
    ///
    /// Called from code that runs under the writer lock `close()` needs — a `write` or
    /// `batchWrite` closure, a `verify` progress or `pageMap` label callback — it refuses new
    /// transactions and reads (`.closed`) at once and does the rest when that call ends: the
    /// transaction commits or rolls back as usual, then the database closes (on the batch
    /// thread, before the sync thread has answered the batch's callers, whose commit the close
    /// makes durable).
    public func close() {
        if writer.isHeldByCurrentThread {
            closeRequester.store(UInt(pthread_self()), ordering: .sequentiallyConsistent)
            return
        }
        // Before the writer lock: a running batch holds it, and must finish and become durable.
        if batch.isBatchThread || batch.isSyncThread { batch.requestStop() } else { batch.stop() }
        writer.lock()
        if !snapshots.markClosed() {
            stopFlusher()
            // Before the checkpoint, and whether or not it runs: every handed-over commit is in
            // the log and gets written.
            pageWriter?.stop()
            reclaimWrittenPages()
            // A background checkpoint in flight is finished (or its failure poisons), and its
            // thread ends: nothing may write the data file once it is released.
            try? finishBackgroundCheckpoint(waiting: true)
            checkpointer?.stop()
            if poison.withLock({ $0 }) == nil {
                if hasCommitsSinceCheckpoint { try? checkpointLocked() }
            }
            // Even when poisoned (no checkpoint): no group-commit leader may start after this.
            finishDurabilityWaits()
            if poison.withLock({ $0 }) == nil { try? log.shrink() }
            log.askForHeaderBeforeNextOpen()
            closeStage.store(2, ordering: .sequentiallyConsistent)
        }
        writer.unlock()
        // A reader on this thread cannot leave while we wait: the end of its read releases. Nor
        // on the batch thread or the sync thread: a reader may be waiting for a batch the
        // executor can only refuse, or the sync thread complete, once this returns; without
        // readers, release now.
        if snapshots.isHeldByCurrentThread { return }
        if batch.isBatchThread || batch.isSyncThread {
            releaseIfUnused()
            return
        }
        while !releaseIfUnused() { usleep(1000) }
    }

    /// Once `close()` has finished with the files and no reader is left, unmaps and closes
    /// everything (once). Returns whether that is done. Called by `close()` and by every reader
    /// leaving a closed database, so whoever is last releases.
    @discardableResult
    func releaseIfUnused() -> Bool {
        guard closeStage.load(ordering: .sequentiallyConsistent) == 2 else { return false }
        return released.withLock { done in
            if done { return true }
            if snapshots.hasReaders { return false }
            done = true
            pager.readAhead.stop() // its calls use the data file's descriptor
            pager.unmapAll()
            log.file.close()
            dataFile.close()
            Syscalls.close(lockDescriptor)
            return true
        }
    }

    // MARK: - Reading

    /// Runs `body` on a snapshot of the last durable commit (in `.relaxed`, of the last commit).
    /// Runs concurrently with the writer and other readers and never waits for them; in
    /// `.relaxed` it first waits until the last commit's pages are written (PageWriter.swift),
    /// so it sees every `write` that returned before it. The transaction is valid only inside
    /// `body`.
    /// - Throws: what `body` throws; `.closed`; `.needsReopen` when writing the last commit's
    ///   pages failed.
    public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        if closeRequester.load(ordering: .relaxed) != 0 { throw StoreError.closed }
        // A commit whose pages are still being written is not published yet (PageWriter.swift).
        try pageWriter?.waitForHandedOver()
        let ticket: SnapshotRegistry.Ticket
        do {
            ticket = try snapshots.enter()
        } catch {
            // Its brief claim may have hidden the last reader's leaving from that reader.
            releaseIfUnused()
            throw error
        }
        let tx = ReadTransaction(database: self, snapshot: ticket.snapshot)
        defer {
            tx.close()
            snapshots.leave(ticket)
            if closeStage.load(ordering: .relaxed) != 0 { releaseIfUnused() }
        }
        return try body(tx)
    }

    /// `.relaxed` mode's background thread: syncs the log every `relaxedSyncInterval`, so a
    /// crash loses at most that window of commits. Does not keep the database alive.
    private func startFlusher() {
        let interval = UInt32(options.clampedRelaxedSyncIntervalMilliseconds) * 1000
        let link = self.link
        let thread = Thread {
            while true {
                usleep(interval)
                guard link.lend({ $0.flushWrittenRecords() }) == true else { return }
            }
        }
        thread.name = "vitrine-flusher"
        thread.start()
    }

    /// The oldest snapshot any reader holds or may start on; with a page writer, also no newer
    /// than the last commit whose pages are written and left `unwrittenPages` (rule 3 of
    /// PageWriter.swift).
    func oldestSnapshot() -> UInt64 {
        pageWriter == nil ? snapshots.oldest() : min(snapshots.oldest(), reclaimedThrough)
    }

    /// Takes back the pages the page writer has written: they leave `unwrittenPages`, and their
    /// buffers return to the pool (writer lock held, or no writer left).
    func reclaimWrittenPages() {
        guard let pageWriter else { return }
        let through = pageWriter.writtenTxid
        if through <= reclaimedThrough { return }
        let written = unwrittenPages.removeCommits(through: through)
        sparePages.append(contentsOf: written.prefix(max(0, sparePagesKept - sparePages.count)))
        reclaimedThrough = through
    }

    /// Waits until the page writer has written every commit handed over and takes the pages
    /// back: the data file then holds every committed page (rule 4 of PageWriter.swift).
    /// - Throws: a failed page write (the database is then poisoned).
    func settlePages() throws {
        guard let pageWriter else { return }
        try pageWriter.drain()
        reclaimWrittenPages()
        // Commits not handed over (replayed, by checkpoint) were written by the writer itself.
        reclaimedThrough = max(reclaimedThrough, latest.txid)
    }

    func publish(_ snapshot: Snapshot) { snapshots.publish(snapshot) }

    // MARK: - Writing

    /// Runs `body` as the only writer; commits when it returns, rolls back when it throws.
    /// Returns once the commit is durable under the database's durability mode. A `body` that
    /// changed nothing, or threw, returns (or rethrows) once the state it read is durable: it
    /// may hold another caller's commit still waiting for its sync, and what `body` concluded
    /// from it ("sold out", say) must not reach the caller before that commit can no longer be
    /// lost (as in a batch, Batch.swift).
    /// - Throws: what `body` throws (nothing is kept); `.nestedWriteTransaction`; `.closed`;
    ///   `.needsReopen` after an earlier I/O failure; `.io` when the commit, or the state the
    ///   body read, could not be made durable (the transaction is then not acknowledged).
    public func write<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        if writer.isHeldByCurrentThread || batch.isBatchThread { throw StoreError.nestedWriteTransaction }
        defer { closeIfRequested() }
        writer.lock()
        var waitFor: UInt64? = nil
        var committed = false
        let outcome: Result<T, Error>
        do {
            defer { writer.unlock() }
            let tx = try beginWriteTransaction()
            defer { tx.recyclePages() }
            do {
                outcome = .success(try body(tx))
            } catch {
                outcome = .failure(error)
            }
            tx.close()
            if case .success = outcome, tx.hasChanges {
                waitFor = try commit(tx)
                committed = true
            } else {
                tx.rollback()
                waitFor = stateRead(by: tx)
            }
        }
        if let txid = waitFor {
            if committed { afterCommitBeforeDurableWait?() }
            try waitUntilDurable(txid)
        }
        return try outcome.get()
    }

    /// The txid a write transaction that commits nothing waits for before its caller hears what
    /// it read: the state it began on, which may hold an earlier commit not durable yet
    /// (`.grouped`, or a batch in `.full`); nil in `.relaxed`, which promises nothing of the kind.
    /// Used by `write` and by a batch that changed nothing.
    func stateRead(by tx: WriteTransaction) -> UInt64? {
        options.durability == .relaxed ? nil : tx.txid - 1
    }

    /// Runs a `close()` that was called inside a write transaction's closure, once that
    /// transaction has ended and the writer lock is free.
    func closeIfRequested() {
        if closeRequester.load(ordering: .sequentiallyConsistent) == UInt(pthread_self()) { close() }
    }

    /// A new write transaction on the latest state (writer lock held): refused once closed or
    /// poisoned; pages no snapshot can see any more are released for reuse first.
    func beginWriteTransaction() throws -> WriteTransaction {
        try checkWritable()
        try loadFreeListIfNeeded()
        try ensureMetaPageDurable()
        // After a recovery that continued the log: see `checkpointBeforeNextWrite`. After
        // unlogged commits, before a logged one (BulkLoad.swift rule 3; the loads' ends already
        // checkpoint, this holds whatever path is missed).
        if checkpointBeforeNextWrite || (unloggedSinceCheckpoint && unloggedLoadDepth == 0) { try checkpointLocked() }
        reclaimWrittenPages()
        allocator.release(upTo: oldestSnapshot())
        return WriteTransaction(database: self, base: latest)
    }

    func checkWritable() throws {
        if snapshots.isClosed || closeRequester.load(ordering: .relaxed) != 0 { throw StoreError.closed }
        if let cause = poison.withLock({ $0 }) { throw StoreError.needsReopen(cause: cause) }
        if let failure = pageWriter?.writeFailure { throw StoreError.needsReopen(cause: "\(failure)") }
    }

    /// Refuses all further writes: after a failed write or sync the state on disk is unknown.
    /// A failed fdatasync in particular cannot be retried: the kernel may already have dropped
    /// the dirty pages and cleared the error (PostgreSQL's "fsyncgate"), so a retry that
    /// succeeds proves nothing. Only reopening, which re-reads the disk, is safe.
    func poison(_ error: Error) {
        // Grouped committers already waiting are not failed here: their records were written
        // before this failure and the next log sync may still cover them; only a failed sync
        // fails them (see waitUntilDurable).
        poison.withLock { cause in
            if cause == nil { cause = "\(error)" }
        }
    }

    /// Makes the writer's map cover every page the allocator has handed out.
    func ensureWriterMapping() throws {
        if allocator.pageCount > writerMapping.pageCapacity {
            writerMapping = try pager.ensureMapped(pageCount: allocator.pageCount)
        }
    }

    /// Forces the log to stable storage (useful in `.relaxed` mode before a planned stop).
    /// Inside `bulkLoad(.unlogged)`, checkpoints instead: its commits are in no log.
    public func sync() throws {
        if writer.isHeldByCurrentThread { throw StoreError.nestedWriteTransaction }
        writer.lock()
        defer { writer.unlock() }
        try checkWritable()
        if unloggedSinceCheckpoint {
            try checkpointLocked()
            return
        }
        try settlePages()
        do { try log.sync() } catch { poison(error); throw error }
        markDurable(latest)
    }

    /// The id of the last committed transaction.
    public var lastTransactionId: UInt64 { max(snapshots.publishedTxid, pageWriter?.lastHandedOver ?? 0) }
}
