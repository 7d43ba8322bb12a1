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

extension Database {
    /// Runs `body`, in which the caller commits a series of write transactions (on any thread),
    /// without the automatic checkpoints between commits; then checkpoints once and gives the
    /// log's space back. Every commit keeps its durability mode's guarantee.
    ///
    /// Use it for imports of many large transactions. While it runs the log grows with
    /// everything committed (by every thread), and recovery after a crash in the middle goes
    /// through all of it. Calls may nest: the outermost one checkpoints. Each transaction's keys
    /// put in ascending order load faster: a quarter faster for 10,000-product transactions of
    /// random ids, since consecutive puts then reach neighbouring leaves.
    /// - Throws: what `body` throws (its committed transactions stay committed; the final
    ///   checkpoint is still attempted); `.nestedWriteTransaction` inside a write transaction;
    ///   `.closed`; `.needsReopen`; `.io` from the final checkpoint.
    public func bulkLoad<T>(_ body: () throws -> T) throws -> T {
        if writer.isHeldByCurrentThread || batch.isBatchThread { throw StoreError.nestedWriteTransaction }
        writer.lock()
        do {
            try checkWritable()
        } catch {
            writer.unlock()
            throw error
        }
        bulkLoadDepth += 1
        writer.unlock()
        let result: T
        do {
            result = try body()
        } catch {
            try? finishBulkLoad()
            throw error
        }
        try finishBulkLoad()
        return result
    }

    /// The end of a `bulkLoad`: the outermost one checkpoints, then shrinks the log.
    private func finishBulkLoad() throws {
        writer.lock()
        defer { writer.unlock() }
        bulkLoadDepth -= 1
        guard bulkLoadDepth == 0 else { return }
        // The load's spare page buffers back to the usual few.
        if sparePages.count > sparePagesKept { sparePages.removeLast(sparePages.count - sparePagesKept) }
        if spareRecordBuffer.capacity > spareRecordBytesKept { spareRecordBuffer = [] }
        try checkWritable()
        guard log.logBytes > 0 else { return }
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
