// Commit and group commit. See Database.swift for the order of events and the durability modes.

extension Database {
    /// Commits `tx` (writer lock held). Returns the txid to wait for in `.grouped` mode, and in
    /// `.full` mode when `deferringSync` (the batch path syncs outside the writer lock).
    func commit(_ tx: WriteTransaction, deferringSync: Bool = false) throws -> UInt64? {
        if let failure = tx.failure {
            tx.rollback()
            throw failure
        }
        let prepared: WriteTransaction.Prepared
        do {
            prepared = try tx.prepare()
        } catch {
            tx.rollback()
            throw error
        }
        tx.returnRecycledPages()
        let txid = tx.txid
        var snapshot = Snapshot(
            txid: txid, catalogRoot: prepared.catalogRoot, pageCount: allocator.pageCount,
            nextTableId: tx.nextTableId, mapping: writerMapping)
        var committedByCheckpoint = false
        // Inside `bulkLoad(.unlogged)` (BulkLoad.swift) there is no record: a commit that must
        // be durable now is made so by a checkpoint, a relaxed one at the load's end.
        let checkpointsNow = tx.commitsByCheckpoint || (tx.unlogged && options.durability != .relaxed)
        // `.relaxed`: the page writer writes the pages after the log record (PageWriter.swift),
        // unless reads have been waiting for it.
        let handingOver = !replaying && !checkpointsNow && pageWriter?.takesNextCommit() == true
        do {
            try ensureWriterMapping()
            snapshot.mapping = writerMapping
            if !handingOver {
                try settlePages()
                try pager.write(prepared.pages)
            }
            if replaying {
                latest = snapshot
                allocator.free(tx.freed, by: txid)
                return nil
            }
            if checkpointsNow {
                // Cheaper to make the pages themselves durable than to log every byte twice.
                latest = snapshot
                allocator.free(tx.freed, by: txid)
                try checkpointLocked()
                committedByCheckpoint = true
            } else if tx.unlogged {
                unloggedSinceCheckpoint = true
            } else {
                if !log.anchored { try anchorLogGeneration() }
                // The page summary lets recovery after a process crash adopt this state
                // instead of re-executing the record (Adoption.swift).
                let allocated = tx.allocatedPages
                let summary = PageSummary(
                    catalogRoot: prepared.catalogRoot, nextTableId: tx.nextTableId, pageCount: allocator.pageCount,
                    origin: sessionOrigin, allocated: allocated, freed: tx.freed, pageDigest: tx.pageDigest(of: allocated))
                try log.append(
                    tx.log.seal(
                        generation: log.generation, salt: log.salt, txid: txid,
                        durableTxid: durableTxidNow(), databaseId: log.databaseId, summary: summary))
            }
        } catch {
            poison(error)
            throw error
        }
        if committedByCheckpoint { return nil }
        latest = snapshot
        allocator.free(tx.freed, by: txid)

        var waitFor: UInt64? = nil
        switch options.durability {
        case .full where !deferringSync:
            do { try log.sync() } catch { poison(error); throw error }
            markDurable(snapshot)
        case .relaxed:
            // The flusher thread syncs what is written every relaxedSyncInterval; an unlogged
            // commit has nothing in the log for it to sync.
            if !tx.unlogged {
                commitLock.lock()
                writtenTxid = txid
                writtenSnapshot = snapshot
                commitLock.unlock()
            }
            if handingOver, let pageWriter {
                unwrittenPages.add(prepared.pages, txid: txid)
                tx.pagesHandedOver = true
                pageWriter.handOver(prepared.pages.map(\.image), publishing: snapshot)
            } else {
                publish(snapshot)
                // Nothing is queued (settlePages) and this commit's pages are written.
                if pageWriter != nil { reclaimedThrough = txid }
            }
        case .grouped, .full:
            commitLock.lock()
            writtenTxid = txid
            writtenSnapshot = snapshot
            commitLock.unlock()
            waitFor = txid
        }
        // Checkpoint when the log is long, or when many pages were written since the last one.
        // (Checkpointing also when freed pages reach a fraction of a small file kept it smaller
        // after random-order bursts, but cost durable commits two data-file syncs every few
        // dozen transactions: 1.17x -> 0.72x SQLite. Not worth it.)
        // Not during a bulk load (BulkLoad.swift): it checkpoints once, at its end. In
        // `.relaxed`, in the background (Checkpoint.swift); one in flight is finished once its
        // meta page is durable, or waited for when the log has grown to 4 thresholds meanwhile.
        // This commit is already in the log; a failed checkpoint poisons the database for
        // later writes but does not un-acknowledge it (a grouped waiter still needs its sync).
        let logSinceCheckpoint = log.writeOffset - checkpointLogStart
        if checkpointInFlight != nil {
            let waiting = logSinceCheckpoint >= 4 * Int64(options.checkpointLogBytes)
            if waiting || commitsFinishBackgroundCheckpoints {
                do { try finishBackgroundCheckpoint(waiting: waiting) } catch {} // poisons
            }
        } else if bulkLoadDepth == 0
            && (logSinceCheckpoint >= Int64(options.checkpointLogBytes)
                || allocator.frozen.count + allocator.allocatedSinceCheckpoint.count >= checkpointPageThreshold)
        {
            do {
                if checkpointsInBackground && log.logBytes > 0 { try startBackgroundCheckpoint() } else { try checkpointLocked() }
            } catch { poison(error) }
        }
        return waitFor
    }

    /// Pages written since the last checkpoint after which a commit checkpoints: the option when
    /// set; otherwise 16,384, and in `.full` a sixteenth of the file when that is fewer (never
    /// under `minimumCheckpointPages`).
    ///
    /// Why: copy-on-write cannot reuse a page of the last checkpoint's tree until the next
    /// checkpoint (PageAllocator rule 1), so the file grows by up to this many pages between
    /// checkpoints, and the log to be read at recovery grows with them. A fixed 16,384 pages
    /// (64 MiB) was half again the size of a 68 MiB database at the bench's crash (files at
    /// crash 1.63x SQLite's, whose WAL checkpoints every 1,000 pages). In the durable modes every
    /// commit syncs anyway; what a checkpoint adds beyond the pages' own write-back (which every
    /// page written pays once per interval whatever its length) is two syncs and the free list.
    /// In `.relaxed` its syncs are the only ones, and a relaxed cart churn on a 60 MiB file lost
    /// 40% of its rate with the smaller interval. In `.grouped` a checkpoint stalls a whole
    /// batch of callers: the full run with it there had 8-thread checkout 23.6 -> 18.0 k/s and
    /// the 256-caller flash sale 90.6 -> 49.2 k units/s, p99 32 ms (Benchmarks/README.md,
    /// session 14).
    var checkpointPageThreshold: Int {
        if let pages = options.checkpointPages { return pages }
        guard options.durability == .full else { return Self.defaultCheckpointPages }
        return min(Self.defaultCheckpointPages, max(Self.minimumCheckpointPages, Int(allocator.pageCount / 16)))
    }

    /// `checkpointPageThreshold` without the option: 64 MiB of pages.
    static let defaultCheckpointPages = 16_384

    /// The floor of `checkpointPageThreshold` (4 MiB of pages, SQLite's default WAL size).
    static let minimumCheckpointPages = 1024

    /// Every record up to this txid is on stable storage (or in the checkpoint).
    func durableTxidNow() -> UInt64 {
        commitLock.lock()
        defer { commitLock.unlock() }
        return durableTxid
    }

    /// The highest txid known to be durable.
    func durableTransactionId() -> UInt64 {
        commitLock.lock()
        defer { commitLock.unlock() }
        return durableTxid
    }

    /// Records that everything up to `snapshot.txid` is durable and publishes it.
    func markDurable(_ snapshot: Snapshot) {
        commitLock.lock()
        if snapshot.txid > durableTxid { durableTxid = snapshot.txid }
        commitLock.broadcast()
        commitLock.unlock()
        publish(snapshot)
    }

    /// `.relaxed`: syncs whatever was written since the last sync; called by the flusher thread.
    /// Returns false once the database is closed.
    func flushWrittenRecords() -> Bool {
        commitLock.lock()
        if flusherStopped { commitLock.unlock(); return false }
        guard writtenTxid > durableTxid, !syncInProgress, syncFailure == nil else { commitLock.unlock(); return true }
        syncLogAsLeader(publishing: nil)
        commitLock.unlock()
        return true
    }

    /// The sync both the flusher and a group-commit leader run (commitLock held on entry and on
    /// return, released during the sync): makes the log durable up to what was written when it
    /// began, publishes `snapshot` (if given and covered) once durable, records the new durable
    /// txid or the failure (which poisons the database), and wakes every waiter.
    private func syncLogAsLeader(publishing snapshot: Snapshot?) {
        syncInProgress = true
        let target = writtenTxid
        commitLock.unlock()
        var failure: Error? = nil
        do { try log.sync() } catch { failure = error }
        if failure == nil, let snapshot, snapshot.txid <= target { snapshots.publish(snapshot, onlyIfNewer: true) }
        commitLock.lock()
        syncInProgress = false
        if let failure {
            if syncFailure == nil { syncFailure = (failure as? StoreError) ?? .needsReopen(cause: "\(failure)") }
            poison.withLock { if $0 == nil { $0 = "\(failure)" } }
        } else if target > durableTxid {
            durableTxid = target
        }
        commitLock.broadcast()
    }

    /// Stops the flusher and waits for a sync it may be running.
    func stopFlusher() {
        commitLock.lock()
        flusherStopped = true
        while syncInProgress { commitLock.wait() }
        commitLock.unlock()
    }

    /// Group commit: returns once `txid` is durable. The first waiter to find no sync running
    /// becomes the leader, syncs the log for every record written so far, and wakes the rest.
    func waitUntilDurable(_ txid: UInt64) throws {
        commitLock.lock()
        defer { commitLock.unlock() }
        while durableTxid < txid {
            if let failure = syncFailure { throw failure }
            if syncInProgress {
                commitLock.wait()
                continue
            }
            // close() synced what was written before it released the log; a record it did not
            // cover is not acknowledged.
            if durabilityClosed { throw StoreError.closed }
            syncLogAsLeader(publishing: writtenSnapshot)
        }
    }

    /// At close (writer lock held): waits for a running leader's sync, then makes every record
    /// written so far durable with one last sync (when no sync has failed), so that committers
    /// still on their way to `waitUntilDurable` find their commit durable and never become a
    /// leader on a released log. After this, `waitUntilDurable` syncs nothing.
    func finishDurabilityWaits() {
        commitLock.lock()
        defer { commitLock.unlock() }
        while syncInProgress { commitLock.wait() }
        durabilityClosed = true
        if writtenTxid > durableTxid && syncFailure == nil { syncLogAsLeader(publishing: writtenSnapshot) }
    }
}
