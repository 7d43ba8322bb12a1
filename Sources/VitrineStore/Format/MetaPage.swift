// The meta pages: pages 0 and 1 of the data file, two slots written alternately by checkpoints.
// At open the valid slot with the higher checkpoint sequence wins; a torn or corrupt slot leaves
// the other one, which describes the previous checkpoint (still intact, see Checkpoint.swift).
//
//   offset size  field
//    0      8    magic "VITRINE\0"   (56 49 54 52 49 4E 45 00)
//    8      4    format version (3 when the log start at 96 is set, 2 otherwise, so that builds
//                before version 3 still open files no background checkpoint wrote; version 1
//                files are read, and rewritten as 2 or 3 by the next meta write)
//   12      4    page size (4096)
//   16      8    checkpoint sequence (1, 2, 3, ...; slot = sequence % 2)
//   24      8    txid: the last transaction contained in this checkpoint
//   32      8    page count: pages [0, pageCount) belong to the database
//   40      8    catalog root page (0: no tables)
//   48      8    free-list head page (0: no free-list pages)
//   56      8    free page count recorded in the free-list chain
//   64      8    log generation: the lowest log generation that may continue this checkpoint
//   72      8    next table id
//   80      8    database id: random, chosen at creation; the log header repeats it, so a
//                log left over from another database at the same path is never replayed
//   88      8    log salt: the random salt of the log generation named at 64 (version 2; 0 in a
//                version-1 page, whose log records carry no salt). Every record that continues
//                this checkpoint carries it, so a log from a diverged copy of the database
//                (same id, generation and txids) is told apart and never replayed
//   96      8    log start (version 3): the file offset of the first log record that continues
//                this checkpoint, when it is not the generation's first record (a background
//                checkpoint, taken while the generation went on: Checkpoint.swift); 0 means
//                the generation's first record (offset 4096). Versions 1 and 2: 0
//  104   3988    zero
// 4092      4    CRC-32C of bytes [0, 4092)
//
// Range checks at decode, after the checksum (a page that passes them may be hostile, crafted or
// written by a buggy copy, so nothing is used before it is bounded): checkpoint sequence, txid
// and log generation below 2^62 (`counterLimit`), so that adding to them never overflows;
// page count in [2, 2^40]; catalog root and free-list head 0 or in [2, page count); free page
// count at most the page count; next table id in [1, 2^32]; log start 0 or in [4096, 2^40). A
// slot that fails them is damaged.

enum MetaPage {
    static let magic: [UInt8] = [0x56, 0x49, 0x54, 0x52, 0x49, 0x4E, 0x45, 0x00]
    /// The newest version written and read. Version 3 adds the log start (offset 96); a page
    /// whose log start is 0 is still written as version 2.
    static let formatVersion: UInt32 = 3
    /// The version of a page without a log start.
    static let versionWithoutLogStart: UInt32 = 2
    /// The largest log start (1 TiB of log: far beyond any generation).
    static let maxLogStart: Int64 = 1 << 40
    /// The oldest version still read: version 1 has no log salt (offset 88 is zero).
    static let oldestReadableVersion: UInt32 = 1
    static let checksumOffset = PageLayout.size - 4
    /// Checkpoint sequences, txids and log generations stay below this. Counting one a
    /// microsecond it is reached after 146,000 years; a value at or above it can only be
    /// hostile, and refusing it leaves every `+ 1` on them room to spare.
    static let counterLimit: UInt64 = 1 << 62
    /// Largest page count (4 PiB of pages).
    static let maxPageCount: UInt64 = 1 << 40
    /// Table ids are u32; the next one to hand out is at most 2^32 (after id 2^32 - 1).
    static let maxNextTableId: UInt64 = 1 << 32
}

/// The decoded contents of a meta page.
struct Meta: Equatable, Sendable {
    var checkpointSequence: UInt64
    var txid: UInt64
    var pageCount: UInt64
    var catalogRoot: PageNumber
    var freeListHead: PageNumber
    var freeCount: UInt64
    var logGeneration: UInt64
    var nextTableId: UInt64
    var databaseId: UInt64
    /// The salt of log generation `logGeneration` (0: none named; version-1 page, or a new file).
    var logSalt: UInt64 = 0
    /// Where the records that continue this checkpoint begin in generation `logGeneration`:
    /// 0 for its first record (`LogFormat.firstRecordOffset`), otherwise the offset of the
    /// record with txid `txid + 1` (a background checkpoint; version 3).
    var logStart: Int64 = 0

    /// The offset of the first record that continues this checkpoint.
    var firstRecordOffset: Int64 { logStart == 0 ? LogFormat.firstRecordOffset : logStart }

    static func initial(databaseId: UInt64) -> Meta {
        Meta(
            checkpointSequence: 1, txid: 0, pageCount: 2, catalogRoot: 0, freeListHead: 0,
            freeCount: 0, logGeneration: 1, nextTableId: 1, databaseId: databaseId)
    }

    var slot: PageNumber { checkpointSequence % 2 }

    func encode() -> [UInt8] {
        var b = PageBuilder(kind: .meta, pageNumber: 0, txid: 0)
        b.bytes = [UInt8](repeating: 0, count: PageLayout.size)
        b.setBytes(MetaPage.magic, at: 0)
        b.setU32(logStart == 0 ? MetaPage.versionWithoutLogStart : MetaPage.formatVersion, at: 8)
        b.setU32(UInt32(PageLayout.size), at: 12)
        b.setU64(checkpointSequence, at: 16)
        b.setU64(txid, at: 24)
        b.setU64(pageCount, at: 32)
        b.setU64(catalogRoot, at: 40)
        b.setU64(freeListHead, at: 48)
        b.setU64(freeCount, at: 56)
        b.setU64(logGeneration, at: 64)
        b.setU64(nextTableId, at: 72)
        b.setU64(databaseId, at: 80)
        b.setU64(logSalt, at: 88)
        b.setU64(UInt64(max(0, logStart)), at: 96)
        let crc = CRC32C.checksum(Array(b.bytes[0..<MetaPage.checksumOffset]))
        b.setU32(crc, at: MetaPage.checksumOffset)
        return b.bytes
    }

    enum DecodeResult {
        case valid(Meta)
        case wrongMagic
        case newerVersion(UInt32)
        case damaged(String)
    }

    static func decode(_ bytes: [UInt8]) -> DecodeResult {
        guard bytes.count >= PageLayout.size else { return .damaged("short page") }
        if Array(bytes[0..<8]) != MetaPage.magic { return .wrongMagic }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[o + $1]) << (8 * UInt32($1)) } }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } }
        // A newer version is reported only when the page checks out: a bit flip in the version
        // field of one slot must leave the other slot usable, not make the database unopenable.
        let version = u32(8)
        let stored = u32(MetaPage.checksumOffset)
        let computed = CRC32C.checksum(Array(bytes[0..<MetaPage.checksumOffset]))
        if stored != computed {
            return .damaged(
                "meta checksum mismatch (stored \(hex(stored)), computed \(hex(computed)))"
                    + (version > MetaPage.formatVersion ? ", version field \(version)" : ""))
        }
        if version > MetaPage.formatVersion { return .newerVersion(version) }
        if version == 0 { return .damaged("format version 0") }
        if u32(12) != UInt32(PageLayout.size) { return .damaged("page size \(u32(12)) is not \(PageLayout.size)") }
        let meta = Meta(
            checkpointSequence: u64(16), txid: u64(24), pageCount: u64(32), catalogRoot: u64(40),
            freeListHead: u64(48), freeCount: u64(56), logGeneration: u64(64), nextTableId: u64(72),
            databaseId: u64(80), logSalt: version >= 2 ? u64(88) : 0,
            logStart: version >= 3 ? Int64(clamping: u64(96)) : 0)
        if let reason = meta.rangeProblem { return .damaged(reason) }
        return .valid(meta)
    }

    /// Why a decoded meta page's fields cannot be used (see the range checks at the top), or nil.
    var rangeProblem: String? {
        let limit = MetaPage.counterLimit
        if checkpointSequence >= limit { return "checkpoint sequence \(checkpointSequence) out of range (limit \(limit))" }
        if txid >= limit { return "txid \(txid) out of range (limit \(limit))" }
        if logGeneration >= limit { return "log generation \(logGeneration) out of range (limit \(limit))" }
        if pageCount < 2 || pageCount > MetaPage.maxPageCount { return "page count \(pageCount) out of range" }
        if catalogRoot == 1 || (catalogRoot != 0 && catalogRoot >= pageCount) {
            return "catalog root \(catalogRoot) out of range"
        }
        if freeListHead == 1 || (freeListHead != 0 && freeListHead >= pageCount) {
            return "free-list head \(freeListHead) out of range"
        }
        if freeCount > pageCount { return "free page count \(freeCount) exceeds the page count \(pageCount)" }
        if nextTableId == 0 || nextTableId > MetaPage.maxNextTableId { return "next table id \(nextTableId) out of range" }
        if logStart != 0 && (logStart < LogFormat.firstRecordOffset || logStart >= MetaPage.maxLogStart) {
            return "log start \(logStart) out of range"
        }
        return nil
    }
}
