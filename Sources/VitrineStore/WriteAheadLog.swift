// The write-ahead log file (`<database>-wal`): a header, then one record per committed
// transaction (layout in Format/LogRecord.swift and formats/write-ahead-log.md).
//
// The file is reused, not truncated: a checkpoint starts a new generation by rewriting the
// header, and new records overwrite old ones from offset 4096; stale records beyond the write
// position carry an older generation and are ignored. Reusing an already-written file keeps
// fdatasync cheap (no block allocation or size change to journal), so the file grows only when a
// generation needs more room than any before it, and it grows by writing zeros in large steps.
//
// Not thread-safe by itself: the database calls it with its writer lock held, except `sync`,
// which the group-commit leader calls alone.

final class WriteAheadLog: @unchecked Sendable {
    let file: StorageFile
    private(set) var generation: UInt64
    private(set) var baseTxid: UInt64
    /// Where the next record goes.
    private(set) var writeOffset: Int64 = LogFormat.firstRecordOffset
    /// Bytes the file holds (written, possibly zeros).
    private var allocatedSize: Int64

    init(file: StorageFile, generation: UInt64, baseTxid: UInt64) throws {
        self.file = file
        self.generation = generation
        self.baseTxid = baseTxid
        self.allocatedSize = try file.size()
    }

    /// Bytes of records in the current generation.
    var logBytes: Int64 { writeOffset - LogFormat.firstRecordOffset }

    static func encodeHeader(generation: UInt64, baseTxid: UInt64) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: LogFormat.headerSize + 4)
        h.replaceSubrange(0..<8, with: LogFormat.magic)
        h.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: LogFormat.version.littleEndian, toByteOffset: 8, as: UInt32.self)
            raw.storeBytes(of: generation.littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: baseTxid.littleEndian, toByteOffset: 24, as: UInt64.self)
        }
        let crc = CRC32C.checksum(Array(h[0..<32]))
        h.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: 32, as: UInt32.self) }
        return h
    }

    /// Starts a new generation after a checkpoint at `baseTxid`. Not synced here: the next
    /// durable commit's fdatasync carries the header with it, and until then the old header's
    /// records all have txids <= baseTxid, which recovery skips.
    func reset(generation: UInt64, baseTxid: UInt64) throws {
        try file.write(Self.encodeHeader(generation: generation, baseTxid: baseTxid), at: 0)
        self.generation = generation
        self.baseTxid = baseTxid
        writeOffset = LogFormat.firstRecordOffset
    }

    /// Writes a sealed record at the write position (not synced).
    func append(_ record: [UInt8]) throws {
        let end = writeOffset + Int64(record.count)
        if end > allocatedSize { try grow(toAtLeast: end) }
        try file.write(record, at: writeOffset)
        writeOffset = end
    }

    func sync() throws { try file.sync() }

    private func grow(toAtLeast needed: Int64) throws {
        let step: Int64 = 1 << 20
        var target = max(needed, min(allocatedSize * 2, allocatedSize + (64 << 20)), 4 << 20)
        target = (target + step - 1) / step * step
        let zeros = [UInt8](repeating: 0, count: Int(step))
        var offset = allocatedSize
        // Zero-fill from the current end; the region before `writeOffset` is never touched.
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
    }

    /// The header, or nil when the file is empty or its header is not valid (a log that was
    /// never written, or a torn first write: in both cases it holds no records that count).
    static func readHeader(_ file: StorageFile) throws -> Header? {
        guard let h = try file.readBytes(count: LogFormat.headerSize + 4, at: 0) else { return nil }
        guard Array(h[0..<8]) == LogFormat.magic else { return nil }
        let crc = h.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 32, as: UInt32.self)) }
        guard crc == CRC32C.checksum(Array(h[0..<32])) else { return nil }
        return h.withUnsafeBytes { raw in
            Header(generation: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                   baseTxid: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
        }
    }

    struct Record {
        var txid: UInt64
        var operations: [LogOperation]
        var endOffset: Int64
    }

    /// Reads records of `generation` starting at txid `firstTxid`, calling `body` for each valid
    /// one in order. Stops at the first record that is torn, of another generation, out of
    /// sequence or unparsable. Returns the offset just past the last valid record.
    static func scan(_ file: StorageFile, generation: UInt64, firstTxid: UInt64,
                     _ body: (Record) throws -> Void) throws -> Int64 {
        let fileSize = try file.size()
        var offset = LogFormat.firstRecordOffset
        var expected = firstTxid
        while offset + Int64(LogFormat.recordHeaderSize) <= fileSize {
            guard let header = try file.readBytes(count: LogFormat.recordHeaderSize, at: offset) else { break }
            let (crc, length, gen, txid, opCount) = header.withUnsafeBytes { raw in
                (UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                 Int64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self))),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                 UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                 UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 24, as: UInt32.self)))
            }
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
            try body(Record(txid: txid, operations: operations, endOffset: offset + total))
            offset += total
            expected += 1
        }
        return offset
    }
}
