// The page: the unit of the data file. All integers little-endian.
//
// Every page except the two meta pages (see MetaPage.swift) starts with this 32-byte header:
//
//   offset size  field
//    0      4    checksum   CRC-32C of bytes [4, 4096)
//    4      1    kind       2 = branch, 3 = leaf, 4 = overflow, 5 = free-list
//    5      1    flags      0
//    6      2    count      cells (branch, leaf) or entries (free-list); 0 for overflow
//    8      8    page number of this page (catches misdirected writes and swapped pages)
//   16      8    txid       the transaction that wrote the page
//   24      8    next       overflow / free-list: next page of the chain, 0 at the end;
//                           branch, leaf: 0
//
// Branch and leaf pages are slotted: a cell-pointer array of `count` u16 offsets starts at byte
// 32, sorted by key; cell contents are packed from the end of the page downwards.
//
//   +--------+---------------------+-------- free --------+---------------------------+
//   | header | ptr0 ptr1 ... ptrN-1 |                      | cellN-1 ...  cell1  cell0 |
//   +--------+---------------------+----------------------+---------------------------+
//
//   leaf cell:    u16 keyLength | u32 valueInfo | key | value (inline) or u64 first overflow page
//                 valueInfo: bit 31 set = value on overflow pages; bits 0-30 = value length
//   branch cell:  u16 keyLength | u64 child page | key
//                 Child i holds keys >= key i and < key i+1. Key 0 is stored empty and never
//                 compared (it stands for "everything below key 1").
//
// Overflow page: header, then up to 4064 value bytes from byte 32; a value of L bytes spans
// ceil(L / 4064) pages chained by `next`. Free-list page: header, then `count` u64 page numbers.
//
// Invariants: a page is written once and never modified while any snapshot can reach it (copy-
// on-write); the checksum is verified, together with every cell's bounds, before the first read
// of a page in a process, so accessors below may trust offsets.

import CPrefetch
import Glibc

enum PageKind: UInt8 {
    case meta = 1
    case branch = 2
    case leaf = 3
    case overflow = 4
    case freeList = 5
}

typealias PageNumber = UInt64

enum PageLayout {
    static let size = 4096
    static let headerSize = 32
    static let capacity = size - headerSize // 4064 bytes for pointers + cells
    static let leafCellHeader = 6
    static let branchCellHeader = 10
    /// No cell may be larger than this, so any page holds at least three cells and a split
    /// of an over-full node always yields two halves that fit.
    static let maxCellSize = 1352
    static let overflowPayload = size - headerSize
    static let freeListEntries = (size - headerSize) / 8
    static let overflowFlag: UInt32 = 1 << 31

    static func leafCellSize(keyLength: Int, inlineValueLength: Int?) -> Int {
        2 + leafCellHeader + keyLength + (inlineValueLength ?? 8)
    }

    static func branchCellSize(keyLength: Int) -> Int { 2 + branchCellHeader + keyLength }

    /// Whether a value of this length is stored inline next to a key of this length.
    static func storesInline(keyLength: Int, valueLength: Int) -> Bool {
        leafCellSize(keyLength: keyLength, inlineValueLength: valueLength) <= maxCellSize
    }

    static func overflowPageCount(valueLength: Int) -> Int {
        max(1, (valueLength + overflowPayload - 1) / overflowPayload)
    }
}

/// A read-only view of one page in the map (or in a buffer the pager owns).
/// Only the pager hands these out, after verification.
struct PageView {
    let base: UnsafeRawPointer

    @inline(__always) func u16(_ at: Int) -> Int { Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
    @inline(__always) func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    @inline(__always) func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }

    var storedChecksum: UInt32 { u32(0) }
    var kindByte: UInt8 { base.load(fromByteOffset: 4, as: UInt8.self) }
    var isLeaf: Bool { kindByte == PageKind.leaf.rawValue }
    var count: Int { u16(6) }
    var pageNumber: UInt64 { u64(8) }
    var txid: UInt64 { u64(16) }
    var next: UInt64 { u64(24) }

    @inline(__always) func cellOffset(_ i: Int) -> Int { u16(PageLayout.headerSize + 2 * i) }

    /// Asks the CPU for the cache line where cell `i` starts (a hint for scans: Table.swift).
    @inline(__always) func prefetchCell(_ i: Int) { vitrine_prefetch(base + cellOffset(i)) }

    /// Key i as a pointer and length into the page.
    @inline(__always) func key(_ i: Int) -> (UnsafeRawPointer, Int) {
        let o = cellOffset(i)
        let headerLen = isLeaf ? PageLayout.leafCellHeader : PageLayout.branchCellHeader
        return (base + o + headerLen, u16(o))
    }

    func keyBytes(_ i: Int) -> [UInt8] {
        let (p, n) = key(i)
        return [UInt8](UnsafeRawBufferPointer(start: p, count: n))
    }

    /// Branch only: child page i.
    @inline(__always) func child(_ i: Int) -> PageNumber { u64(cellOffset(i) + 2) }

    /// Leaf only: (is on overflow pages, length, pointer to inline bytes or to the u64 page number).
    @inline(__always) func value(_ i: Int) -> (overflow: Bool, length: Int, pointer: UnsafeRawPointer) {
        let o = cellOffset(i)
        let info = u32(o + 2)
        let p = base + o + PageLayout.leafCellHeader + u16(o)
        return ((info & PageLayout.overflowFlag) != 0, Int(info & ~PageLayout.overflowFlag), p)
    }

    func overflowStart(_ i: Int) -> PageNumber {
        let v = value(i)
        return UInt64(littleEndian: v.pointer.loadUnaligned(as: UInt64.self))
    }

    /// Index of the first cell whose key is >= `key` (count if none). Keys compare bytewise.
    @inline(__always) func lowerBound(_ key: UnsafeRawBufferPointer) -> (index: Int, exact: Bool) {
        var lo = 0
        var hi = count
        let headerLen = isLeaf ? PageLayout.leafCellHeader : PageLayout.branchCellHeader
        while lo < hi {
            let mid = (lo + hi) >> 1
            let o = cellOffset(mid)
            let c = compareBytes(base + o + headerLen, u16(o), key)
            if c < 0 { lo = mid + 1 } else if c > 0 { hi = mid } else { return (mid, true) }
        }
        return (lo, false)
    }

    /// Branch only: the child index to descend into for `key`.
    @inline(__always) func childIndex(for key: UnsafeRawBufferPointer) -> Int {
        // Find the last cell i >= 1 with key_i <= key; cell 0 covers everything below key 1.
        var lo = 1
        var hi = count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let o = cellOffset(mid)
            let c = compareBytes(base + o + PageLayout.branchCellHeader, u16(o), key)
            if c <= 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo - 1
    }

    /// Structural check of a page just read: checksum, kind, self page number and (for
    /// branch and leaf pages) that every cell lies inside the page. Returns a reason or nil.
    static func validate(_ base: UnsafeRawPointer, pageNumber: PageNumber) -> String? {
        let view = PageView(base: base)
        let computed = CRC32C.checksum(base + 4, count: PageLayout.size - 4)
        if computed != view.storedChecksum {
            return "checksum mismatch (stored \(hex(view.storedChecksum)), computed \(hex(computed)))"
        }
        return validateLayout(base, pageNumber: pageNumber)
    }

    /// `validate` without the checksum: kind, self page number, and that every cell lies inside
    /// the page. Also what a write transaction checks of each page it is about to write
    /// (WriteTransaction.prepare), since the pager trusts the pages it wrote.
    static func validateLayout(_ base: UnsafeRawPointer, pageNumber: PageNumber) -> String? {
        let view = PageView(base: base)
        guard let kind = PageKind(rawValue: view.kindByte), kind != .meta else {
            return "unknown page kind \(view.kindByte)"
        }
        if view.pageNumber != pageNumber {
            return "page records number \(view.pageNumber) (misplaced or stale page)"
        }
        let n = view.count
        switch kind {
        case .leaf, .branch:
            let pointersEnd = PageLayout.headerSize + 2 * n
            if pointersEnd > PageLayout.size { return "cell count \(n) does not fit" }
            if kind == .branch && n == 0 { return "branch page with no children" }
            // Cells may not overlap the pointers; their sizes together must fit the page (a
            // writer editing the page in place relies on it; overlapping cells would not).
            var total = 2 * n
            for i in 0..<n {
                let o = view.cellOffset(i)
                let headerLen = kind == .leaf ? PageLayout.leafCellHeader : PageLayout.branchCellHeader
                if o < pointersEnd || o + headerLen > PageLayout.size { return "cell \(i) offset \(o) out of bounds" }
                let keyEnd = o + headerLen + view.u16(o)
                if view.u16(o) > Limits.maxKeyLength { return "cell \(i) key length \(view.u16(o)) exceeds the limit" }
                if kind == .leaf {
                    let info = view.u32(o + 2)
                    let valueLength = Int(info & ~PageLayout.overflowFlag)
                    if valueLength > Limits.maxValueLength { return "cell \(i) value length \(valueLength) exceeds the limit" }
                    let end = keyEnd + ((info & PageLayout.overflowFlag) != 0 ? 8 : valueLength)
                    if end > PageLayout.size { return "cell \(i) runs past the end of the page" }
                    total += end - o
                } else if keyEnd > PageLayout.size {
                    return "cell \(i) runs past the end of the page"
                } else {
                    total += keyEnd - o
                }
            }
            if total > PageLayout.capacity { return "cells take \(total) bytes, more than a page holds (overlapping cells)" }
        case .freeList:
            if n > PageLayout.freeListEntries { return "free-list count \(n) does not fit" }
        case .overflow, .meta:
            break
        }
        return nil
    }
}

@inline(__always)
func compareBytes(_ a: UnsafeRawPointer, _ aCount: Int, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(aCount, b.count)
    // Most comparisons in a search are decided by the first 8 bytes: compare them as one
    // big-endian word, without a call to memcmp (~10% of a point read).
    if n >= 8, let bb = b.baseAddress {
        let x = UInt64(bigEndian: a.loadUnaligned(as: UInt64.self))
        let y = UInt64(bigEndian: bb.loadUnaligned(as: UInt64.self))
        if x != y { return x < y ? -1 : 1 }
    }
    if n > 0, let bb = b.baseAddress {
        let c = memcmp(a, bb, n)
        if c != 0 { return Int(c) }
    }
    return aCount - b.count
}

func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBytes { ra in
        b.withUnsafeBytes { rb in
            guard let pa = ra.baseAddress else { return -rb.count }
            return compareBytes(pa, ra.count, rb)
        }
    }
}

func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

/// Builds a page image in a byte buffer. The image is sealed (checksum set) by `finish`.
struct PageBuilder {
    var bytes: [UInt8]

    init(kind: PageKind, pageNumber: PageNumber, txid: UInt64) {
        bytes = [UInt8](repeating: 0, count: PageLayout.size)
        bytes[4] = kind.rawValue
        setU64(pageNumber, at: 8)
        setU64(txid, at: 16)
    }

    mutating func setU16(_ v: Int, at o: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt16(truncatingIfNeeded: v).littleEndian, toByteOffset: o, as: UInt16.self) }
    }

    mutating func setU32(_ v: UInt32, at o: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: v.littleEndian, toByteOffset: o, as: UInt32.self) }
    }

    mutating func setU64(_ v: UInt64, at o: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: v.littleEndian, toByteOffset: o, as: UInt64.self) }
    }

    /// Copies `src` to offset `o` (which must leave room for it: callers size cells first).
    mutating func setBytes(_ src: [UInt8], at o: Int) {
        guard !src.isEmpty else { return }
        bytes.withUnsafeMutableBytes { dst in
            src.withUnsafeBytes { s in
                UnsafeMutableRawBufferPointer(rebasing: dst[o..<(o + s.count)]).copyMemory(from: s)
            }
        }
    }

    /// The page's checksum, as `finish` stored it at offset 0.
    private(set) var checksum: UInt32 = 0

    mutating func finish() -> [UInt8] {
        checksum = bytes.withUnsafeBytes { raw in
            CRC32C.checksum(raw.baseAddress.unsafelyUnwrapped + 4, count: PageLayout.size - 4)
        }
        setU32(checksum, at: 0)
        return bytes
    }
}
