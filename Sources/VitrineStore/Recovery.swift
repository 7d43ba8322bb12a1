// Opening a database and recovering it.
//
//   1. Create the file if missing (written under a temporary name, synced, then linked to the
//      real name, so a crash never leaves a half-made database there and two processes racing
//      to create it end up with one file). The temporary name has a random suffix and is
//      created with O_EXCL | O_NOFOLLOW: nothing planted there (a symlink, or the file of a
//      process with the same pid in another container on a shared volume) is followed or
//      truncated. Lock it (flock on a descriptor of its own). The directory is synced once per
//      session before anything is made durable through its entries (the first commit's anchor,
//      a checkpoint, or a replay; Database.syncDirectoryOnce): the process that created the file
//      or the log may have died before syncing their entries, and commits acknowledged through
//      an entry a power cut can take away would be lost. Likewise the data file is synced once
//      per session before its first write to it, and before recovery cuts the log
//      (Database.ensureMetaPageDurable): a process killed between a meta page's write and its
//      fdatasync leaves the newest meta page in the page cache only. This session reads it; its
//      free list names pages of the older checkpoint's tree, its log makes the old log
//      redundant, and the slot the next meta page goes to holds the only durable meta page.
//      Writing any of those before the sync would leave a power cut nothing sound to fall
//      back to. Unless the log proves the meta page durable (step 4): a header of the generation
//      and salt a meta page with no log start names, or of a generation restarted after it, is
//      written only after that meta page's sync. A session that only reads syncs nothing.
//   2. Read both meta slots; keep the valid one with the higher checkpoint sequence. Neither
//      has our magic: not a database. Magic but a newer version: unsupported.
//   3. Check the file holds every page the meta counts; load the free-list chain.
//   4. Decide whether the log continues this checkpoint: same database id, base txid equal to
//      the meta's txid, and the generation and salt the meta page names. (A base above the
//      meta's txid means the newest meta page is lost: an error, never a silent rollback. The
//      same checkpoint with a generation or salt the file never named is the log of a diverged
//      copy: an error, since replaying it grafts foreign commits on and dropping it destroys
//      them. A damaged header does not hide records: the log is then scanned with the meta's
//      generation and salt.) A background checkpoint's meta page names a log start: its
//      generation's records after it begin there; and a log restarted after one is the next
//      generation, whose header names the meta page's salt as its previous salt (Checkpoint.swift).
//      If it does, re-execute each valid record in txid order from
//      meta.txid + 1, stopping at the first torn or stale one (the tail), unless a later intact
//      record says it was durable: damage in the middle of the log, an error naming its offset,
//      with nothing written. Format-1 files (no salt) follow the older rules.
//   5. If records of the generation the meta page names were replayed or adopted (from an
//      intact header; adopting: Adoption.swift, after a process crash in this boot, takes the
//      last record's state from its page summary instead of re-executing the records), that
//      generation continues: the log is synced, so the recovered records are durable before
//      anyone reads their state (WriteAheadLog.resume). The replayed pages are
//      written but not synced, like any commit's, and the meta page is unchanged: a crash
//      before the next checkpoint replays the same records again. The session's first write
//      transaction checkpoints before it begins (`checkpointBeforeNextWrite`), so its records
//      carry a salt of its own and diverged copies stay recognisable; an open that only reads
//      pays nothing. If anything else was replayed (a
//      damaged header, a generation found only in the records, a format-1 log), checkpoint:
//      the recovered state becomes the base and the log a new generation. Otherwise just start
//      a new log generation lazily (no I/O at open); the first commit names it in a meta page
//      before writing it (Database.anchorLogGeneration).

import Glibc

enum Recovery {
    struct OpenedFiles {
        var dataFile: StorageFile
        var pager: Pager
        var meta: Meta
        var allocator: PageAllocator
        var log: WriteAheadLog
        var logHeader: WriteAheadLog.Header?
        var lockDescriptor: Int32
    }

    static func logPath(for path: String) -> String { path + "-wal" }

    static func openFiles(path: String, options: DatabaseOptions) throws -> OpenedFiles {
        let fs = options.fileSystem
        if !fs.fileExists(path: path) { try create(path: path, fs: fs) }
        // The lock lives on a descriptor of its own: the map keeps the data file's open file
        // description alive until it is unmapped, and a flock on that description would
        // outlive close().
        let lockDescriptor = try Syscalls.open(path, flags: O_RDONLY)
        do {
            try Syscalls.lockExclusive(lockDescriptor, path: path)
        } catch {
            Syscalls.close(lockDescriptor)
            throw error
        }
        let dataFile: StorageFile
        do {
            dataFile = try fs.open(path: path, create: false)
        } catch {
            Syscalls.close(lockDescriptor)
            throw error
        }
        do {
            var size = try dataFile.size()
            if size == 0 {
                // An empty file (made by `touch`, say): make it a database in place.
                for page in initialMetaPages() { try dataFile.write(page.bytes, at: page.offset) }
                try dataFile.sync()
                size = try dataFile.size()
            }
            let meta = try readMeta(dataFile, size: size, path: path)
            let needed = Int64(meta.pageCount) * Int64(PageLayout.size)
            if size < needed { throw StoreError.truncatedFile(expectedBytes: needed, actualBytes: size) }
            let pager = try Pager(
                file: dataFile, initialPageCount: meta.pageCount, minimumMapBytes: options.minimumMapBytes,
                readAheadBytes: options.readAheadBytes)
            let mapping = try pager.ensureMapped(pageCount: meta.pageCount)
            _ = mapping
            // The free list is read on the first write, not here: opening costs the same
            // whatever the size of the file and of its free list (Database.loadFreeListIfNeeded).
            let allocator = PageAllocator(pageCount: meta.pageCount, free: [], chain: [])
            let logFile = try fs.open(path: logPath(for: path), create: true)
            let header: WriteAheadLog.Header?
            let log: WriteAheadLog
            do {
                header = try WriteAheadLog.readHeader(logFile)
                log = try WriteAheadLog(
                    file: logFile, databaseId: meta.databaseId, generation: meta.logGeneration,
                    salt: meta.logSalt, baseTxid: meta.txid, growthBytes: options.logGrowthBytes,
                    defersWrites: options.durability == .grouped, zeroFillsGrowth: options.durability != .relaxed,
                    limitStep: options.durability == .relaxed ? 0 : options.logLimitStep)
                // Durable modes write the log directly and synchronously: .full one record per
                // commit, .grouped one write per group (the leader's). .relaxed keeps cheap
                // buffered appends that its flusher syncs.
                if options.durability != .relaxed { logFile.useDirectWrites() }
            } catch {
                logFile.close()
                throw error
            }
            return OpenedFiles(
                dataFile: dataFile, pager: pager, meta: meta, allocator: allocator, log: log,
                logHeader: header, lockDescriptor: lockDescriptor)
        } catch {
            dataFile.close()
            Syscalls.close(lockDescriptor)
            throw error
        }
    }

    /// The two meta pages of a new database (sequence 0 in slot 0, sequence 1 in slot 1).
    static func initialMetaPages() -> [(offset: Int64, bytes: [UInt8])] {
        var id: UInt64 = 0
        while id == 0 { id = UInt64.random(in: 1...UInt64.max) }
        let meta = Meta.initial(databaseId: id)
        var zero = meta
        zero.checkpointSequence = 0
        return [(0, zero.encode()), (Int64(PageLayout.size), meta.encode())]
    }

    /// Creates the database file at `path` (step 1). If something is already there, another
    /// process created it first: fine, unless `exclusive`, which then throws `.io` with EEXIST.
    static func create(path: String, fs: any StorageFileSystem, exclusive: Bool = false) throws {
        var temporary = ""
        var file: StorageFile? = nil
        while file == nil {
            temporary = path + ".creating-\(getpid())-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            do {
                file = try fs.createNew(path: temporary)
            } catch StoreError.io(_, _, let code) where code == EEXIST {
                continue // one chance in 2^64 per try: try another name
            }
        }
        defer { unlink(temporary) }
        if let f = file {
            defer { f.close() }
            for page in initialMetaPages() { try f.write(page.bytes, at: page.offset) }
            try f.sync()
        }
        // link() fails if the name exists (a symlink included, which it does not follow):
        // whoever links first created the database.
        if link(temporary, path) != 0 {
            let code = errno
            if code != EEXIST || exclusive { throw StoreError.io(operation: "link", path: path, errno: code) }
        }
        try fs.syncDirectory(of: path)
    }

    static func readMeta(_ file: StorageFile, size: Int64, path: String) throws -> Meta {
        let twoPages = 2 * PageLayout.size
        guard size >= Int64(twoPages), let bytes = try file.readBytes(count: twoPages, at: 0) else {
            if let head = try file.readBytes(count: 8, at: 0), head == MetaPage.magic {
                throw StoreError.truncatedFile(expectedBytes: Int64(twoPages), actualBytes: size)
            }
            throw StoreError.notADatabase(path: path)
        }
        var best: Meta? = nil
        var sawMagic = false
        var problems: [String] = []
        for slot in 0..<2 {
            let page = Array(bytes[(slot * PageLayout.size)..<((slot + 1) * PageLayout.size)])
            switch Meta.decode(page) {
            case .valid(let m):
                sawMagic = true
                if m.slot != UInt64(slot) { problems.append("slot \(slot) holds sequence \(m.checkpointSequence)"); continue }
                if best == nil || m.checkpointSequence > best?.checkpointSequence ?? 0 { best = m }
            case .wrongMagic:
                problems.append("slot \(slot): no magic number")
            case .newerVersion(let v):
                throw StoreError.unsupportedFormatVersion(found: v, supported: MetaPage.formatVersion)
            case .damaged(let reason):
                sawMagic = true
                problems.append("slot \(slot): \(reason)")
            }
        }
        if let best {
            // Both slots valid but of different databases: one was copied in from elsewhere, and
            // trusting either could silently drop or overwrite the other's data.
            for slot in 0..<2 {
                let page = Array(bytes[(slot * PageLayout.size)..<((slot + 1) * PageLayout.size)])
                if case .valid(let m) = Meta.decode(page), m.databaseId != best.databaseId {
                    throw StoreError.corruptPage(
                        page: UInt64(slot),
                        reason:
                            "meta slots belong to different databases (ids \(String(m.databaseId, radix: 16)) and \(String(best.databaseId, radix: 16)))"
                    )
                }
            }
            return best
        }
        if !sawMagic { throw StoreError.notADatabase(path: path) }
        throw StoreError.corruptPage(page: 0, reason: "no valid meta page (" + problems.joined(separator: "; ") + ")")
    }

    /// Whether the meta slot other than `meta`'s holds a valid page of this database: if not,
    /// `meta` may be the fallback for a newer, damaged slot.
    static func otherMetaSlotIsValid(_ file: StorageFile, meta: Meta) -> Bool {
        let other = 1 - meta.slot
        guard let page = try? file.readBytes(count: PageLayout.size, at: Int64(other) * Int64(PageLayout.size)),
            case .valid(let m) = Meta.decode(page)
        else { return false }
        return m.slot == other && m.databaseId == meta.databaseId
    }

    static func loadFreeList(meta: Meta, pager: Pager, mapping: Mapping) throws -> (free: [PageNumber], chain: [PageNumber]) {
        var free: [PageNumber] = []
        var chain: [PageNumber] = []
        // One bit per page: 0 unseen, set once listed (as a chain page or an entry). A bitmap,
        // not a Set: opening a 1,000,000-product database with ~20,000 free pages spent most of
        // its 3 ms hashing them.
        var listed = [UInt64](repeating: 0, count: Int(min(meta.pageCount, 1 << 40) + 63) / 64)
        func list(_ page: PageNumber) -> Bool {
            let (word, bit) = (Int(page >> 6), UInt64(1) << (page & 63))
            if listed[word] & bit != 0 { return false }
            listed[word] |= bit
            return true
        }
        var p = meta.freeListHead
        while p != 0 {
            guard p < meta.pageCount, list(p) else {
                throw StoreError.corruptPage(page: p, reason: p < meta.pageCount ? "free-list chain loops" : "free-list page out of range")
            }
            let view = try pager.page(p, in: mapping, limit: meta.pageCount)
            guard view.kindByte == PageKind.freeList.rawValue else {
                throw StoreError.corruptPage(page: p, reason: "expected a free-list page, found kind \(view.kindByte)")
            }
            chain.append(p)
            for i in 0..<view.count {
                let e = view.u64(PageLayout.headerSize + 8 * i)
                guard e >= 2 && e < meta.pageCount else {
                    throw StoreError.corruptPage(page: p, reason: "free-list entry \(e) out of range")
                }
                guard list(e) else {
                    let reason = chain.contains(e) ? "free-list page also listed as free" : "free-list entry \(e) listed twice"
                    throw StoreError.corruptPage(page: p, reason: reason)
                }
                free.append(e)
            }
            p = view.next
            if p != 0 && p < meta.pageCount && listed[Int(p >> 6)] & (UInt64(1) << (p & 63)) != 0 && !chain.contains(p) {
                throw StoreError.corruptPage(page: p, reason: "free-list page also listed as free")
            }
        }
        if UInt64(free.count) != meta.freeCount {
            throw StoreError.corruptPage(
                page: meta.freeListHead, reason: "free list holds \(free.count) pages, meta says \(meta.freeCount)")
        }
        return (free, chain)
    }
}

extension Database {
    /// Reads the checkpoint's free list into the allocator, once, before anything allocates or
    /// reports free pages (writer lock held). Until then the allocator holds only the page
    /// count: a database that is only read never reads its free list.
    /// - Throws: `.corruptPage` for a damaged free list (each call retries).
    func loadFreeListIfNeeded() throws {
        if freeListLoaded { return }
        let (free, chain) = try Recovery.loadFreeList(meta: meta, pager: pager, mapping: writerMapping)
        allocator = PageAllocator(pageCount: allocator.pageCount, free: free, chain: chain)
        freeListLoaded = true
    }

    /// Syncs the directory holding the files, once per session, before the first thing made
    /// durable through their entries (writer lock held): see step 1 at the top.
    func syncDirectoryOnce() throws {
        if directorySynced { return }
        try options.fileSystem.syncDirectory(of: path)
        directorySynced = true
    }

    /// Syncs the directory once per session, and the data file unless the meta page this
    /// session works from is known durable, before this session's first write to the data file
    /// and before recovery cuts the log (writer lock held): a meta page a killed process wrote
    /// and never synced is durable before anything relies on it. See step 1 at the top.
    /// - Throws: `.io`, and the database is poisoned: a failed fdatasync cannot be retried (the
    ///   kernel may have dropped the pages), so nothing may go on as if the meta page were durable.
    func ensureMetaPageDurable() throws {
        try syncDirectoryOnce()
        if metaPageDurable { return }
        do { try pager.sync() } catch { poison(error); throw error }
        metaPageDurable = true
    }

    /// Replays the log if it continues the meta's checkpoint (see the steps at the top).
    func recover(logHeader: WriteAheadLog.Header?) throws {
        writer.lock()
        defer { writer.unlock() }
        // A meta page with a salt (format 2) names the one generation that continues it, and its
        // records carry the salt. Without one (format 1), the records carry none; nil generation:
        // the header cannot be trusted, take the generation of the first record of ours.
        let salted = meta.logSalt != 0
        var replayGeneration: UInt64? = salted ? meta.logGeneration : nil
        var replaySalt: UInt64? = salted ? meta.logSalt : nil
        var scanLog = true
        var highestGeneration = meta.logGeneration
        // The log's header is intact and is the very generation the meta page names (or the one
        // a background checkpoint's restart chained to it): after a replay the generation can
        // simply continue (no checkpoint needed).
        var headerNamedByMeta = false
        // Where the records after the checkpoint begin: the meta page's log start (a background
        // checkpoint's, in its generation), or the first record of a chained generation.
        var scanStart = meta.firstRecordOffset
        if let header = logHeader {
            if header.databaseId != meta.databaseId {
                // A header from another database (a stale log at this path, or damage): only
                // records tagged with our id (and salt) are replayed, as for a damaged header.
                highestGeneration = max(highestGeneration, header.generation)
            } else if salted && header.version >= 6 && header.previousSalt != 0 && header.previousSalt == meta.logSalt
                && header.generation == meta.logGeneration + 1 && header.baseTxid == meta.txid
            {
                // A background checkpoint's restart (Checkpoint.swift): the generation after the
                // one the meta page names, vouched for by the meta page's salt, holds every
                // record after the checkpoint, from its first record.
                headerNamedByMeta = true
                replayGeneration = header.generation
                replaySalt = header.salt
                scanStart = LogFormat.firstRecordOffset
                highestGeneration = header.generation
                // The restart follows the meta page's sync.
                metaPageDurable = true
            } else if meta.logStart != 0 && header.version >= 2 && header.generation == meta.logGeneration
                && header.salt == meta.logSalt && header.baseTxid <= meta.txid
            {
                // A background checkpoint taken while this generation went on: its records after
                // the checkpoint begin at the meta page's log start.
                headerNamedByMeta = true
                highestGeneration = header.generation
            } else if header.baseTxid > meta.txid {
                throw StoreError.corruptLog(
                    offset: 0,
                    reason:
                        "log continues txid \(header.baseTxid) but the database file stops at txid \(meta.txid) (its newest meta page is lost)"
                )
            } else if header.baseTxid == meta.txid && header.generation >= meta.logGeneration {
                if header.version == 1 && !salted {
                    replayGeneration = header.generation
                } else if header.version >= 2 && header.generation == meta.logGeneration && header.salt == meta.logSalt {
                    // The log this meta page names (log start 0: a background checkpoint's is
                    // taken above). Its header is written only after the meta page's sync (a
                    // checkpoint's, or an anchor's), so the meta page is durable.
                    headerNamedByMeta = true
                    metaPageDurable = true
                } else if header.version >= 2 && header.generation > meta.logGeneration
                    && !Recovery.otherMetaSlotIsValid(dataFile, meta: meta)
                {
                    // The newest meta page, which named this generation before its first record
                    // was written, is damaged; the slot we fell back to describes the same
                    // checkpoint (same txid), so the log still continues it.
                    replayGeneration = header.generation
                    replaySalt = header.salt
                    scanStart = LogFormat.firstRecordOffset
                } else {
                    // Same database, same checkpoint, but a generation or salt this file never
                    // named: the log of a diverged copy (files copied, then both written). Its
                    // commits were never made in this file; replaying them would graft them on,
                    // and dropping them (the next checkpoint starts the log over) would destroy the
                    // only copy of commits the other file acknowledged. Refuse.
                    throw StoreError.corruptLog(
                        offset: 0,
                        reason:
                            "the log belongs to another copy of this database: it holds generation \(header.generation) (salt \(String(header.salt, radix: 16))) after txid \(header.baseTxid), the database file names generation \(meta.logGeneration) (salt \(String(meta.logSalt, radix: 16))); put back this database's own log, or move this one aside to open the file as of its checkpoint"
                    )
                }
                highestGeneration = header.generation
            } else {
                // The log predates the checkpoint: everything in it is already applied.
                scanLog = false
                highestGeneration = max(highestGeneration, header.generation)
            }
        }
        // A damaged header after a background checkpoint's restart: the records after the
        // checkpoint are in the next generation, whose salt only that header named. Its first
        // record (txid meta.txid + 1, this database's, intact) names it too.
        if logHeader == nil && salted && meta.logStart != 0,
            let first = try WriteAheadLog.recordIdentity(
                log.file, at: LogFormat.firstRecordOffset, txid: meta.txid + 1, databaseId: meta.databaseId),
            first.generation == meta.logGeneration + 1
        {
            replayGeneration = first.generation
            replaySalt = first.salt
            scanStart = LogFormat.firstRecordOffset
            highestGeneration = first.generation
        }
        // After a background checkpoint's meta page, the next generation number may be in the
        // file already (a restart's copies, its header lost): never given to another.
        let generationFloor = meta.logStart != 0 ? meta.logGeneration + 1 : meta.logGeneration
        var replayed = 0
        var replayedEnd = LogFormat.firstRecordOffset
        // Adoption needs page summaries (version 3) that still describe the file: not after a
        // replay wrote pages for the same records (the header's flag, set below).
        let adoptable = headerNamedByMeta && (logHeader?.version ?? 0) >= 3 && logHeader?.replayedPages == false
        var markReplay = adoptable
        // The header's record limit bounds the damage search, if the header is the scanned
        // generation's own (same database, generation and salt).
        func recordLimit(generation: UInt64?, salt: UInt64?) -> Int64? {
            guard let header = logHeader, header.databaseId == meta.databaseId, header.generation == generation,
                header.salt == salt
            else { return nil }
            return header.recordLimit
        }
        // The generation and salt of the records after the checkpoint, when the header names
        // them (the meta page's, or a chained generation's).
        let continuedGeneration = replayGeneration ?? meta.logGeneration
        let continuedSalt = replaySalt ?? meta.logSalt
        if scanLog, adoptable,
            let adopted = try adoptCrashedSession(
                generation: continuedGeneration, salt: continuedSalt, from: scanStart,
                recordLimit: recordLimit(generation: continuedGeneration, salt: continuedSalt), logVersion: logHeader?.version ?? 0)
        {
            // A process crash in this boot: the last record's state is in the file already.
            replayed = adopted.records
            replayedEnd = adopted.end
            recoveryReport = RecoveryReport(method: .adopted, records: replayed)
        } else if scanLog {
            let generation = replayGeneration
            let salt = replaySalt
            replaying = true
            defer { replaying = false }
            // Records are re-executed in batches: one write transaction applies consecutive
            // records and commits as the last of them, so a page that many records change is
            // copied, sealed and written once per batch rather than once per record (a 32 MiB
            // log of 100-product transactions: 219 -> 167 ms). The final state is
            // the same: the operations are deterministic and applied in order. A batch ends once
            // it holds `options.replayBatchPages` dirty pages (4096: 16 MiB), bounding memory.
            var batch: WriteTransaction? = nil
            func commitBatch() throws {
                guard let tx = batch else { return }
                batch = nil
                defer { tx.recyclePages() }
                tx.close()
                _ = try commit(tx)
            }
            replayedEnd = try WriteAheadLog.scan(
                log.file, generation: generation, minimumGeneration: meta.logGeneration,
                salt: salt, firstTxid: meta.txid + 1, databaseId: meta.databaseId,
                recordLimit: recordLimit(generation: generation, salt: salt), from: scanStart
            ) { record in
                highestGeneration = max(highestGeneration, record.generation)
                if markReplay, let header = logHeader {
                    // Before the replay's first page write (an overflow value is written at
                    // its put): see WriteAheadLog.markReplayed.
                    try log.markReplayed(header)
                    markReplay = false
                }
                try loadFreeListIfNeeded()
                try ensureMetaPageDurable()
                let tx = batch ?? WriteTransaction(database: self, base: latest)
                batch = tx
                guard record.txid == latest.txid + 1 + UInt64(tx.replayedRecords) else {
                    throw StoreError.corruptLog(offset: record.endOffset, reason: "txid \(record.txid) out of sequence")
                }
                do {
                    for op in try record.operations() { try tx.apply(op) }
                } catch let error as StoreError where !error.isCorruption {
                    if case .io = error { throw error }
                    throw StoreError.corruptLog(
                        offset: record.endOffset, reason: "record for txid \(record.txid) cannot be applied: \(error)")
                }
                tx.finishReplayedRecord(txid: record.txid)
                replayed += 1
                if tx.dirty.count >= max(1, options.replayBatchPages) { try commitBatch() }
                return true
            }
            try commitBatch()
            if replayed > 0 { recoveryReport = RecoveryReport(method: .replayed, records: replayed) }
        }
        // After a replay of the generation the meta page names (the usual case), that generation
        // continues after its last valid record: the log is synced (WriteAheadLog.resume; no
        // record is ever appended to it, see there), and the replayed pages stay in the data file unsynced, as any
        // commit's do, until the next checkpoint; a crash before it replays the same records
        // again from the same base. No checkpoint, so recovery costs no data-file sync.
        if replayed > 0 && headerNamedByMeta && highestGeneration == continuedGeneration {
            do {
                try syncDirectoryOnce()
                try log.resume(generation: continuedGeneration, salt: continuedSalt, baseTxid: meta.txid, at: replayedEnd)
            } catch { poison(error); throw error }
            commitLock.lock()
            writtenTxid = latest.txid
            commitLock.unlock()
            markDurable(latest)
            checkpointBeforeNextWrite = true
            return
        }
        // Otherwise a new generation, not named by the meta page yet: the checkpoint after a
        // replay names its own; without a replay the first commit anchors it
        // (anchorLogGeneration), and until then nothing of it, not even its header, is written.
        if replayed > 0 {
            log.reset(
                generation: max(highestGeneration, generationFloor), salt: WriteAheadLog.newSalt(), baseTxid: meta.txid, anchored: false)
            try checkpointLocked()
        } else {
            log.reset(
                generation: max(highestGeneration, generationFloor) + 1, salt: WriteAheadLog.newSalt(), baseTxid: meta.txid,
                anchored: false)
        }
        // After an unclean stop the log may still hold records nobody replayed (a torn tail, or
        // records after one whose header never reached the disk). Cut them off, durably, so no
        // later generation can ever meet them. A clean close leaves 4096 bytes: nothing to do.
        if try log.file.size() > LogFormat.firstRecordOffset {
            do {
                try ensureMetaPageDurable()
                try log.shrink()
            } catch { poison(error); throw error }
        }
    }
}
