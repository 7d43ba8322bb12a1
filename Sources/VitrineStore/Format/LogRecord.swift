// The write-ahead log's byte layout (the complete description is formats/write-ahead-log.md).
// The log is logical: a committed transaction is one record listing its key-level changes.
// Recovery re-executes them, in order, on top of the last checkpoint. All integers little-endian.
//
// Log header, at offset 0 (the rest of the first 4096 bytes is zero):
//    0   8  magic "VITRWAL\0"
//    8   4  format version (6; versions 1 to 5 are still read, see below)
//   12   4  flags (version 3 on; zero before): bit 0 set once a replay wrote pages for this
//           generation's records (their page summaries then no longer describe the data file,
//           and recovery never adopts them); other bits zero
//   16   8  generation (equal to the meta page's log generation when the log continues it)
//   24   8  base txid: the checkpoint's txid; the first record carries base + 1
//   32   8  database id (equal to the meta page's)
//   40   8  salt: random, chosen for each generation, never 0; named by the meta page before the
//           generation's first record is written, so a log of a diverged copy of the database
//           (same id, generation and txids) is recognised and never replayed
//   48   8  record limit (version 4): every record of this generation ends at or before this
//           offset. Raised before a record would cross it, leaving room past that record for
//           128 KiB or a quarter of the generation's records (formats/write-ahead-log.md
//           section 3; readers need only that no record ends past it), and the raised header is on
//           stable storage before any byte past the old limit is written, so recovery's search
//           for damage past the last valid record stops here. 0: unknown (the end of the file);
//           `.relaxed` always writes 0
//   56   8  previous salt (version 6): 0, or, for a generation a background checkpoint
//           started (Checkpoint.swift), the salt of the generation before it, which the meta page
//           names: such a generation is named by no meta page of its own until the next
//           checkpoint, and continues the meta page's checkpoint when its number is the meta
//           page's generation + 1, this field the meta page's salt and its base txid the meta
//           page's txid
//   64   4  CRC-32C of bytes [0, 64)
//
// Records, back to back from offset 4096:
//    0   4  CRC-32C of bytes [4, 48 + payload length): header rest and payload
//    4   4  payload length
//    8   8  generation (equal to the header's)
//   16   8  salt (equal to the header's)
//   24   8  txid (previous record's txid + 1)
//   32   8  durable txid: every record up to this txid was on stable storage when this one
//           was sealed (below txid). A later intact record vouching for an earlier damaged one
//           proves damage, not a torn tail (recovery then refuses to open)
//   40   4  operation count
//   44   4  database tag: the low 32 bits of the database id
//   48      payload: `operation count` operations:
//           1 put          u32 table id, u16 key length, u32 value length, key, value
//           2 delete       u32 table id, u16 key length, key
//           3 delete range u32 table id, u16 begin length, u16 end length, begin, end
//           4 create table u32 table id, u16 name length, name (UTF-8)
//           5 drop table   u32 table id
//           then, in version 3, the page summary: what the commit left in the data file, so that
//           recovery after a process crash can adopt that state instead of re-executing the
//           operations (Recovery.swift, "adopting"; System/PageCacheOrigin.swift):
//             0   8  catalog root after the commit
//             8   8  next table id after the commit
//            16   8  page count after the commit
//            24  40  origin of the writer: boot id (16 bytes, as two u64: the first and the last
//                    16 hexadecimal digits), data file device, inode, birth time in nanoseconds;
//                    all zero when unknown
//            64   4  A: pages the commit allocated and wrote (new tree and overflow pages)
//            68   4  F: pages of the previous state the commit stopped using
//            72  8A  the A page numbers, then 8F: the F page numbers
//            ..   8  (version 5) the page digest: the wrapping sum over the A pages of
//                    `PageSummary.digestTerm(page, its stored CRC-32C)`; a summary's length says
//                    whether it has one
//           A reader finds the summary where the operations end; a version-2 record has none.
//
// A record counts only if its checksum, generation, salt, database tag and txid all check out;
// the first one that does not ends the log (a torn tail, or older records from before the last
// reset) unless a later intact record of the generation vouches for it (damage: an error).
//
// Version 5 (read): as version 6 without the previous salt: a 56-byte header (CRC at 56).
// Version 4 (read): as version 5, but page summaries without the page digest.
// Version 3 (read): a 48-byte header without the record limit (CRC at 48); records as version 4.
// Version 2 (read): that header; records without the page summary; recovery re-executes them.
// Version 1 (read, for logs written by earlier builds, then replaced by a version-2 generation
// at the checkpoint that follows the replay): a 40-byte header without the salt (CRC at 40) and
// 32-byte record headers: 0 CRC of [4, 32 + length), 4 length, 8 generation, 16 txid,
// 24 operation count, 28 database tag.

enum LogFormat {
    static let magic: [UInt8] = Array("VITRWAL".utf8) + [0]
    static let version: UInt32 = 6
    /// Header flag (offset 12): a replay wrote pages for this generation's records.
    static let replayedPagesFlag: UInt32 = 1
    /// Bytes of header fields the header's checksum covers (the checksum follows them), in
    /// versions 2 and 3.
    static let headerSize = 48
    /// Version 4 adds the record limit (u64 at 48): 56 bytes of fields.
    static let version4HeaderSize = 56
    /// Version 6 adds the previous salt (u64 at 56): 64 bytes of fields.
    static let version6HeaderSize = 64
    /// Bytes of header fields in `version` (the checksum follows them).
    static func headerFields(version: UInt32) -> Int {
        version <= 1 ? version1HeaderSize : version <= 3 ? headerSize : version <= 5 ? version4HeaderSize : version6HeaderSize
    }
    static let firstRecordOffset: Int64 = 4096
    static let recordHeaderSize = 48
    /// Version 1 (no salt): header fields and record header sizes.
    static let version1HeaderSize = 40
    static let version1RecordHeaderSize = 32
}

enum LogOperation: Equatable {
    case put(table: UInt32, key: [UInt8], value: [UInt8])
    case delete(table: UInt32, key: [UInt8])
    case deleteRange(table: UInt32, begin: [UInt8], end: [UInt8])
    case createTable(table: UInt32, name: String)
    case dropTable(table: UInt32)
}

/// A version-3 record's page summary (layout at the top of the file).
struct PageSummary {
    var catalogRoot: PageNumber
    var nextTableId: UInt64
    var pageCount: UInt64
    /// nil when the writer could not know its origin (written as zeros).
    var origin: PageCacheOrigin?
    var allocated: [PageNumber]
    var freed: [PageNumber]
    /// The page digest of `allocated` (format 5 on; nil in older records): what the commit's
    /// pages hold, so that adoption can tell them from other images of the same page numbers
    /// and txid (a rolled-back transaction's overflow pages, say).
    var pageDigest: UInt64? = nil

    static let fixedSize = 72
    /// Bytes the page digest adds at the end of a summary.
    static let digestSize = 8

    /// One page's term of the page digest: the digest is the wrapping sum of the terms of the
    /// allocated pages (so their order does not matter). `checksum` is the page's stored CRC-32C
    /// (its bytes 0 - 3). The mix is SplitMix64's finalizer.
    static func digestTerm(page: PageNumber, checksum: UInt32) -> UInt64 {
        var h = (page &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(checksum)
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }

    func encode(into bytes: inout [UInt8]) {
        bytes.reserveCapacity(bytes.count + Self.fixedSize + 8 * (allocated.count + freed.count) + Self.digestSize)
        for v in [catalogRoot, nextTableId, pageCount] { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        if let origin {
            origin.encode(into: &bytes)
        } else {
            bytes.append(contentsOf: repeatElement(0, count: PageCacheOrigin.encodedSize))
        }
        for n in [allocated.count, freed.count] {
            withUnsafeBytes(of: UInt32(truncatingIfNeeded: n).littleEndian) { bytes.append(contentsOf: $0) }
        }
        for list in [allocated, freed] {
            for p in list { withUnsafeBytes(of: p.littleEndian) { bytes.append(contentsOf: $0) } }
        }
        if let pageDigest { withUnsafeBytes(of: pageDigest.littleEndian) { bytes.append(contentsOf: $0) } }
    }

    /// Decodes a summary that fills `bytes` exactly (with a page digest or without: the length
    /// tells), or nil.
    static func decode(_ bytes: ArraySlice<UInt8>) -> PageSummary? {
        guard bytes.count >= fixedSize else { return nil }
        return bytes.withUnsafeBytes { raw -> PageSummary? in
            func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
            func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))) }
            let a = u32(64), f = u32(68)
            let lists = fixedSize + 8 * (a + f)
            guard raw.count == lists || raw.count == lists + digestSize else { return nil }
            let origin = PageCacheOrigin(bootHigh: u64(24), bootLow: u64(32), device: u64(40), inode: u64(48), birthNanoseconds: u64(56))
            let zero = PageCacheOrigin(bootHigh: 0, bootLow: 0, device: 0, inode: 0, birthNanoseconds: 0)
            var allocated = [PageNumber](repeating: 0, count: a)
            var freed = [PageNumber](repeating: 0, count: f)
            for k in 0..<a { allocated[k] = u64(fixedSize + 8 * k) }
            for k in 0..<f { freed[k] = u64(fixedSize + 8 * (a + k)) }
            return PageSummary(
                catalogRoot: u64(0), nextTableId: u64(8), pageCount: u64(16), origin: origin == zero ? nil : origin,
                allocated: allocated, freed: freed, pageDigest: raw.count == lists ? nil : u64(lists))
        }
    }
}

/// Appends operations to a record under construction (the payload), and seals it.
struct LogRecordBuilder {
    private(set) var bytes: [UInt8] = []
    private(set) var operationCount: UInt32 = 0

    init() {
        bytes.reserveCapacity(512)
        bytes.append(contentsOf: repeatElement(0, count: LogFormat.recordHeaderSize))
    }

    /// A builder writing into `buffer`'s storage (emptied first), kept from an earlier record.
    init(reusing buffer: [UInt8]) {
        bytes = buffer
        bytes.removeAll(keepingCapacity: true)
        bytes.append(contentsOf: repeatElement(0, count: LogFormat.recordHeaderSize))
    }

    /// Hands the storage over for a later record; the builder is empty afterwards.
    mutating func takeBuffer() -> [UInt8] {
        var taken: [UInt8] = []
        swap(&taken, &bytes)
        operationCount = 0
        return taken
    }

    var isEmpty: Bool { operationCount == 0 }
    var byteCount: Int { bytes.count }

    /// Where the record stands: a savepoint truncates back to it when it rolls back.
    struct Mark {
        fileprivate let byteCount: Int
        fileprivate let operationCount: UInt32
    }

    var mark: Mark { Mark(byteCount: bytes.count, operationCount: operationCount) }

    /// Drops every operation appended since `mark`.
    mutating func truncate(to mark: Mark) {
        guard mark.byteCount <= bytes.count else { return }
        bytes.removeSubrange(mark.byteCount...)
        operationCount = mark.operationCount
    }

    private mutating func u16(_ v: Int) { bytes.append(UInt8(truncatingIfNeeded: v)); bytes.append(UInt8(truncatingIfNeeded: v >> 8)) }
    private mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func put(table: UInt32, key: [UInt8], value: [UInt8]) {
        // The 11 header bytes gathered first and appended once: ten one-field appends (each
        // checking capacity and uniqueness) cost a random-order load ~1% of its instructions.
        var header: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &header) { h in
            h.storeBytes(of: 1, toByteOffset: 0, as: UInt8.self)
            h.storeBytes(of: table.littleEndian, toByteOffset: 1, as: UInt32.self)
            h.storeBytes(of: UInt16(truncatingIfNeeded: key.count).littleEndian, toByteOffset: 5, as: UInt16.self)
            h.storeBytes(of: UInt32(value.count).littleEndian, toByteOffset: 7, as: UInt32.self)
        }
        withUnsafeBytes(of: header) { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<11])) }
        bytes.append(contentsOf: key)
        bytes.append(contentsOf: value)
        operationCount += 1
    }

    mutating func delete(table: UInt32, key: [UInt8]) {
        bytes.append(2); u32(table); u16(key.count); bytes.append(contentsOf: key)
        operationCount += 1
    }

    mutating func deleteRange(table: UInt32, begin: [UInt8], end: [UInt8]) {
        bytes.append(3); u32(table); u16(begin.count); u16(end.count)
        bytes.append(contentsOf: begin); bytes.append(contentsOf: end)
        operationCount += 1
    }

    mutating func createTable(table: UInt32, name: String) {
        let n = Array(name.utf8)
        bytes.append(4); u32(table); u16(n.count); bytes.append(contentsOf: n)
        operationCount += 1
    }

    mutating func dropTable(table: UInt32) {
        bytes.append(5); u32(table)
        operationCount += 1
    }

    /// Fills in the header and checksum; the result is ready to append to the log.
    /// `durableTxid`: every record up to it is on stable storage now (clamped below `txid`).
    /// `summary`: the page summary appended after the operations (version 3); nil for none.
    mutating func seal(
        generation: UInt64, salt: UInt64, txid: UInt64, durableTxid: UInt64, databaseId: UInt64, summary: PageSummary? = nil
    ) -> [UInt8] {
        summary?.encode(into: &bytes)
        let payload = UInt32(bytes.count - LogFormat.recordHeaderSize)
        let durable = txid == 0 ? 0 : min(durableTxid, txid - 1)
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: payload.littleEndian, toByteOffset: 4, as: UInt32.self)
            raw.storeBytes(of: generation.littleEndian, toByteOffset: 8, as: UInt64.self)
            raw.storeBytes(of: salt.littleEndian, toByteOffset: 16, as: UInt64.self)
            raw.storeBytes(of: txid.littleEndian, toByteOffset: 24, as: UInt64.self)
            raw.storeBytes(of: durable.littleEndian, toByteOffset: 32, as: UInt64.self)
            raw.storeBytes(of: operationCount.littleEndian, toByteOffset: 40, as: UInt32.self)
            raw.storeBytes(of: UInt32(truncatingIfNeeded: databaseId).littleEndian, toByteOffset: 44, as: UInt32.self)
            let crc = CRC32C.checksum(raw.baseAddress.unsafelyUnwrapped + 4, count: raw.count - 4)
            raw.storeBytes(of: crc.littleEndian, toByteOffset: 0, as: UInt32.self)
        }
        return bytes
    }
}

/// Reads operations from a record's payload. Every read is bounds-checked: a payload that
/// passed its checksum but does not parse is reported, never trusted.
struct LogPayloadReader {
    let bytes: ArraySlice<UInt8>
    /// An index of `bytes`.
    var position: Int

    init(bytes: ArraySlice<UInt8>, start: Int) {
        self.bytes = bytes
        self.position = start
    }

    private mutating func take(_ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0, position <= bytes.endIndex - n else { return nil }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    private mutating func skip(_ n: Int) -> Bool {
        guard n >= 0, position <= bytes.endIndex - n else { return false }
        position += n
        return true
    }

    private mutating func u8() -> UInt8? { take(1)?.first }
    private mutating func u16() -> Int? {
        guard let s = take(2) else { return nil }
        return Int(s[s.startIndex]) | Int(s[s.startIndex + 1]) << 8
    }
    private mutating func u32() -> UInt32? {
        guard let s = take(4) else { return nil }
        return s.enumerated().reduce(0) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
    }

    mutating func next() -> LogOperation? {
        guard let code = u8(), let table = u32() else { return nil }
        switch code {
        case 1:
            guard let kl = u16(), let vl = u32(), vl <= UInt32(Limits.maxValueLength),
                let k = take(kl), let v = take(Int(vl))
            else { return nil }
            return .put(table: table, key: Array(k), value: Array(v))
        case 2:
            guard let kl = u16(), let k = take(kl) else { return nil }
            return .delete(table: table, key: Array(k))
        case 3:
            guard let bl = u16(), let el = u16(), let b = take(bl), let e = take(el) else { return nil }
            return .deleteRange(table: table, begin: Array(b), end: Array(e))
        case 4:
            guard let nl = u16(), let n = take(nl), let name = String(validating: Array(n), as: UTF8.self) else { return nil }
            return .createTable(table: table, name: name)
        case 5:
            return .dropTable(table: table)
        default:
            return nil
        }
    }

    /// Steps over one operation, checking its shape as `next` does but copying nothing (the
    /// scan that only looks for the page summary). A table name's UTF-8 is checked by `next`.
    mutating func skipOperation() -> Bool {
        guard let code = u8(), skip(4) else { return false }
        switch code {
        case 1:
            guard let kl = u16(), let vl = u32(), vl <= UInt32(Limits.maxValueLength) else { return false }
            return skip(kl) && skip(Int(vl))
        case 2, 4:
            guard let kl = u16() else { return false }
            return skip(kl)
        case 3:
            guard let bl = u16(), let el = u16() else { return false }
            return skip(bl) && skip(el)
        case 5:
            return true
        default:
            return false
        }
    }
}
