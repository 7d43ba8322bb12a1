// The write-ahead log file (`<database>-wal`): a header, then one record per committed
// transaction (layout in Format/LogRecord.swift and formats/write-ahead-log.md).
//
// The file is reused, not truncated (except to give space back at close): a checkpoint starts
// a new generation (new number, new random salt) by rewriting the header, and new records
// overwrite old ones from offset 4096; stale records beyond the write position carry an older
// generation and are ignored. A generation is written only once a durable meta page names its
// number and salt (`anchored`), so a log is tied to one data file, not to a copy of it. Reusing an
// already-written file keeps fdatasync cheap (no block allocation or size change to journal), so
// the file grows only when a generation needs more room than any before it, and it grows in
// large steps: by writing zeros in the durable modes, by extending the file in `.relaxed`.
//
// Records are written in whole 4 KiB blocks from an aligned tail buffer that mirrors the file
// from the block holding the write position: each write rewrites the last, partial block (its
// earlier bytes unchanged, so a torn rewrite cannot damage records already there) plus any new
// blocks, with zeros after the last record. Aligned writes let durable modes bypass the page
// cache (StorageFile.useDirectWrites: O_DIRECT | O_DSYNC, durable when the write returns).
//
// Two ways to write:
// - `.full` and `.relaxed`: each append writes its blocks at once (under the writer lock).
// - `.grouped` (`defersWrites`): an append only copies the record into the tail buffer; the
//   group-commit leader's `sync()` writes everything appended so far in one write (`flush`),
//   outside the writer lock, while later commits keep appending. One direct, synchronous
//   write of a few blocks per group replaces a buffered write per commit plus an fdatasync
//   (~300 us with appends racing it). The buffer drops only blocks a flush has written; a
//   record that does not fit is written by its appender after flushing what precedes it.
//
// Locking: the writer lock orders appends, resets and shrinks; `bufferLock` guards the buffer
// and offsets against a concurrent flush; `flushLock` serializes flushes (and is taken before
// `bufferLock`), so a flush that began before a checkpoint's reset finishes before any flush of
// the new generation starts, and a stale block it writes is rewritten by the next one.

import Glibc

final class WriteAheadLog: @unchecked Sendable {
    let file: StorageFile
    let databaseId: UInt64
    /// The generation new records carry.
    private(set) var generation: UInt64
    private(set) var baseTxid: UInt64
    /// The current generation's salt (random, never 0), in its header and every record.
    private(set) var salt: UInt64
    /// The salt of the generation before, for one a background checkpoint's `restart` began
    /// (its header names it); 0 for one a meta page names.
    private(set) var previousSalt: UInt64 = 0
    /// Whether a durable meta page names the current generation and salt. Records (and the
    /// header) of a generation are written only once it is: the commit anchors the generation
    /// first (`Database.anchorLogGeneration`), so recovery can tie the log to the data file.
    private(set) var anchored: Bool
    /// A header not yet written: a new generation starts lazily, with the first record after
    /// it, so that one fdatasync makes both durable and an idle open or checkpoint writes nothing.
    private var headerPending = false
    /// Where the next record goes.
    private(set) var writeOffset: Int64 = LogFormat.firstRecordOffset
    /// Bytes the file holds from offset 0 (written, possibly zeros, or a hole from `.relaxed`
    /// growth); never below the first record, so growth never zero-fills over the header.
    private var allocatedSize: Int64

    /// Smallest size the file grows to, and its growth step.
    let growthBytes: Int64
    /// The largest growth step: a larger option is clamped (the step is zero-filled at once).
    static let maxGrowthBytes: Int64 = 64 << 20
    /// Appends are written by `flush` (group commit), not by `append`.
    let defersWrites: Bool
    /// Whether growth writes its zeros (durable modes) or only extends the file (`.relaxed`).
    let zeroFillsGrowth: Bool
    /// The header's record limit (format 4): no record of the generation ends past it. Raised
    /// (`raiseLimit`) before a record would cross it; the raised header reaches stable storage
    /// before anything past the old limit is written (`syncRaisedLimit`), so recovery's
    /// damage search reads at most up to it instead of to the end of a reused file.
    /// 0 (unknown: the search reads to the end of the file) when `limitStep` is 0.
    private(set) var recordLimit: Int64 = LogFormat.firstRecordOffset
    /// 0: no limit is kept (`.relaxed`, whose appends go through the page cache: a raise would
    /// be an fdatasync in the commit path, while the search it bounds reads a log the page
    /// cache still holds after a process crash, and after a power cut recovery re-executes
    /// the log anyway).
    let limitStep: Int64
    /// A generation's first limit: nothing written yet (0, unknown, when no limit is kept).
    private var initialLimit: Int64 { limitStep == 0 ? 0 : LogFormat.firstRecordOffset }
    /// Bumped at every change of the header's content: a flush marks the header written only
    /// if it wrote the latest one.
    private var headerRevision: UInt64 = 0
    /// A header of the current generation has been (or is being) written. A header written
    /// after that raises the limit of one already on disk, so it must be durable before the
    /// records past the old limit (`syncRaisedLimit`); before it, the header on disk is another
    /// generation's, whose limit says nothing about this one's records.
    private var headerIssued = false

    private static let block = directWriteAlignment
    private static let tailCapacity = 256 << 10
    /// File bytes [tailStart, writeOffset) mirrored at the start of `tail`; zeros after them.
    /// Anonymous mappings (page-aligned and zero-filled by the kernel, backed only once
    /// touched): allocating and zeroing 512 KiB at every open was a tenth of opening a database.
    private let tail: UnsafeMutableRawPointer
    /// Block-aligned file offset of `tail`'s first byte.
    private var tailStart: Int64 = LogFormat.firstRecordOffset
    /// Bytes of this generation before this offset are written (always `writeOffset` unless
    /// `defersWrites`).
    private var flushedOffset: Int64 = LogFormat.firstRecordOffset
    /// Bumped by `reset`: a flush that began before it must not count its bytes as written.
    private var epoch: UInt64 = 0
    /// Set by `resume`, cleared by `reset`: a continued generation is never appended to.
    private var resumed = false
    private let bufferLock = ConditionLock()
    private let flushLock = ConditionLock()
    /// A flush's private copy of the blocks it writes (flushLock held).
    private let flushCopy: UnsafeMutableRawPointer

    init(
        file: StorageFile, databaseId: UInt64, generation: UInt64, salt: UInt64, baseTxid: UInt64,
        growthBytes: Int64 = 4 << 20, defersWrites: Bool = false, zeroFillsGrowth: Bool = true,
        limitStep: Int64 = 128 << 10
    ) throws {
        self.file = file
        self.growthBytes = min(max(64 << 10, growthBytes), WriteAheadLog.maxGrowthBytes)
        self.databaseId = databaseId
        self.generation = generation
        self.salt = salt
        self.anchored = salt != 0
        self.baseTxid = baseTxid
        self.defersWrites = defersWrites
        self.zeroFillsGrowth = zeroFillsGrowth
        self.limitStep = limitStep <= 0 ? 0 : min(max(Int64(Self.block), limitStep), 64 << 20) / Int64(Self.block) * Int64(Self.block)
        self.allocatedSize = max(try file.size(), LogFormat.firstRecordOffset)
        guard let tail = Syscalls.mapAnonymous(length: Self.tailCapacity) else {
            throw StoreError.io(operation: "mmap", path: file.path, errno: errno)
        }
        guard let flushCopy = Syscalls.mapAnonymous(length: Self.tailCapacity) else {
            Syscalls.unmap(tail, length: Self.tailCapacity)
            throw StoreError.io(operation: "mmap", path: file.path, errno: errno)
        }
        self.tail = tail
        self.flushCopy = flushCopy
        recordLimit = initialLimit
    }

    deinit {
        Syscalls.unmap(tail, length: Self.tailCapacity)
        Syscalls.unmap(flushCopy, length: Self.tailCapacity)
    }

    /// Bytes of records in the current generation.
    var logBytes: Int64 { writeOffset - LogFormat.firstRecordOffset }

    /// A new generation's salt: random, never 0 (0 stands for "no salt", version 1).
    static func newSalt() -> UInt64 {
        var salt: UInt64 = 0
        while salt == 0 { salt = UInt64.random(in: 1...UInt64.max) }
        return salt
    }

    /// `flags`: bit 0, `LogFormat.replayedPagesFlag`. `recordLimit` 0: unknown. `previousSalt`:
    /// 0, or the salt of the generation a background checkpoint's restart continues.
    static func encodeHeader(
        generation: UInt64, baseTxid: UInt64, databaseId: UInt64, salt: UInt64, flags: UInt32 = 0, recordLimit: Int64,
        previousSalt: UInt64 = 0
    ) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: LogFormat.version6HeaderSize + 4)
        h.replaceSubrange(0..<8, with: LogFormat.magic)
        h.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: LogFormat.version.littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: flags.littleEndian, toByteOffset: 12, as: UInt32.self)
            raw.storeBytes(of: generation.littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: baseTxid.littleEndian, toByteOffset: 24, as: UInt64.self)
            raw.storeBytes(of: databaseId.littleEndian, toByteOffset: 32, as: UInt64.self)
            raw.storeBytes(of: salt.littleEndian, toByteOffset: 40, as: UInt64.self)
            raw.storeBytes(of: UInt64(max(0, recordLimit)).littleEndian, toByteOffset: 48, as: UInt64.self)
            raw.storeBytes(of: previousSalt.littleEndian, toByteOffset: 56, as: UInt64.self)
        }
        let crc = CRC32C.checksum(Array(h[0..<LogFormat.version6HeaderSize]))
        h.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: LogFormat.version6HeaderSize, as: UInt32.self) }
        return h
    }

    /// Starts a new generation continuing the checkpoint at `baseTxid`. The header is written
    /// with the first record (see `headerPending`); until then the old header's records are
    /// all at or below the checkpoint, or of another base, and recovery ignores them.
    /// `anchored`: a durable meta page already names `generation` and `salt` (a checkpoint's);
    /// otherwise the first commit must anchor it before appending.
    func reset(generation: UInt64, salt: UInt64, baseTxid: UInt64, anchored: Bool) {
        bufferLock.lock()
        defer { bufferLock.unlock() }
        self.generation = generation
        self.salt = salt
        self.anchored = anchored
        self.baseTxid = baseTxid
        headerPending = true
        headerRevision &+= 1
        recordLimit = initialLimit
        headerIssued = false
        resumed = false
        previousSalt = 0
        memset(tail, 0, Int(writeOffset - tailStart))
        writeOffset = LogFormat.firstRecordOffset
        tailStart = writeOffset
        flushedOffset = writeOffset
        epoch &+= 1
    }

    /// After recovery replayed (or adopted) this generation's records up to `end` (the offset
    /// just past the last valid one): continue the generation there instead of starting a new
    /// one, so that recovery needs no checkpoint (writer lock held, nothing appended yet). The
    /// log is synced, which makes the recovered records durable (a process killed in `.relaxed`
    /// mode may have left them only in the page cache) before any reader sees their state.
    ///
    /// Nothing after `end` is cut, and nothing may be appended: the session's first write
    /// checkpoints first (`Database.checkpointBeforeNextWrite`), and the next generation has its
    /// own number and salt, so a torn record or never-acknowledged intact ones after `end` can
    /// never be mistaken for a new record; a crash before that first write finds the very same
    /// log and recovers the same records again. (Cutting, an `ftruncate` of the zero-filled
    /// tail, was 2 ms of a 10 ms recovery.) So the tail buffer is not filled with the block
    /// holding `end` either (a read from the device, the log being written O_DIRECT), and
    /// `append` refuses to write until `reset` starts the next generation.
    /// - Throws: `.io`; the caller poisons the database.
    func resume(generation: UInt64, salt: UInt64, baseTxid: UInt64, at end: Int64) throws {
        flushLock.lock()
        defer { flushLock.unlock() }
        bufferLock.lock()
        defer { bufferLock.unlock() }
        self.generation = generation
        self.salt = salt
        self.baseTxid = baseTxid
        anchored = true
        headerPending = false
        writeOffset = end
        // The block holding `end`; the buffer does not mirror its bytes (zeros): no append
        // follows (`resumed`), and a flush has nothing past `flushedOffset` to write.
        tailStart = end / Int64(Self.block) * Int64(Self.block)
        flushedOffset = end
        epoch &+= 1
        resumed = true
        try file.sync()
    }

    /// Before a replay writes the first page of this generation's records (recovery, writer lock
    /// held): the header, otherwise unchanged, gets `LogFormat.replayedPagesFlag`, so that no
    /// later recovery adopts the records' page summaries (Adoption.swift): the replay's pages go
    /// to pages the checkpoint does not use, which may be the very pages the summaries name.
    /// No sync of its own: after a process crash the page cache holds it, and after a power cut
    /// the records' origin no longer matches anyway.
    func markReplayed(_ header: Header) throws {
        try writeHeader(
            Self.encodeHeader(
                generation: header.generation, baseTxid: header.baseTxid, databaseId: header.databaseId, salt: header.salt,
                flags: LogFormat.replayedPagesFlag, recordLimit: header.recordLimit ?? 0, previousSalt: header.previousSalt))
    }

    /// Writes the header block (header, then zeros up to the first record).
    private func writeHeader(_ header: [UInt8]) throws {
        try withUnsafeTemporaryAllocation(byteCount: Self.block, alignment: Self.block) { raw in
            let b = raw.baseAddress.unsafelyUnwrapped
            memset(b, 0, Self.block)
            header.withUnsafeBytes { h in if let hb = h.baseAddress { memcpy(b, hb, h.count) } }
            try file.write(UnsafeRawPointer(b), count: Self.block, at: 0)
        }
    }

    private var currentHeader: [UInt8] {
        Self.encodeHeader(
            generation: generation, baseTxid: baseTxid, databaseId: databaseId, salt: salt, recordLimit: recordLimit,
            previousSalt: previousSalt)
    }

    /// A background checkpoint's restart of the log (Checkpoint.swift; writer lock held, appends
    /// written at once: `.relaxed`). Once a meta page names the checkpoint at `baseTxid` and its
    /// log start `start` (the offset of record `baseTxid + 1` in the current generation) is
    /// durable, the records from `start` to the write position are copied, re-sealed with
    /// `generation` and `salt`, to the start of the file, and the generation's header follows,
    /// naming the current salt as its previous salt: recovery takes a generation whose previous
    /// salt, number and base are the meta page's salt, generation + 1 and txid for the one that
    /// continues it. In this order, so that whatever a crash leaves, one of the two holds
    /// every record after the checkpoint:
    ///   1. the copies, from offset 4096, only where they end before the block holding `start`
    ///      (the originals stay intact; otherwise nothing happens and false is returned);
    ///   2. fdatasync: the copies are durable before any header names them;
    ///   3. the header; fdatasync: it is durable before a new record can overwrite an original.
    /// Before 3, the old header leads recovery to the originals, from the meta page's log start.
    /// - Throws: `.io`, or `.corruptLog` when a record to copy does not check out (the caller
    ///   poisons the database).
    func restart(generation newGeneration: UInt64, salt newSalt: UInt64, baseTxid newBase: UInt64, carryingFrom start: Int64) throws
        -> Bool
    {
        let block = Int64(Self.block)
        let end = writeOffset
        guard !defersWrites, !resumed, !headerPending, start >= LogFormat.firstRecordOffset, start <= end,
            (LogFormat.firstRecordOffset + end - start + block - 1) / block * block <= start / block * block
        else { return false }
        var carried = try file.readBytes(count: Int(end - start), at: start) ?? []
        guard carried.count == Int(end - start) else { return false }
        // Re-seal each record for the new generation; each must be ours and intact.
        var k = 0
        var expected = newBase + 1
        while k < carried.count {
            guard carried.count - k >= LogFormat.recordHeaderSize else {
                throw StoreError.corruptLog(offset: start + Int64(k), reason: "record to carry over is cut short")
            }
            try carried.withUnsafeMutableBytes { raw in
                let r = raw.baseAddress.unsafelyUnwrapped + k
                let length = Int(UInt32(littleEndian: r.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
                let total = LogFormat.recordHeaderSize + length
                let oldGeneration = UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                let oldSalt = UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
                let txid = UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
                let durable = UInt64(littleEndian: r.loadUnaligned(fromByteOffset: 32, as: UInt64.self))
                let stored = UInt32(littleEndian: r.loadUnaligned(as: UInt32.self))
                guard total <= raw.count - k, oldGeneration == generation, oldSalt == salt, txid == expected,
                    CRC32C.checksum(UnsafeRawPointer(r + 4), count: total - 4) == stored
                else {
                    throw StoreError.corruptLog(
                        offset: start + Int64(k), reason: "record to carry over for txid \(expected) does not check out")
                }
                r.storeBytes(of: newGeneration.littleEndian, toByteOffset: 8, as: UInt64.self)
                r.storeBytes(of: newSalt.littleEndian, toByteOffset: 16, as: UInt64.self)
                r.storeBytes(of: max(durable, newBase).littleEndian, toByteOffset: 32, as: UInt64.self)
                let crc = CRC32C.checksum(UnsafeRawPointer(r + 4), count: total - 4)
                r.storeBytes(of: crc.littleEndian, as: UInt32.self)
                k += total
            }
            expected += 1
        }
        flushLock.lock()
        defer { flushLock.unlock() }
        bufferLock.lock()
        defer { bufferLock.unlock() }
        let previous = salt
        generation = newGeneration
        salt = newSalt
        baseTxid = newBase
        previousSalt = previous
        anchored = true
        headerRevision &+= 1
        recordLimit = initialLimit
        memset(tail, 0, Int(writeOffset - tailStart))
        writeOffset = LogFormat.firstRecordOffset
        tailStart = writeOffset
        flushedOffset = writeOffset
        epoch &+= 1
        // 1. The copies (no header: `headerPending` is false).
        headerPending = false
        try carried.withUnsafeBytes { try writeThroughTail($0) }
        // 2.
        try file.sync()
        // 3.
        headerIssued = true
        try writeHeader(currentHeader)
        try file.sync()
        return true
    }

    /// The meta page now durably names the current generation and salt (writer lock held).
    func markAnchored() {
        bufferLock.lock()
        anchored = true
        bufferLock.unlock()
    }

    /// Adds a sealed record at the write position. Not synced; with `defersWrites`, usually not
    /// written either until the next `sync()`.
    func append(_ record: [UInt8]) throws {
        if resumed {
            throw StoreError.corruptLog(offset: writeOffset, reason: "internal error: append to a generation recovery continued")
        }
        let end = writeOffset + Int64(record.count)
        if end > allocatedSize { try grow(toAtLeast: (end + Int64(Self.block) - 1) / Int64(Self.block) * Int64(Self.block)) }
        if limitStep > 0 && end > recordLimit { raiseLimit(toCover: end) }
        if defersWrites && record.count <= Self.tailCapacity / 2 {
            while true {
                bufferLock.lock()
                if copyIntoTail(record) {
                    bufferLock.unlock()
                    return
                }
                bufferLock.unlock()
                try flush() // writes what the buffer holds, so its blocks can be dropped
            }
        }
        flushLock.lock()
        defer { flushLock.unlock() }
        bufferLock.lock()
        defer { bufferLock.unlock() }
        try writePending()
        try record.withUnsafeBytes { try writeThroughTail($0) }
    }

    /// Copies `bytes` after the write position through the tail buffer, writing each stretch of
    /// whole blocks as it fills. flushLock and bufferLock held.
    private func writeThroughTail(_ bytes: UnsafeRawBufferPointer) throws {
        guard let source = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let fill = makeRoom()
            let n = min(Self.tailCapacity - fill, bytes.count - done)
            memcpy(tail + fill, source + done, n)
            writeOffset += Int64(n)
            done += n
            try writePending()
        }
    }

    /// Raises the header's record limit past `end` (writer lock held): the header is rewritten
    /// before the record is written (`syncRaisedLimit`). The new limit leaves room past `end`
    /// for `limitStep` or a quarter of the generation's records so far, whichever is more
    /// (rounded up to a block). Why both: after a crash, recovery reads from the last record
    /// to the limit from the device (the log is written `O_DIRECT`), so the room is what a
    /// recovery pays beyond the records (fixed 512 KiB steps read a whole 0.5 - 1 MiB behind
    /// 76 KiB of records: half the bench's recovery time); and each raise is a synchronous
    /// header write in the commit path, so the room grows with the generation, and a long one
    /// is raised about as often as with 512 KiB steps (17 times in 8 MiB of records, against
    /// 16; fixed 128 KiB steps: 63).
    private func raiseLimit(toCover end: Int64) {
        bufferLock.lock()
        defer { bufferLock.unlock() }
        let room = max(limitStep, (end - LogFormat.firstRecordOffset) / 4)
        let block = Int64(Self.block)
        recordLimit = (end + room + block - 1) / block * block
        headerPending = true
        headerRevision &+= 1
    }

    /// After writing a header that raises the limit of one already written: a direct write is
    /// on stable storage when it returns; a buffered one is synced here, before any record past
    /// the old limit can be written (else a power cut could keep such a record and the old
    /// header, and recovery's damage search would stop short of it).
    private func syncRaisedLimit(_ raised: Bool) throws {
        if raised && !file.usesDirectWrites { try file.sync() }
    }

    /// Deferred append: copies `record` after the buffered bytes if it fits once written blocks
    /// are dropped; false (nothing changed) if unwritten bytes are in the way. bufferLock held.
    private func copyIntoTail(_ record: [UInt8]) -> Bool {
        var fill = Int(writeOffset - tailStart)
        if fill + record.count > Self.tailCapacity {
            guard flushedOffset >= tailStart + Int64(fill / Self.block * Self.block) else { return false }
            fill = makeRoom(force: true)
            if fill + record.count > Self.tailCapacity { return false }
        }
        record.withUnsafeBytes { raw in
            if let source = raw.baseAddress { memcpy(tail + fill, source, raw.count) }
        }
        writeOffset += Int64(record.count)
        return true
    }

    /// Drops the buffer's whole blocks before the write position when it is nearly full (they
    /// must be written), keeping the partial last block at the front. Returns the fill.
    /// bufferLock held.
    @discardableResult
    private func makeRoom(force: Bool = false) -> Int {
        let fill = Int(writeOffset - tailStart)
        guard force || fill > Self.tailCapacity - Self.block else { return fill }
        let keepFrom = fill / Self.block * Self.block
        memmove(tail, tail + keepFrom, fill - keepFrom)
        memset(tail + (fill - keepFrom), 0, keepFrom)
        tailStart += Int64(keepFrom)
        return fill - keepFrom
    }

    /// Writes the pending header and the blocks from the one holding `flushedOffset` to the
    /// write position, from the buffer itself. flushLock and bufferLock held.
    private func writePending() throws {
        if headerPending {
            let raised = headerIssued
            headerIssued = true
            try writeHeader(currentHeader)
            try syncRaisedLimit(raised)
            headerPending = false
        }
        guard writeOffset > flushedOffset else { return }
        let from = Int(flushedOffset - tailStart) / Self.block * Self.block
        let to = (Int(writeOffset - tailStart) + Self.block - 1) / Self.block * Self.block
        try file.write(UnsafeRawPointer(tail + from), count: to - from, at: tailStart + Int64(from))
        flushedOffset = writeOffset
    }

    /// Writes everything appended so far (deferred mode), from a copy, so appends continue
    /// while the write runs. Serialized with other flushes.
    private func flush() throws {
        flushLock.lock()
        defer { flushLock.unlock() }
        bufferLock.lock()
        // Not the header of a generation no meta page names yet (a `sync()` before the
        // session's first commit): recovery would take it for a log of another copy, and for
        // proof that the anchor's meta page is durable (Recovery.swift, step 1).
        let header = headerPending && anchored ? currentHeader : nil
        let raise = header != nil && headerIssued
        let revision = headerRevision
        if header != nil { headerIssued = true }
        let end = writeOffset
        let start = flushedOffset / Int64(Self.block) * Int64(Self.block)
        let myEpoch = epoch
        let from = Int(start - tailStart)
        let to = (Int(end - tailStart) + Self.block - 1) / Self.block * Self.block
        let hasRecords = end > flushedOffset
        if hasRecords { memcpy(flushCopy, tail + from, to - from) }
        bufferLock.unlock()
        if let header {
            try writeHeader(header)
            try syncRaisedLimit(raise)
        }
        if hasRecords { try file.write(UnsafeRawPointer(flushCopy), count: to - from, at: start) }
        bufferLock.lock()
        if epoch == myEpoch {
            if end > flushedOffset { flushedOffset = end }
            if header != nil && headerRevision == revision { headerPending = false }
        }
        bufferLock.unlock()
    }

    /// Makes every appended record durable.
    func sync() throws {
        if defersWrites { try flush() }
        try file.sync()
    }

    /// At close: asks the kernel to read the header's block back into the page cache, in the
    /// background (a hint; nothing waits for it). Why: the durable modes write the log
    /// `O_DIRECT`, which leaves none of it cached, so the next open's first read of the header
    /// went to the device (0.25 ms in a trace here, where a cached one takes 0.01). The read
    /// now happens after this session rather than inside the next one's open. After a session
    /// that only read, the header is cached already and the call finds it so.
    func askForHeaderBeforeNextOpen() {
        guard file.usesDirectWrites else { return }
        Syscalls.adviseWillNeed(file.descriptor, offset: 0, length: Int(LogFormat.firstRecordOffset))
    }

    /// Gives back the file's space when it holds no records (after the checkpoint at close).
    func shrink() throws {
        flushLock.lock()
        defer { flushLock.unlock() }
        bufferLock.lock()
        defer { bufferLock.unlock() }
        guard writeOffset == LogFormat.firstRecordOffset else { return }
        // A generation no meta page names is never written, not even its header: recovery
        // would take it for a log of another copy of the database. The old header stays; the
        // truncation removes every record after it.
        if headerPending && anchored {
            // This generation's header is then on disk (and durable): a session that goes on
            // writing (after a bulk load, or an open whose replay checkpointed) raises the limit
            // of a header already written, which must be durable before the record past it.
            headerIssued = true
            try writeHeader(currentHeader)
            headerPending = false
        } else if try file.size() == LogFormat.firstRecordOffset {
            // Nothing to give back and nothing written (a session that only read): no sync.
            allocatedSize = LogFormat.firstRecordOffset
            return
        }
        try file.truncate(to: LogFormat.firstRecordOffset)
        try file.sync()
        allocatedSize = LogFormat.firstRecordOffset
    }

    private func grow(toAtLeast needed: Int64) throws {
        let step: Int64 = min(1 << 20, growthBytes)
        // Linear steps, not doubling: a generation holds at most `checkpointLogBytes` plus one
        // record, and doubling left up to twice that on disk (16 MiB for 8 MiB of records).
        var target = max(needed, allocatedSize / step * step + growthBytes)
        target = (target + step - 1) / step * step
        // Zeros written ahead are for synchronous appends: a durable write into blocks already
        // written changes no block map and no size, so its sync journals nothing. `.relaxed`
        // appends go through the page cache and are synced in the background, so the file is
        // only extended (a hole reads as zeros, like the written ones): a bulk load in `.relaxed`
        // spent a fifth of its time writing the zeros its records then overwrote.
        guard zeroFillsGrowth else {
            try file.truncate(to: target)
            allocatedSize = target
            return
        }
        let zeros = [UInt8](repeating: 0, count: Int(step))
        var offset = allocatedSize
        // Zero-fill from the current end; nothing below `allocatedSize` is touched.
        if offset % step != 0 {
            let head = Int(step - offset % step)
            try file.write(Array(zeros[0..<head]), at: offset)
            offset += Int64(head)
        }
        while offset < target {
            try file.write(zeros, at: offset)
            offset += step
        }
        allocatedSize = target
    }
}
