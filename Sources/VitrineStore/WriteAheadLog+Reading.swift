// Reading the write-ahead log at recovery: the header, the records of the generation that
// continues the checkpoint, and the check that tells damage in the middle of the log from a torn
// tail (layout in Format/LogRecord.swift; rules in formats/write-ahead-log.md sections 3, 6, 14).

import Glibc

extension WriteAheadLog {
    struct Header {
        var generation: UInt64
        var baseTxid: UInt64
        var databaseId: UInt64
        /// 0 in a version-1 header (no salt).
        var salt: UInt64
        var version: UInt32
        /// Version 3, flag bit 0: a replay wrote pages for these records, whose page summaries
        /// therefore no longer describe the data file (never adopted).
        var replayedPages = false
        /// Version 4: no record of this generation ends past this offset; nil when unknown.
        var recordLimit: Int64? = nil
        /// Version 6: the salt of the generation a background checkpoint's restart continued
        /// (0: none; the generation is then named by a meta page of its own).
        var previousSalt: UInt64 = 0
    }

    /// The header, or nil when the file is empty or its header is not valid (a log that was
    /// never written, or a torn first write: in both cases it holds no records that count).
    static func readHeader(_ file: StorageFile) throws -> Header? {
        // A version-1 log may be only 44 bytes long: read what there is of the 60.
        let size = try file.size()
        let wanted = Int(min(size, Int64(LogFormat.version6HeaderSize + 4)))
        guard wanted >= LogFormat.version1HeaderSize + 4, let h = try file.readBytes(count: wanted, at: 0) else { return nil }
        guard Array(h[0..<8]) == LogFormat.magic else { return nil }
        func u32(_ o: Int) -> UInt32 { h.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt32.self)) } }
        func u64(_ o: Int) -> UInt64 { h.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt64.self)) } }
        // The version decides where the checksum is; it is believed only once the checksum
        // agrees, so a flipped version bit reads as a damaged header, not as a newer format.
        // Versions 2 and 3 have 48 bytes of fields, versions 4 and 5 56 (the record limit at
        // 48), version 6 64 (the previous salt at 56); a later version is assumed to keep
        // version 6's first 68 bytes.
        let version = u32(8)
        let fields = LogFormat.headerFields(version: version)
        guard h.count >= fields + 4, u32(fields) == CRC32C.checksum(Array(h[0..<fields])) else { return nil }
        if version > LogFormat.version { throw StoreError.unsupportedFormatVersion(found: version, supported: LogFormat.version) }
        let header = Header(
            generation: u64(16), baseTxid: u64(24), databaseId: u64(32),
            salt: version <= 1 ? 0 : u64(40), version: max(version, 1),
            replayedPages: version >= 3 && u32(12) & LogFormat.replayedPagesFlag != 0,
            recordLimit: version >= 4 && u64(48) != 0 ? Int64(clamping: u64(48)) : nil,
            previousSalt: version >= 6 ? u64(56) : 0)
        // A header that checks out but counts beyond what any writer reaches is hostile (crafted,
        // or from a buggy copy), not torn: refused, so recovery never adds to such a value.
        for (name, value) in [("generation", header.generation), ("base txid", header.baseTxid)] where value >= MetaPage.counterLimit {
            throw StoreError.corruptLog(offset: 0, reason: "log header \(name) \(value) out of range (limit \(MetaPage.counterLimit))")
        }
        if header.version >= 2 && header.salt == 0 {
            throw StoreError.corruptLog(offset: 0, reason: "log header of version \(header.version) has salt 0")
        }
        return header
    }

    struct Record {
        var generation: UInt64
        var txid: UInt64
        var endOffset: Int64
        /// The record's bytes, header included; valid during the scan's call only.
        var bytes: ArraySlice<UInt8>
        var operationCount: UInt32
        /// Index in `bytes` of the first operation.
        var operationsStart: Int
        /// The page summary (version 3), or nil.
        var summary: PageSummary?

        /// The operations, decoded (the scan already checked that they parse).
        func operations() throws -> [LogOperation] {
            var reader = LogPayloadReader(bytes: bytes, start: operationsStart)
            var operations: [LogOperation] = []
            operations.reserveCapacity(Int(min(operationCount, 1 << 16)))
            for _ in 0..<operationCount {
                guard let op = reader.next() else {
                    throw StoreError.corruptLog(offset: endOffset, reason: "record for txid \(txid) passed its checksum but does not parse")
                }
                operations.append(op)
            }
            return operations
        }
    }

    /// Reads the log in large windows: one `pread` per MiB instead of two per record (a log of
    /// 27,000 small records took as many system calls as replaying them), into one buffer
    /// reused for the whole scan (a fresh MiB per window cost more in page faults than the copy).
    private struct WindowReader {
        let file: StorageFile
        let fileSize: Int64
        /// `window[0..<valid]` holds the file's bytes from `windowStart`.
        var window: [UInt8] = []
        var valid = 0
        var windowStart: Int64 = 0
        static let chunk = 1 << 20

        /// Where a refill stops unless the bytes asked for go past it: the header's record limit,
        /// when known. After a crash the log comes from the device (it is written `O_DIRECT`),
        /// and reading a whole chunk of the zeros of growth past the limit cost more than the
        /// records (1 MiB: 0.9 - 2.5 ms here, 128 KiB: 0.17 ms).
        let readEnd: Int64

        init(file: StorageFile, fileSize: Int64, readEnd: Int64? = nil) {
            self.file = file
            self.fileSize = fileSize
            self.readEnd = min(fileSize, readEnd ?? fileSize)
        }

        /// The bytes [offset, offset + count) of the file, or nil past its end. The slice is
        /// valid until the next call (drop it before: the buffer is refilled in place).
        mutating func bytes(at offset: Int64, count: Int) throws -> ArraySlice<UInt8>? {
            guard count >= 0, offset >= 0, offset <= fileSize - Int64(count) else { return nil }
            if offset < windowStart || offset + Int64(count) > windowStart + Int64(valid) {
                // Past the limit (bytes that straddle it): only what was asked for.
                let end = offset + Int64(count) <= readEnd ? readEnd : offset + Int64(count)
                let wanted = Int(min(Int64(max(Self.chunk, count)), end - offset))
                // Not zero-filled first: `pread` overwrites it, and only the `valid` bytes it
                // read are ever looked at (a megabyte of memset was a sixth of a recovery).
                if window.count < wanted { window = [UInt8](unsafeUninitializedCapacity: wanted) { _, n in n = wanted } }
                valid = 0
                let n = try window.withUnsafeMutableBytes { raw in
                    try file.read(into: raw.baseAddress.unsafelyUnwrapped, count: wanted, at: offset)
                }
                valid = n
                windowStart = offset
                guard n >= count else { return nil }
            }
            let start = Int(offset - windowStart)
            return window[start..<(start + count)]
        }
    }

    /// A record header's fields, in either format.
    private struct RecordHeader {
        var checksum: UInt32
        var length: Int64
        var generation: UInt64
        var salt: UInt64
        var txid: UInt64
        var durableTxid: UInt64
        var operationCount: UInt32
        var tag: UInt32

        /// `salted`: version 2 (48 bytes), otherwise version 1 (32 bytes, no salt).
        init(_ h: ArraySlice<UInt8>, salted: Bool) {
            func u32(_ o: Int) -> UInt32 {
                h.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
            }
            func u64(_ o: Int) -> UInt64 {
                h.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
            }
            checksum = u32(0)
            length = Int64(u32(4))
            generation = u64(8)
            if salted {
                salt = u64(16); txid = u64(24); durableTxid = u64(32); operationCount = u32(40); tag = u32(44)
            } else {
                salt = 0; txid = u64(16); durableTxid = 0; operationCount = u32(24); tag = u32(28)
            }
        }
    }

    /// The generation and salt of the intact record with txid `txid` of database `databaseId`
    /// at `offset`, if one is there (a salted record, checksum verified); nil otherwise.
    static func recordIdentity(_ file: StorageFile, at offset: Int64, txid: UInt64, databaseId: UInt64) throws -> (
        generation: UInt64, salt: UInt64
    )? {
        let fileSize = try file.size()
        var reader = WindowReader(file: file, fileSize: fileSize)
        let headerSize = LogFormat.recordHeaderSize
        guard let header = try reader.bytes(at: offset, count: headerSize).map({ RecordHeader($0, salted: true) }),
            header.tag == UInt32(truncatingIfNeeded: databaseId), header.txid == txid, header.salt != 0,
            header.generation < MetaPage.counterLimit, offset + Int64(headerSize) + header.length <= fileSize,
            let record = try reader.bytes(at: offset, count: headerSize + Int(header.length)),
            checksumAgrees(record, header.checksum)
        else { return nil }
        return (header.generation, header.salt)
    }

    private static func checksumAgrees(_ record: ArraySlice<UInt8>, _ checksum: UInt32) -> Bool {
        record.withUnsafeBytes { CRC32C.checksum($0.baseAddress.unsafelyUnwrapped + 4, count: $0.count - 4) } == checksum
    }

    /// Reads records of `generation` starting at txid `firstTxid`, calling `body` for each valid
    /// one in order, until it returns false (then the scan returns at once). Stops at the first
    /// record that is torn, of another generation or database, out of sequence or unparsable.
    /// Returns the offset just past the last valid record.
    /// `salt` nil: version-1 records (no salt); with `generation` nil (version 1, the header is
    /// unusable), the first record's generation is taken if it is at least `minimumGeneration`.
    /// `recordLimit`: the header's record limit, when the header is this generation's (format
    /// 4): the search for damage past the last valid record stops there. `start`: where the
    /// record with txid `firstTxid` begins (a meta page's log start; the first record offset
    /// otherwise).
    /// - Throws: `.corruptLog` for a record that passed its checksum but does not parse, a
    ///   record of this generation and txid with another salt (a log of a diverged copy), and
    ///   damage in the middle of the log: a version-2 record that ends the log although a later
    ///   intact record of the generation says it was durable (`damagedRecord`).
    @discardableResult
    static func scan(
        _ file: StorageFile, generation wanted: UInt64?, minimumGeneration: UInt64 = 0,
        salt: UInt64?, firstTxid: UInt64, databaseId: UInt64, recordLimit: Int64? = nil,
        from start: Int64 = LogFormat.firstRecordOffset, _ body: (Record) throws -> Bool
    ) throws -> Int64 {
        try scanReportingLaterRecords(
            file, generation: wanted, minimumGeneration: minimumGeneration, salt: salt, firstTxid: firstTxid,
            databaseId: databaseId, recordLimit: recordLimit, from: start, body
        ).end
    }

    /// `scan`, also telling whether an intact record of the generation lies past the last valid
    /// one (after a torn or missing record; only looked for when `salt` is given and the scan
    /// ran to the end of the valid records): the valid records are then not all the log holds,
    /// and the commits of the later ones may have written pages (Adoption.swift).
    static func scanReportingLaterRecords(
        _ file: StorageFile, generation wanted: UInt64?, minimumGeneration: UInt64 = 0,
        salt: UInt64?, firstTxid: UInt64, databaseId: UInt64, recordLimit: Int64? = nil,
        from start: Int64 = LogFormat.firstRecordOffset, _ body: (Record) throws -> Bool
    ) throws -> (end: Int64, laterRecords: Bool) {
        let fileSize = try file.size()
        let headerSize = salt == nil ? LogFormat.version1RecordHeaderSize : LogFormat.recordHeaderSize
        var generation = wanted ?? 0
        var offset = max(start, LogFormat.firstRecordOffset)
        var expected = firstTxid
        var reader = WindowReader(file: file, fileSize: fileSize, readEnd: recordLimit)
        while offset + Int64(headerSize) <= fileSize {
            // The header's slice ends here, before the record's read may refill the buffer.
            guard let header = try reader.bytes(at: offset, count: headerSize).map({ RecordHeader($0, salted: salt != nil) }) else { break }
            if header.tag != UInt32(truncatingIfNeeded: databaseId) { break }
            if wanted == nil && offset == start && header.generation >= minimumGeneration
                && header.generation < MetaPage.counterLimit
            {
                generation = header.generation
            }
            if header.generation != generation || header.txid != expected { break }
            let total = Int64(headerSize) + header.length
            if offset + total > fileSize { break }
            guard let record = try reader.bytes(at: offset, count: Int(total)), checksumAgrees(record, header.checksum) else { break }
            if let salt, header.salt != salt {
                // A generation's number is given one salt, named by the meta page before any
                // record of it is written: an intact record with our generation and txid but
                // another salt was written by a diverged copy of this database.
                throw StoreError.corruptLog(
                    offset: offset,
                    reason:
                        "record for txid \(header.txid) has salt \(hex64(header.salt)), the database file expects \(hex64(salt)): the log belongs to another copy of this database"
                )
            }
            let operationsStart = record.startIndex + headerSize
            var payload = LogPayloadReader(bytes: record, start: operationsStart)
            var parsed = true
            for _ in 0..<header.operationCount {
                guard payload.skipOperation() else { parsed = false; break }
            }
            // Version 3: the page summary follows the operations (salted records only).
            var summary: PageSummary? = nil
            if parsed && payload.position != record.endIndex {
                summary = salt == nil ? nil : PageSummary.decode(record[payload.position...])
                parsed = summary != nil
            }
            if !parsed {
                throw StoreError.corruptLog(offset: offset, reason: "record for txid \(header.txid) passed its checksum but does not parse")
            }
            let keepGoing = try body(
                Record(
                    generation: header.generation, txid: header.txid, endOffset: offset + total, bytes: record,
                    operationCount: header.operationCount, operationsStart: operationsStart, summary: summary))
            offset += total
            expected += 1
            if !keepGoing { return (offset, false) }
        }
        // No record of the generation ends past its header's record limit: a vouching record
        // is looked for up to there (the rest of a reused file is older generations' records).
        let searchEnd = min(fileSize, recordLimit ?? fileSize)
        guard let salt, offset < searchEnd else { return (offset, false) }
        let found = try vouchingRecord(
            &reader, from: offset, fileSize: searchEnd, generation: generation, salt: salt,
            missingTxid: expected, databaseId: databaseId)
        if let (at, txid) = found.vouching {
            throw StoreError.corruptLog(
                offset: offset,
                reason:
                    "damaged record for txid \(expected) at offset \(offset): the intact record for txid \(txid) at offset \(at), written after it, says it was durable; the log is damaged in the middle, not torn (formats/write-ahead-log.md section 6 says what to do)"
            )
        }
        return (offset, found.laterRecords)
    }

    /// Damage or a torn tail? Looks in [`from`, `fileSize`) (from where the valid prefix ends
    /// to the end of the file or the header's record limit) for an intact record of this generation and salt whose durable txid reaches `missingTxid`: it was
    /// sealed after the missing record was on stable storage, so no crash can have taken that
    /// record back. Returns its offset and txid, and whether any intact record of the
    /// generation was met (`laterRecords`: the whole range is searched when none vouches).
    /// Records are not aligned, so every byte offset
    /// is a candidate; `memchr` for a byte of the salt skips the zeros of growth quickly, and
    /// the full generation and salt (random, 64 bits) must match before a checksum is computed.
    private static func vouchingRecord(
        _ reader: inout WindowReader, from: Int64, fileSize: Int64, generation: UInt64, salt: UInt64,
        missingTxid: UInt64, databaseId: UInt64
    ) throws -> (vouching: (Int64, UInt64)?, laterRecords: Bool) {
        var laterRecords = false
        let saltOffset = 16, headerSize = LogFormat.recordHeaderSize
        // The salt is never 0: search for its first non-zero byte.
        var saltBytes = [UInt8](repeating: 0, count: 8)
        for k in 0..<8 { saltBytes[k] = UInt8(truncatingIfNeeded: salt >> (8 * UInt64(k))) }
        guard let pick = saltBytes.firstIndex(where: { $0 != 0 }) else { return (nil, false) }
        // Read through the scan's window (one buffer for the whole search: most of what follows
        // the last record is the zeros of growth, and fresh buffers per MiB cost more in page
        // faults and zeroing than the copy itself).
        let chunk = WindowReader.chunk
        var start = from // first record start not yet examined
        while start + Int64(headerSize) <= fileSize {
            let count = Int(min(Int64(chunk), fileSize - start))
            guard let bytes = try reader.bytes(at: start, count: count) else { return (nil, laterRecords) }
            let lastStart = count - headerSize // last record start whose header is in `bytes`
            var hits: [Int] = []
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress.unsafelyUnwrapped
                var i = saltOffset + pick
                while i <= lastStart + saltOffset + pick {
                    guard let found = memchr(base + i, Int32(saltBytes[pick]), lastStart + saltOffset + pick + 1 - i) else { break }
                    let at = base.distance(to: UnsafeRawPointer(found))
                    let r = at - saltOffset - pick
                    if raw.loadUnaligned(fromByteOffset: r + saltOffset, as: UInt64.self) == salt.littleEndian,
                        raw.loadUnaligned(fromByteOffset: r + 8, as: UInt64.self) == generation.littleEndian
                    {
                        hits.append(r)
                    }
                    i = at + 1
                }
            }
            let headers = hits.map { RecordHeader(bytes[(bytes.startIndex + $0)..<(bytes.startIndex + $0 + headerSize)], salted: true) }
            for (r, header) in zip(hits, headers) {
                let at = start + Int64(r)
                guard header.tag == UInt32(truncatingIfNeeded: databaseId), header.txid >= missingTxid,
                    at + Int64(headerSize) + header.length <= fileSize,
                    let record = try reader.bytes(at: at, count: headerSize + Int(header.length)),
                    checksumAgrees(record, header.checksum)
                else { continue }
                laterRecords = true
                if header.durableTxid >= missingTxid && header.durableTxid < header.txid { return ((at, header.txid), true) }
            }
            start += Int64(lastStart + 1)
        }
        return (nil, laterRecords)
    }
}

private func hex64(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
