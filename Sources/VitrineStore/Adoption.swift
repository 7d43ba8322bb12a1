// Recovery by adoption: after a process crash, the state of the last logged commit is already
// in the data file, so recovery takes it over instead of re-executing the log.
//
// Every commit writes its pages into the data file (to pages the checkpoint does not use), and a
// written page stays in the kernel's page cache until the machine stops, whatever happens to
// the process. `.full` and `.grouped` write them before the record; `.relaxed` leaves them to the
// page writer, after the record (or, while reads wait for it, writes them before once the
// queue is empty), but commit after commit (PageWriter.swift), so the commits
// whose pages are in the file are the log's first ones, the next at most partly, and step 2
// below finds whether the last one is whole. So if every record of the log was written in this
// boot, to this very file (System/PageCacheOrigin.swift),
// and step 2 passes, the tree of the last record is complete in the file: recovery reads each
// record's page summary (Format/LogRecord.swift, version 3) instead of its operations and
//   1. checks the summaries against each other and against the checkpoint's free list: each
//      page a commit allocated was free just before it (in the checkpoint's free list, beyond
//      its page count, or freed earlier by a commit since and not a checkpoint page), each page
//      it freed was in use, page counts never shrink, numbers stay in range;
//   2. reads the pages the last record allocated (checksum, page number, and the txid they
//      carry must be the record's): a data file replaced by an older copy of itself in place
//      keeps its inode, not the newest pages; and (log format 5) their page digest must be the
//      record's: the same page numbers and txid may hold other images (a rolled-back
//      transaction's overflow pages, as the next commit gets its txid; pages the page writer
//      had not written);
//   3. rebuilds the allocator as the crashed session had it (with no reader left, pages freed
//      since the checkpoint that were allocated after it are reusable at once; freed checkpoint
//      pages stay frozen until the next checkpoint, rule 1 of PageAllocator.swift), and takes
//      the last record's catalog root, next table id and page count as the current state.
// Any check that fails, a record without a summary (version 2) or from another origin, or an
// intact record of the generation past the last valid one (after damage: its commit may have
// reused a page of the last valid state, which that state's digest does not cover): nothing
// is changed, and the log is re-executed as before (Recovery.swift). Either way the generation
// then continues (WriteAheadLog.resume) and the session's first write checkpoints.
//
// What it saves: re-executing a log is page faults on, checksums of and copies of every page
// the records touch, then a `pwrite` of each; adopting reads the log and the last record's pages.

extension Database {
    /// Adopts the crashed session's state if its records allow it (see the top of the file).
    /// Returns the number of records adopted and the offset after the last, or nil (nothing
    /// changed; replay the log). Writer lock held; called only when the log's header is the
    /// version-3 (or later) generation the meta page names (or one chained to it), `generation`
    /// and `salt`, whose records after the checkpoint begin at `start`; `recordLimit` is its
    /// record limit.
    func adoptCrashedSession(generation: UInt64, salt: UInt64, from start: Int64, recordLimit: Int64?, logVersion: UInt32)
        throws -> (records: Int, end: Int64)?
    {
        if options.pageCacheTrust == .never { return nil }
        // This process's origin, asked once there is a record (a clean open pays nothing).
        var here: PageCacheOrigin? = nil
        var asked = false
        func trusted(_ summary: PageSummary) -> Bool {
            if options.pageCacheTrust == .ignoringOrigin { return true }
            if !asked {
                here = PageCacheOrigin.current(descriptor: dataFile.descriptor)
                asked = true
            }
            return here != nil && summary.origin == here
        }
        var summaries: [PageSummary] = []
        var lastTxid: UInt64 = 0
        var adoptable = true
        let (end, laterRecords) = try WriteAheadLog.scanReportingLaterRecords(
            log.file, generation: generation, minimumGeneration: meta.logGeneration,
            salt: salt, firstTxid: meta.txid + 1, databaseId: meta.databaseId, recordLimit: recordLimit, from: start
        ) { record in
            guard let summary = record.summary, trusted(summary) else {
                adoptable = false
                return false
            }
            summaries.append(summary)
            lastTxid = record.txid
            return true
        }
        // Intact records past a torn one (damage, or a power cut's disorder): their commits may
        // have written pages over the last valid record's state (a page it uses, freed and
        // reused by a later commit), which its own pages' digest cannot show. Only a replay,
        // which writes its own pages, is sound then.
        guard adoptable, !laterRecords, let final = summaries.last else { return nil }
        // From format 5 on, commits may write their pages after their record (.relaxed): the
        // last record's pages must be its own images, which only the digest tells.
        if logVersion >= 5 && final.pageDigest == nil { return nil }
        try loadFreeListIfNeeded()
        guard let rebuilt = try rebuildAllocator(summaries) else { return nil }
        // 2. The newest pages are the last record's own.
        let mapping = try pager.ensureMapped(pageCount: final.pageCount)
        var digest: UInt64 = 0
        for p in final.allocated {
            // Read, not touched through the map: see Pager.readHeader.
            guard let header = try? pager.readHeader(of: p, limit: final.pageCount), header.txid == lastTxid
            else { return nil }
            digest &+= PageSummary.digestTerm(page: p, checksum: header.storedChecksum)
        }
        if let expected = final.pageDigest, digest != expected { return nil }
        // 3.
        allocator = rebuilt
        writerMapping = mapping
        latest = Snapshot(
            txid: lastTxid, catalogRoot: final.catalogRoot, pageCount: final.pageCount,
            nextTableId: final.nextTableId, mapping: mapping)
        return (summaries.count, end)
    }

    /// Step 1 and the allocator of step 3, or nil if the summaries do not check out.
    private func rebuildAllocator(_ summaries: [PageSummary]) throws -> PageAllocator? {
        guard let final = summaries.last else { return nil }
        let filePages = UInt64(max(0, try dataFile.size())) / UInt64(PageLayout.size)
        // Pages the file does not hold can only be ones allocated and given up again (never
        // written); a count far beyond the file is not from a commit of ours.
        guard final.pageCount >= meta.pageCount, final.pageCount < MetaPage.counterLimit,
            final.pageCount <= max(filePages, meta.pageCount) + (1 << 16)
        else { return nil }
        let count = Int(final.pageCount)
        // What each page is, as the summaries are applied in order.
        let inUse: UInt8 = 0, free: UInt8 = 1, frozen: UInt8 = 2, chain: UInt8 = 3
        var state = [UInt8](repeating: inUse, count: count)
        var allocatedSinceCheckpoint = [Bool](repeating: false, count: count)
        for p in allocator.reusable {
            guard p < final.pageCount else { return nil }
            state[Int(p)] = free
        }
        for p in allocator.checkpointChain {
            guard p < final.pageCount else { return nil }
            state[Int(p)] = chain
        }
        for p in Int(meta.pageCount)..<count { state[p] = free }
        var pageCount = meta.pageCount
        for s in summaries {
            guard s.pageCount >= pageCount, s.pageCount <= final.pageCount else { return nil }
            pageCount = s.pageCount
            for p in s.allocated {
                // Written by the commit: within the file, and free until then.
                guard p >= 2, p < pageCount, p < filePages, state[Int(p)] == free else { return nil }
                state[Int(p)] = inUse
                allocatedSinceCheckpoint[Int(p)] = true
            }
            for p in s.freed {
                guard p >= 2, p < pageCount, state[Int(p)] == inUse else { return nil }
                state[Int(p)] = allocatedSinceCheckpoint[Int(p)] ? free : frozen
            }
        }
        // Pages 0 and 1 are the meta pages, never a tree's (their state is "in use" above).
        guard
            final.catalogRoot == 0
                || (final.catalogRoot >= 2 && final.catalogRoot < final.pageCount && state[Int(final.catalogRoot)] == inUse),
            final.nextTableId >= meta.nextTableId, final.nextTableId <= UInt64(UInt32.max)
        else { return nil }
        var reusable: [PageNumber] = []
        var frozenPages: [PageNumber] = []
        // Sized before the inserts: growing it step by step (rehashing, zeroing) was a fifth of
        // an adopting open's samples.
        var inUseSince = 0
        for p in 2..<count where state[p] == inUse && allocatedSinceCheckpoint[p] { inUseSince += 1 }
        var since = PageNumberSet(capacity: inUseSince)
        for p in 2..<count {
            switch state[p] {
            case free: reusable.append(PageNumber(p))
            case frozen: frozenPages.append(PageNumber(p))
            case inUse where allocatedSinceCheckpoint[p]: since.insert(PageNumber(p))
            default: break
            }
        }
        var rebuilt = PageAllocator(pageCount: final.pageCount, free: reusable, chain: allocator.checkpointChain)
        rebuilt.frozen = frozenPages
        rebuilt.allocatedSinceCheckpoint = since
        return rebuilt
    }
}
