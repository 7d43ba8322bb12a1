// The write-ahead log file (`<database>-wal`): a header, then one record per committed
// transaction (layout in Format/LogRecord.swift and formats/write-ahead-log.md).
//
// The file is reused, not truncated (except to give space back at close): a checkpoint starts
// a new generation by rewriting the header, and new records overwrite old ones from offset 4096;
// stale records beyond the write position carry an older generation and are ignored. Reusing an already-written file keeps
// fdatasync cheap (no block allocation or size change to journal), so the file grows only when a
// generation needs more room than any before it, and it grows by writing zeros in large steps.
//
// Records are written in whole 4 KiB blocks from an aligned tail buffer that mirrors the file
// from the block holding the write position: each append rewrites the last, partial block (its
// earlier bytes unchanged, so a torn rewrite cannot damage records already there) plus any new
// blocks, with zeros after the record. Aligned writes let `.full` durability bypass the page
// cache (StorageFile.useDirectWrites), which makes the following fdatasync cheaper.
//
// Not thread-safe by itself: the database calls it with its writer lock held, except `sync`,
// which the group-commit leader calls alone.

import Glibc

final class WriteAheadLog: @unchecked Sendable {
    let file: StorageFile
    let databaseId: UInt64
    /// The generation new records carry.
    private(set) var generation: UInt64
    private(set) var baseTxid: UInt64
    /// A header not yet written: a new generation starts lazily, with the first record after
    /// it, so that one fdatasync makes both durable and an idle open or checkpoint writes nothing.
    private var headerPending = false
    /// Where the next record goes.
    private(set) var writeOffset: Int64 = LogFormat.firstRecordOffset
    /// Bytes the file holds from offset 0 (written, possibly zeros); never below the first
    /// record, so growth never zero-fills over the header.
    private var allocatedSize: Int64

    /// Smallest size the file grows to, and its growth step.
    let growthBytes: Int64

    private static let block = directWriteAlignment
    private static let tailCapacity = 64 << 10
    /// File bytes [tailStart, writeOffset) mirrored at the start of `tail`; zeros after them.
    private let tail = UnsafeMutableRawPointer.allocate(byteCount: tailCapacity, alignment: block)
    /// Block-aligned file offset of `tail`'s first byte.
    private var tailStart: Int64 = LogFormat.firstRecordOffset

    init(file: StorageFile, databaseId: UInt64, generation: UInt64, baseTxid: UInt64, growthBytes: Int64 = 4 << 20) throws {
        self.file = file
        self.growthBytes = max(64 << 10, growthBytes)
        self.databaseId = databaseId
        self.generation = generation
        self.baseTxid = baseTxid
        self.allocatedSize = max(try file.size(), LogFormat.firstRecordOffset)
        memset(tail, 0, Self.tailCapacity)
    }

    deinit { tail.deallocate() }

    /// Bytes of records in the current generation.
    var logBytes: Int64 { writeOffset - LogFormat.firstRecordOffset }

    static func encodeHeader(generation: UInt64, baseTxid: UInt64, databaseId: UInt64) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: LogFormat.headerSize + 4)
        h.replaceSubrange(0..<8, with: LogFormat.magic)
        h.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: LogFormat.version.littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: generation.littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: baseTxid.littleEndian, toByteOffset: 24, as: UInt64.self)
            raw.storeBytes(of: databaseId.littleEndian, toByteOffset: 32, as: UInt64.self)
        }
        let crc = CRC32C.checksum(Array(h[0..<LogFormat.headerSize]))
        h.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: LogFormat.headerSize, as: UInt32.self) }
        return h
    }

    /// Starts a new generation continuing the checkpoint at `baseTxid`. The header is written
    /// with the first record (see `headerPending`); until then the old header's records are
    /// all at or below the checkpoint, or of another base, and recovery ignores them.
    func reset(generation: UInt64, baseTxid: UInt64) {
        self.generation = generation
        self.baseTxid = baseTxid
        headerPending = true
        memset(tail, 0, Int(writeOffset - tailStart))
        writeOffset = LogFormat.firstRecordOffset
        tailStart = writeOffset
    }

    /// Writes the header block (header, then zeros up to the first record).
    private func writeHeader() throws {
        let header = Self.encodeHeader(generation: generation, baseTxid: baseTxid, databaseId: databaseId)
        try withUnsafeTemporaryAllocation(byteCount: Self.block, alignment: Self.block) { raw in
            let b = raw.baseAddress.unsafelyUnwrapped
            memset(b, 0, Self.block)
            header.withUnsafeBytes { h in if let hb = h.baseAddress { memcpy(b, hb, h.count) } }
            try file.write(UnsafeRawPointer(b), count: Self.block, at: 0)
        }
        headerPending = false
    }

    /// Writes a sealed record at the write position (not synced).
    func append(_ record: [UInt8]) throws {
        if headerPending { try writeHeader() }
        let end = writeOffset + Int64(record.count)
        if end > allocatedSize { try grow(toAtLeast: (end + Int64(Self.block) - 1) / Int64(Self.block) * Int64(Self.block)) }
        try record.withUnsafeBytes { raw in
            guard let source = raw.baseAddress else { return }
            var done = 0
            while done < raw.count {
                var fill = Int(writeOffset - tailStart)
                if fill > Self.tailCapacity - Self.block {
                    // Keep only the partial last block, at the front.
                    let keepFrom = fill / Self.block * Self.block
                    memmove(tail, tail + keepFrom, fill - keepFrom)
                    memset(tail + (fill - keepFrom), 0, keepFrom)
                    tailStart += Int64(keepFrom)
                    fill -= keepFrom
                }
                let n = min(Self.tailCapacity - fill, raw.count - done)
                memcpy(tail + fill, source + done, n)
                let from = fill / Self.block * Self.block
                let to = (fill + n + Self.block - 1) / Self.block * Self.block
                try file.write(UnsafeRawPointer(tail + from), count: to - from, at: tailStart + Int64(from))
                writeOffset += Int64(n)
                done += n
            }
        }
    }

    func sync() throws { try file.sync() }

    /// Gives back the file's space when it holds no records (after the checkpoint at close).
    func shrink() throws {
        guard writeOffset == LogFormat.firstRecordOffset else { return }
        if headerPending { try writeHeader() }
        try file.truncate(to: LogFormat.firstRecordOffset)
        try file.sync()
        allocatedSize = LogFormat.firstRecordOffset
    }

    private func grow(toAtLeast needed: Int64) throws {
        let step: Int64 = min(1 << 20, growthBytes)
        var target = max(needed, min(allocatedSize * 2, allocatedSize + (64 << 20)), growthBytes)
        target = (target + step - 1) / step * step
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

    // MARK: - Reading (recovery)

    struct Header {
        var generation: UInt64
        var baseTxid: UInt64
        var databaseId: UInt64
    }

    /// The header, or nil when the file is empty or its header is not valid (a log that was
    /// never written, or a torn first write: in both cases it holds no records that count).
    static func readHeader(_ file: StorageFile) throws -> Header? {
        guard let h = try file.readBytes(count: LogFormat.headerSize + 4, at: 0) else { return nil }
        guard Array(h[0..<8]) == LogFormat.magic else { return nil }
        let crc = h.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: LogFormat.headerSize, as: UInt32.self)) }
        guard crc == CRC32C.checksum(Array(h[0..<LogFormat.headerSize])) else { return nil }
        let version = h.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self)) }
        if version > LogFormat.version { throw StoreError.unsupportedFormatVersion(found: version, supported: LogFormat.version) }
        return h.withUnsafeBytes { raw in
            Header(generation: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                   baseTxid: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)),
                   databaseId: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 32, as: UInt64.self)))
        }
    }

    struct Record {
        var generation: UInt64
        var txid: UInt64
        var operations: [LogOperation]
        var endOffset: Int64
    }

    /// Reads records of `generation` starting at txid `firstTxid`, calling `body` for each valid
    /// one in order. Stops at the first record that is torn, of another generation or database,
    /// out of sequence or unparsable. Returns the offset just past the last valid record.
    /// With `generation` nil (the header is unusable), the first record's generation is taken if
    /// it is at least `minimumGeneration`.
    static func scan(_ file: StorageFile, generation wanted: UInt64?, minimumGeneration: UInt64 = 0,
                     firstTxid: UInt64, databaseId: UInt64,
                     _ body: (Record) throws -> Void) throws -> Int64 {
        let fileSize = try file.size()
        var generation = wanted ?? 0
        var offset = LogFormat.firstRecordOffset
        var expected = firstTxid
        while offset + Int64(LogFormat.recordHeaderSize) <= fileSize {
            guard let header = try file.readBytes(count: LogFormat.recordHeaderSize, at: offset) else { break }
            let tag = header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 28, as: UInt32.self)) }
            if tag != UInt32(truncatingIfNeeded: databaseId) { break }
            let (crc, length, gen, txid, opCount) = header.withUnsafeBytes { raw in
                (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                 Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                 UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
            }
            if wanted == nil && offset == LogFormat.firstRecordOffset && gen >= minimumGeneration { generation = gen }
            if gen != generation || txid != expected { break }
            let total = Int64(LogFormat.recordHeaderSize) + length
            if offset + total > fileSize { break }
            guard let record = try file.readBytes(count: Int(total), at: offset) else { break }
            let computed = record.withUnsafeBytes { CRC32C.checksum($0.baseAddress.unsafelyUnwrapped + 4, count: $0.count - 4) }
            if computed != crc { break }
            var reader = LogPayloadReader(bytes: record, start: LogFormat.recordHeaderSize)
            var operations: [LogOperation] = []
            var parsed = true
            for _ in 0..<opCount {
                guard let op = reader.next() else { parsed = false; break }
                operations.append(op)
            }
            if !parsed || reader.position != record.count {
                throw StoreError.corruptLog(offset: offset, reason: "record for txid \(txid) passed its checksum but does not parse")
            }
            try body(Record(generation: gen, txid: txid, operations: operations, endOffset: offset + total))
            offset += total
            expected += 1
        }
        return offset
    }
}
