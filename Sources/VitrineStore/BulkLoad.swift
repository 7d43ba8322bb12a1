// Bulk loading: a run of large transactions (a catalogue import) with no checkpoint between
// them, and one at the end.
//
// Why: a checkpoint makes the pages written since the last one durable (a data-file sync of all
// of them) and freezes the new tree's pages until the next checkpoint (PageAllocator rule 1), so
// copy-on-write cannot recycle them. A load of 10,000-product transactions passes the 8 MiB log
// threshold every other transaction: each checkpoint then syncs ~100 MB of pages that the next
// transactions rewrite anyway, and the frozen copies make the file grow. Without checkpoints the
// pages a load rewrites are recycled in place and written back once (1,000,000 products in random
// order: 124 k -> 224 k products/s, the same 340 MiB file). LMDB never checkpoints at all.
//
// What it costs: the log holds the whole load until the end (each commit is still logged and
// made durable as its durability mode says, so nothing acknowledged is at risk); recovery after
// a crash during the load goes through all of it (adoption after a process crash reads it; a
// replay after a power cut re-executes it); and the log file grows to the load's size until the
// final checkpoint, which gives the space back.
//
// An unlogged load (`BulkLoadMode.unlogged`) writes no log record at all: each commit writes its
// pages and nothing else, and the load's final checkpoint makes them durable. A crash (a kill or a
// power cut) before that returns the database to its state when the load began.
//
// Why: the log is every value written a second time. In an in-order load the records' building
// and their direct writes were ~21% of the committing thread (`perf`, Benchmarks/README.md
// session 13), and LMDB's `MDB_APPEND` load writes each page once. What an import needs is to
// be whole or absent after a crash, and to be re-run otherwise: the same as LMDB's `MDB_NOSYNC`
// or SQLite's `synchronous=NORMAL` give between their syncs.
//
// Why it is safe, by the rules the log already relies on:
//   1. The load begins with the log empty and the base durable: a checkpoint if the log holds
//      records, else the meta page made durable. So recovery of any crash inside the load finds
//      that meta page and an empty log generation, and opens at the base.
//   2. The load's commits only write pages the base does not use (copy-on-write; PageAllocator
//      rule 1 keeps every base page, and the base's free-list chain, until the next
//      checkpoint). Their pages in the file are garbage to the base, as a relaxed commit's are
//      when its record is lost.
//   3. No logged record may follow an unlogged commit in one generation: a replay would
//      re-execute it over a state without the unlogged commits. Every write transaction begun
//      while an unlogged load runs (on any thread) is unlogged; every load that ends (of either
//      mode: loads on other threads may overlap) checkpoints if a commit since the last
//      checkpoint was unlogged, and so does the beginning of a logged transaction, whatever
//      path led there. If that checkpoint fails the database is poisoned, so no record follows.
//   4. A commit that must be durable when it returns (`.full`, `.grouped`, `sync()`) becomes so
//      by a checkpoint, as a large transaction does (Commit.swift); a `.relaxed` one waits for
//      the load's end. A relaxed commit is therefore not durable "within about the sync
//      interval" inside such a load, only at its end.

/// How a `Database.bulkLoad` treats the log.
public enum BulkLoadMode: Sendable {
    /// Every commit is logged and keeps its durability mode's guarantee.
    case logged
    /// No commit is logged while the load runs: a crash before the load returns takes the
    /// database back to its state when the load began. Commits in `.full` or `.grouped` mode
    /// (and `sync()`) are made durable by a checkpoint each; `.relaxed` ones at the load's end.
    case unlogged
}

extension Database {
    /// Runs `body`, in which the caller commits a series of write transactions (on any thread),
    /// without the automatic checkpoints between commits; then checkpoints once and gives the
    /// log's space back.
    ///
    /// Use it for imports of many large transactions. Calls may nest: the outermost one
    /// checkpoints (and an unlogged one, when it ends). Each transaction's keys put in ascending
    /// order load faster: a quarter faster for 10,000-product transactions of random ids, since
    /// consecutive puts then reach neighbouring leaves.
    ///
    /// - `.logged` (the default): every commit keeps its durability mode's guarantee. The log
    ///   grows with everything committed (by every thread) while the load runs, and recovery
    ///   after a crash in the middle goes through all of it.
    /// - `.unlogged`: nothing is logged, by any thread, until the load ends; its values are
    ///   written once. A crash before it returns takes the database back to its state when the
    ///   load began (a checkpoint first makes that state durable), or to a later checkpoint
    ///   inside it (`sync()`, `checkpoint()`, a `.full` commit, the end of a load overlapping it
    ///   on another thread, `close()`). For an import that can be run again; in `.relaxed` mode
    ///   only, since in `.full` and `.grouped` every commit inside it pays a checkpoint.
    /// - Throws: what `body` throws (its committed transactions stay committed; the final
    ///   checkpoint is still attempted); `.nestedWriteTransaction` inside a write transaction;
    ///   `.closed`; `.needsReopen`; `.io` from the first or the final checkpoint.
    public func bulkLoad<T>(_ mode: BulkLoadMode = .logged, _ body: () throws -> T) throws -> T {
        if writer.isHeldByCurrentThread || batch.isBatchThread { throw StoreError.nestedWriteTransaction }
        writer.lock()
        do {
            try checkWritable()
            if mode == .unlogged && unloggedLoadDepth == 0 { try beginUnloggedLoad() }
        } catch {
            writer.unlock()
            throw error
        }
        bulkLoadDepth += 1
        if mode == .unlogged { unloggedLoadDepth += 1 }
        writer.unlock()
        let result: T
        do {
            result = try body()
        } catch {
            try? finishBulkLoad(mode)
            throw error
        }
        try finishBulkLoad(mode)
        return result
    }

    /// Rule 1 above (writer lock held): the log empty and the state durable before the first
    /// unlogged commit.
    private func beginUnloggedLoad() throws {
        if hasCommitsSinceCheckpoint || checkpointInFlight != nil {
            try checkpointLocked()
        } else {
            try ensureMetaPageDurable()
        }
    }

    /// The end of a `bulkLoad` (any mode, any thread): commits left unlogged are checkpointed
    /// before it returns, even while other loads go on (a load on another thread, unlogged or
    /// not, may have overlapped this one); the outermost load also checkpoints and shrinks the
    /// log. A failure that leaves unlogged commits unchecked poisons the database (rule 3).
    private func finishBulkLoad(_ mode: BulkLoadMode) throws {
        writer.lock()
        defer { writer.unlock() }
        bulkLoadDepth -= 1
        if mode == .unlogged { unloggedLoadDepth -= 1 }
        do {
            if bulkLoadDepth == 0 {
                try finishOutermostBulkLoad()
            } else if unloggedSinceCheckpoint {
                try checkWritable()
                try checkpointLocked()
            }
        } catch {
            if unloggedSinceCheckpoint { poison(error) }
            throw error
        }
    }

    /// The end of the outermost `bulkLoad` (writer lock held): a checkpoint, after moving pages
    /// when the load left many free; the log's space given back.
    private func finishOutermostBulkLoad() throws {
        // The load's spare page buffers back to the usual few.
        if sparePages.count > sparePagesKept { sparePages.removeLast(sparePages.count - sparePagesKept) }
        if spareRecordBuffer.capacity > spareRecordBytesKept { spareRecordBuffer = [] }
        try checkWritable()
        guard hasCommitsSinceCheckpoint else { return }
        // The last transactions' old copies are free pages scattered through the file (13% of
        // it after 1,000,000 random-order products); a load is the one time worth moving pages
        // to give them back (Shrink.swift).
        if allocator.freeCount >= Int(allocator.pageCount / 16) {
            do {
                _ = try shrinkLocked()
            } catch StoreError.corruptPage {
                // The move met a damaged page somewhere in the file and changed nothing; the
                // load's commits still get their checkpoint.
                try checkWritable()
                try checkpointLocked()
            }
        } else {
            try checkpointLocked()
        }
        do { try log.shrink() } catch { poison(error); throw error }
    }
}
