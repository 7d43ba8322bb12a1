// Checkpoint: makes the current state the new recovery base and empties the log.
//
// Because every commit already wrote its pages into the data file (copy-on-write, to pages the
// last checkpoint does not use; in .relaxed the page writer is waited for first), a checkpoint
// copies nothing. In order:
//   1. write the free-list chain (on pages neither the old nor the new checkpoint uses);
//   2. fdatasync the data file: every page of the new state is durable;
//   3. write the meta page into the other slot (sequence + 1), fdatasync: this is the switch;
//   4. start a new log generation (the meta names it), written lazily with the next record;
//   5. release the old checkpoint's frozen pages and free-list chain for reuse.
//   6. cut the file after its last page if it is longer (a free tail left it in step 0).
// A crash before 3 completes leaves the old meta, whose pages and chain are all still intact,
// and the old log generation, which recovery replays. A crash after 3 leaves the new meta; its
// log generation has no records yet, or records from after the checkpoint.
//
// In `.relaxed` with `checkpointsInBackground` (on with 4+ cores), steps 2-3 of the automatic
// checkpoints run on a thread of their own while commits go on, and the log is restarted
// afterwards instead of reset (background checkpoints, below).
//
// Readers are unaffected: no page any snapshot can reach is moved or overwritten. A long reader
// therefore never blocks a checkpoint and the log stays bounded; what a long reader does hold
// back is the reuse of pages freed after its snapshot (the file may grow while it runs).

extension Database {
    /// Checkpoints now: the log is emptied and the data file alone holds the current state.
    /// - Throws: `.io` (the database then refuses writes until reopened), `.closed`.
    public func checkpoint() throws {
        if writer.isHeldByCurrentThread { throw StoreError.nestedWriteTransaction }
        writer.lock()
        defer { writer.unlock() }
        try checkWritable()
        try checkpointLocked()
    }

    /// Whether the latest state is not the durable meta page's (writer lock held): records in the
    /// log, or commits with none (unlogged ones, BulkLoad.swift, advance `latest` alone).
    var hasCommitsSinceCheckpoint: Bool { log.logBytes > 0 || latest.txid != meta.txid }

    /// Checkpoint with the writer lock held. Poisons the database on failure. A free tail of at
    /// least `tailCutMinimum` pages is cut off (nil: `tailCutMinimum()`; Shrink.swift).
    func checkpointLocked(tailCutMinimum: Int? = nil) throws {
        do {
            try checkpointSteps(tailCutMinimum: tailCutMinimum ?? self.tailCutMinimum())
        } catch {
            poison(error)
            throw error
        }
    }

    private func checkpointSteps(tailCutMinimum: Int) throws {
        // A background checkpoint's meta page first: both write the same slot.
        try finishBackgroundCheckpoint(waiting: true)
        // Every committed page in the file before it is synced (PageWriter.swift).
        try settlePages()
        try ensureMetaPageDurable()
        try loadFreeListIfNeeded()
        // 0. A free tail leaves the file (PageAllocator rule 4); the file is cut after step 3.
        //    Pages no snapshot sees any more count too (readers may have left since the last
        //    transaction began).
        allocator.release(upTo: oldestSnapshot())
        if allocator.trimReusableTail(minimumPages: tailCutMinimum) > 0 {
            fileTailMayBeCut = true
            fileTailCutTxid = latest.txid
        }
        let state = latest
        // 1.
        let (chain, freeCount) = try writeFreeList(txid: state.txid)
        try extendFileToPageCount(mayCut: true)
        // 2.
        try pager.sync()
        // 3.
        let salt = WriteAheadLog.newSalt()
        // After a background checkpoint's meta page, its generation + 1 may be in the log file
        // (a restart's copies whose header was lost): a number is never given out twice.
        let usedGeneration = max(meta.logStart != 0 ? meta.logGeneration + 1 : meta.logGeneration, log.generation)
        let next = Meta(
            checkpointSequence: meta.checkpointSequence + 1, txid: state.txid,
            pageCount: allocator.pageCount, catalogRoot: state.catalogRoot,
            freeListHead: chain.first ?? 0, freeCount: UInt64(freeCount),
            logGeneration: usedGeneration + 1, nextTableId: state.nextTableId,
            databaseId: meta.databaseId, logSalt: salt)
        // The counters are bounded at open (MetaPage.counterLimit) and grow by one per
        // checkpoint or commit, so this cannot fail in practice; if it ever did, the meta page
        // must not be written, or the next open would refuse it.
        if let problem = next.rangeProblem {
            throw StoreError.corruptPage(page: next.slot, reason: "refusing to write a meta page: \(problem)")
        }
        try dataFile.write(next.encode(), at: Int64(next.slot) * Int64(PageLayout.size))
        try pager.sync()
        meta = next
        unloggedSinceCheckpoint = false
        // 4.
        log.reset(generation: next.logGeneration, salt: salt, baseTxid: state.txid, anchored: true)
        checkpointLogStart = LogFormat.firstRecordOffset
        // 5.
        allocator.checkpointed(at: state.txid, newChain: chain)
        checkpointBeforeNextWrite = false
        latest.pageCount = allocator.pageCount
        latest.mapping = writerMapping
        markDurable(latest)
        // 6. The file's tail beyond the new meta's pages, once published (Shrink.swift).
        try cutFileTailIfUnread()
    }

    /// Step 1: writes the free-list chain of the state at `txid`: every page not reachable from
    /// it, including the previous chain's pages (free once this checkpoint is durable). The new
    /// chain's own pages come from `reusable` or the end of the file, never from the previous
    /// checkpoint. Returns the chain and the number of entries it lists.
    private func writeFreeList(txid: UInt64) throws -> (chain: [PageNumber], entries: Int) {
        var free = allocator.allFree() + allocator.checkpointChain
        var chain: [PageNumber] = []
        // Chain pages come out of `free` when reusable pages exist and from the end of the file
        // otherwise (those do not shorten the list), so grow the chain until it holds whatever
        // is left.
        var takenFromFree: [PageNumber] = []
        while chain.count * PageLayout.freeListEntries < free.count - takenFromFree.count {
            let end = allocator.pageCount
            let p = allocator.allocate()
            chain.append(p)
            // Below the old end it came from `reusable`, which is part of `free`.
            if p < end { takenFromFree.append(p) }
        }
        // Ascending, the order a reader of the format expects; the open that loads it sorts it
        // descending (lowest page reused first). Sorted in place: a copy kept alive beside it
        // would make the sort copy the whole list again (PageNumberSort).
        PageNumberSort.sort(&free)
        let entries = PageNumberSort.removing(takenFromFree, from: free)
        guard entries.count <= chain.count * PageLayout.freeListEntries else {
            throw StoreError.corruptPage(page: 0, reason: "internal error: free-list chain too short")
        }
        try ensureWriterMapping()
        var images: [(PageNumber, [UInt8])] = []
        var offset = 0
        for (k, page) in chain.enumerated() {
            let n = min(PageLayout.freeListEntries, entries.count - offset)
            var b = PageBuilder(kind: .freeList, pageNumber: page, txid: txid)
            b.setU16(n, at: 6)
            b.setU64(k + 1 < chain.count ? chain[k + 1] : 0, at: 24)
            for e in 0..<n { b.setU64(entries[offset + e], at: PageLayout.headerSize + 8 * e) }
            offset += n
            images.append((page, b.finish()))
        }
        try pager.write(images)
        return (chain, entries.count)
    }

    /// The meta promises a file of `pageCount` pages; the last pages may be ones a transaction
    /// allocated and gave up again without writing them. A longer file is cut after the meta
    /// page is durable (step 6), when `mayCut`.
    private func extendFileToPageCount(mayCut: Bool) throws {
        let fileBytes = Int64(allocator.pageCount) * Int64(PageLayout.size)
        let size = try dataFile.size()
        if size < fileBytes { try dataFile.truncate(to: fileBytes) }
        if mayCut && size > fileBytes && !fileTailMayBeCut {
            fileTailMayBeCut = true
            fileTailCutTxid = latest.txid
        }
    }
}

// Background checkpoints (`.relaxed`, `DatabaseOptions.checkpointsInBackground`): the same
// checkpoint without stopping the commits.
//
// Why: a relaxed commit syncs nothing, so the checkpoint's two fdatasyncs, which write out every
// page dirtied since the last one, were the one wait in its path: 13% of a relaxed checkout's
// committing thread in `perf` (every 8 MiB of log, ~40 ms). That sync is also ~40 ms of the
// kernel's CPU, which on a 2-core machine busy with the committer and the page writer preempts
// the committer in many pieces instead (p99 36 -> 113-158 us at the same throughput): hence
// the option, on by default only with 4+ cores (Benchmarks/README.md, session 11).
//
// How: the commit that crosses the threshold runs steps 0-1 (the free list of its state,
// written) and leaves 2-3 (fdatasync, the meta page, fdatasync) to a thread of its own
// (`Checkpointer`), while commits go on appending to the same log generation. The meta page
// names that generation and the offset of the first record after the checkpoint (its log
// start, database-file.md section 4): recovery replays from there. A later commit finds the
// meta page durable and finishes:
//   - pages of the previous checkpoint freed before this one are released (rule 2 only), the
//     previous chain becomes reusable; pages of this checkpoint's tree freed since it began
//     stay frozen until the next one (PageAllocator `beginCheckpoint`, `finishCheckpoint`);
//   - the log restarts: the records after the checkpoint are copied into a new generation at
//     the start of the file, whose header names the old generation's salt
//     (WriteAheadLog.restart), so the log does not grow without bound.
// Until then nothing that the meta page's slot, the allocator's frozen pages or the log's
// generation concern may change: an inline checkpoint, `verify`, `shrink`, `pageMap` and close
// first wait for it (`finishBackgroundCheckpoint(waiting: true)`); statistics count the pages it
// holds as free.

/// A checkpoint whose meta page is being made durable by the `Checkpointer`.
struct CheckpointInFlight {
    let meta: Meta
    let state: Snapshot
    let chain: [PageNumber]
    /// Pages of the previous checkpoint freed before this one began: reusable (rule 2 only)
    /// once this meta page is durable.
    let frozenBefore: [PageNumber]
}

extension Database {
    /// Whether commits crossing the checkpoint threshold leave the checkpoint to the
    /// `Checkpointer` (writer lock held).
    var checkpointsInBackground: Bool {
        options.checkpointsInBackground && options.durability == .relaxed && pageWriter != nil && !replaying
            && bulkLoadDepth == 0
    }

    /// Steps 0-1 of a checkpoint of the latest state, the rest handed to the checkpointer thread
    /// (see above; writer lock held, no checkpoint in flight).
    /// - Throws: `.io`, `.corruptPage` (the caller poisons the database).
    func startBackgroundCheckpoint() throws {
        // The state's pages in the file before the thread syncs it (PageWriter.swift rule 4).
        try settlePages()
        try ensureMetaPageDurable()
        try loadFreeListIfNeeded()
        allocator.release(upTo: oldestSnapshot())
        // A free tail leaves the allocator now and the file once the meta page is durable, as
        // in steps 0 and 6 (the commits meanwhile allocate from the lower page count; the cut
        // is to the page count then).
        if allocator.trimReusableTail(minimumPages: tailCutMinimum()) > 0 {
            fileTailMayBeCut = true
            fileTailCutTxid = latest.txid
        }
        let state = latest
        let (chain, freeCount) = try writeFreeList(txid: state.txid)
        try extendFileToPageCount(mayCut: true)
        let next = Meta(
            checkpointSequence: meta.checkpointSequence + 1, txid: state.txid,
            pageCount: allocator.pageCount, catalogRoot: state.catalogRoot,
            freeListHead: chain.first ?? 0, freeCount: UInt64(freeCount),
            logGeneration: log.generation, nextTableId: state.nextTableId,
            databaseId: meta.databaseId, logSalt: log.salt, logStart: log.writeOffset)
        if let problem = next.rangeProblem {
            throw StoreError.corruptPage(page: next.slot, reason: "refusing to write a meta page: \(problem)")
        }
        let frozenBefore = allocator.beginCheckpoint()
        checkpointInFlight = CheckpointInFlight(meta: next, state: state, chain: chain, frozenBefore: frozenBefore)
        if checkpointer == nil { checkpointer = Checkpointer(file: dataFile) }
        checkpointer?.start(meta: next.encode(), at: Int64(next.slot) * Int64(PageLayout.size))
    }

    /// Completes the checkpoint in flight once its meta page is durable (see above; writer lock
    /// held). Without `waiting`, returns at once if the thread is not done.
    /// - Throws: the thread's failure or the log restart's (the database is then poisoned).
    func finishBackgroundCheckpoint(waiting: Bool) throws {
        guard let flight = checkpointInFlight, let checkpointer else { return }
        if !waiting && !checkpointer.isFinished { return }
        let failure = checkpointer.wait()
        checkpointInFlight = nil
        if let failure {
            poison(failure)
            throw failure
        }
        meta = flight.meta
        allocator.finishCheckpoint(at: flight.state.txid, frozenBefore: flight.frozenBefore, newChain: flight.chain)
        commitLock.lock()
        if flight.state.txid > durableTxid { durableTxid = flight.state.txid }
        commitLock.broadcast()
        commitLock.unlock()
        do {
            let restarted = try log.restart(
                generation: flight.meta.logGeneration + 1, salt: WriteAheadLog.newSalt(), baseTxid: flight.state.txid,
                carryingFrom: flight.meta.logStart)
            checkpointLogStart = restarted ? LogFormat.firstRecordOffset : flight.meta.logStart
            try cutFileTailIfUnread()
        } catch {
            poison(error)
            throw error
        }
    }
}

extension Database {
    /// Names the log's current generation and salt in a durable meta page before the first
    /// record of that generation is written (writer lock held; the commit calls it). Needed
    /// only for a generation started at open (a checkpoint names its own): without it, two
    /// copies of one database opened and written separately would share the meta page, so
    /// nothing in the data file could tell its own log from the other copy's.
    ///
    /// The new meta page describes the same state as the current one (same txid, pages and free
    /// list) with the next checkpoint sequence, in the other slot, so either slot is a valid
    /// fallback. Costs one page write and one data-file sync per session that commits (after
    /// `ensureMetaPageDurable`'s, when the log does not vouch for the meta page it copies).
    /// - Throws: `.io`; the caller poisons the database (the meta write's outcome is unknown).
    func anchorLogGeneration() throws {
        try ensureMetaPageDurable()
        var next = meta
        next.checkpointSequence = meta.checkpointSequence + 1
        next.logGeneration = log.generation
        next.logSalt = log.salt
        next.logStart = 0
        if let problem = next.rangeProblem {
            throw StoreError.corruptPage(page: next.slot, reason: "refusing to write a meta page: \(problem)")
        }
        try dataFile.write(next.encode(), at: Int64(next.slot) * Int64(PageLayout.size))
        try pager.sync()
        meta = next
        log.markAnchored()
    }
}
