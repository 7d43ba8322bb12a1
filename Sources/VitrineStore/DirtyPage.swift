// A tree page a write transaction is changing: a private, writable copy of the page in the
// slotted format of Page.swift, edited in place at the byte level (no decoding into keys and
// values), and written to the data file at commit.
//
// Copy-on-write works as in LMDB: the first time a transaction changes a committed page it copies
// the page into a DirtyPage under a newly allocated page number and points the parent (or the
// table's root) at it; further changes in the same transaction edit that copy directly. At commit
// every dirty page is sealed (txid, checksum) and written where its number says.
//
// Free space. Cells are packed downwards from the end of the page; `top` is the lowest cell
// offset. Removing a cell leaves a hole (zeroed, so deleted bytes do not linger) that is not
// tracked; `used` counts only live bytes. An insert that does not fit between the pointer array
// and `top` but fits in `used` first compacts the page. The bytes between the pointer array and
// `top` are zero (made so when the page is first measured).
//
// `top` and `used` are measured lazily (a scan of the cells): a page on the path that only gets
// a child pointer changed, or a value overwritten in place, never needs them. A measured page
// is sealed with a checksum that skips its zero gap (CRC32C.pageChecksum(_:gapFrom:to:)).

import Glibc

/// A cell to lay out again while splitting, merging or moving cells between pages: the bytes of
/// an existing cell (in a page this transaction owns, or in a committed page of the map, which
/// does not change while the transaction runs), or a cell built for the occasion.
struct CellSource {
    fileprivate enum Storage {
        case existing(UnsafeRawPointer, Int)
        case built([UInt8])
    }
    fileprivate let storage: Storage
    let isLeaf: Bool

    /// Bytes the cell takes in a page, its pointer included.
    var size: Int {
        switch storage {
        case .existing(_, let n): return n + 2
        case .built(let b): return b.count + 2
        }
    }

    /// The cell's key, copied.
    var key: [UInt8] {
        withBytes { p, _ in
            let n = Int(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
            let header = isLeaf ? PageLayout.leafCellHeader : PageLayout.branchCellHeader
            return [UInt8](UnsafeRawBufferPointer(start: p + header, count: n))
        }
    }

    /// Branch cell only: the child page it points to.
    var child: PageNumber {
        withBytes { p, _ in UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt64.self)) }
    }

    fileprivate func withBytes<R>(_ body: (UnsafeRawPointer, Int) -> R) -> R {
        switch storage {
        case .existing(let p, let n): return body(p, n)
        case .built(let b): return b.withUnsafeBytes { body($0.baseAddress.unsafelyUnwrapped, b.count) }
        }
    }

    static func leaf(key: [UInt8], value: LeafValue) -> CellSource {
        var b = [UInt8](repeating: 0, count: PageLayout.leafCellHeader + key.count + (value.inlineLength ?? 8))
        b.withUnsafeMutableBytes { DirtyPage.writeLeafCell(into: $0.baseAddress.unsafelyUnwrapped, key: key, value: value) }
        return CellSource(storage: .built(b), isLeaf: true)
    }

    static func branch(key: [UInt8], child: PageNumber) -> CellSource {
        var b = [UInt8](repeating: 0, count: PageLayout.branchCellHeader + key.count)
        b.withUnsafeMutableBytes { DirtyPage.writeBranchCell(into: $0.baseAddress.unsafelyUnwrapped, key: key, child: child) }
        return CellSource(storage: .built(b), isLeaf: false)
    }
}

/// A leaf value to store: inline bytes, or the first page and length of an overflow chain.
enum LeafValue {
    case inline([UInt8])
    case overflow(PageNumber, Int)

    var inlineLength: Int? {
        if case .inline(let b) = self { return b.count }
        return nil
    }
}

/// A sealed page's number and bytes, as handed to a write (`DirtyPage.image`).
struct PageImage: @unchecked Sendable {
    let number: PageNumber
    let bytes: UnsafeRawPointer
}

final class DirtyPage {
    private(set) var number: PageNumber = 0
    let base: UnsafeMutableRawPointer
    private var measuredTop = PageLayout.size
    private var measuredUsed = 0
    private var isMeasured = true

    /// Lowest cell offset (PageLayout.size when the page has no cells).
    var top: Int {
        if !isMeasured { measure() }
        return measuredTop
    }

    /// Bytes taken by cell pointers and live cells.
    var used: Int {
        if !isMeasured { measure() }
        return measuredUsed
    }

    /// Whether the cells fit the page, without measuring one that was never measured: such a
    /// page is a verified page (cells within capacity) changed only in place, size for size
    /// (child pointers, values of the same length); every edit that changes a size measures first.
    var fitsPage: Bool { !isMeasured || measuredUsed <= PageLayout.capacity }

    init() {
        // 16, not a cache line: an alignment above malloc's own takes glibc's memalign path, ~900
        // instructions a page where loads allocate thousands of pages per transaction.
        base = UnsafeMutableRawPointer.allocate(byteCount: PageLayout.size, alignment: 16)
    }

    deinit { base.deallocate() }

    var view: PageView { PageView(base: UnsafeRawPointer(base)) }
    /// The page's bytes and number for a write, without the object: the page writer's thread
    /// touches no page object (PageWriter.swift). Valid while the page is neither reused nor
    /// freed.
    var image: PageImage { PageImage(number: number, bytes: UnsafeRawPointer(base)) }
    var isLeaf: Bool { view.isLeaf }
    var count: Int { view.count }
    var isUnderfull: Bool { used < PageLayout.capacity / 4 || (!isLeaf && count < 2) }

    // MARK: - Making

    /// Becomes an empty tree page of `kind`.
    func reset(kind: PageKind, number: PageNumber) {
        memset(base, 0, PageLayout.size)
        base.storeBytes(of: kind.rawValue, toByteOffset: 4, as: UInt8.self)
        setNumber(number)
        measuredTop = PageLayout.size
        measuredUsed = 0
        isMeasured = true
    }

    /// Becomes a copy of the verified tree page `source`, renumbered `number`.
    func load(_ source: PageView, number: PageNumber) {
        memcpy(base, source.base, PageLayout.size)
        setNumber(number)
        isMeasured = false
    }

    private func measure() {
        var lowest = PageLayout.size
        var total = 0
        for i in 0..<count {
            lowest = min(lowest, view.cellOffset(i))
            total += 2 + cellLength(i)
        }
        // The format wants the gap zero; a page from elsewhere might not have it so.
        let pointersEnd = PageLayout.headerSize + 2 * count
        if lowest > pointersEnd { memset(base + pointersEnd, 0, lowest - pointersEnd) }
        measuredTop = lowest
        measuredUsed = total
        isMeasured = true
    }

    private func setNumber(_ n: PageNumber) {
        number = n
        store(UInt64(n), at: 8)
    }

    /// Stamps the transaction and the checksum: the page image is then ready to write.
    func seal(txid: UInt64) {
        store(txid, at: 16)
        store(UInt64(0), at: 24)
        let crc =
            isMeasured
            ? CRC32C.pageChecksum(UnsafeRawPointer(base), gapFrom: PageLayout.headerSize + 2 * count, to: measuredTop)
            : CRC32C.checksum(base + 4, count: PageLayout.size - 4)
        store(crc, at: 0)
    }

    // MARK: - Reading

    /// Length of cell i (without its pointer).
    func cellLength(_ i: Int) -> Int { Self.cellLength(view, i) }

    static func cellLength(_ v: PageView, _ i: Int) -> Int {
        let o = v.cellOffset(i)
        let keyLength = v.u16(o)
        if v.isLeaf {
            let info = v.u32(o + 2)
            let valueBytes = (info & PageLayout.overflowFlag) != 0 ? 8 : Int(info & ~PageLayout.overflowFlag)
            return PageLayout.leafCellHeader + keyLength + valueBytes
        }
        return PageLayout.branchCellHeader + keyLength
    }

    /// Bytes a verified page's pointers and cells take.
    static func usedBytes(_ v: PageView) -> Int {
        var total = 0
        for i in 0..<v.count { total += 2 + cellLength(v, i) }
        return total
    }

    /// Appends cells `range` of this page to `list`; they point into this page, which must not
    /// change before the list is laid out.
    func appendCells(_ range: Range<Int>, to list: inout [CellSource]) {
        Self.appendCells(of: view, range, to: &list)
    }

    /// Appends cells `range` of a verified page (in the map, or dirty) to `list`.
    static func appendCells(of v: PageView, _ range: Range<Int>, to list: inout [CellSource]) {
        let leaf = v.isLeaf
        for i in range {
            list.append(CellSource(storage: .existing(v.base + v.cellOffset(i), cellLength(v, i)), isLeaf: leaf))
        }
    }

    // MARK: - Editing

    private func store<T: FixedWidthInteger>(_ v: T, at o: Int) {
        base.storeBytes(of: v.littleEndian, toByteOffset: o, as: T.self)
    }

    private func setCount(_ n: Int) { store(UInt16(n), at: 6) }

    /// Makes room for a cell of `length` bytes at index i; returns its offset, or nil (nothing
    /// changed) when the page cannot hold it.
    private func makeRoom(at i: Int, length: Int) -> Int? {
        guard used + length + 2 <= PageLayout.capacity else { return nil }
        let n = count
        if top - (PageLayout.headerSize + 2 * n) < length + 2 { compact() }
        // Re-checked on the bytes themselves: a damaged page (cells sharing bytes) can make the
        // accounting wrong, and a cell must never be written over the pointers or off the page.
        guard top - (PageLayout.headerSize + 2 * n) >= length + 2 else { return nil }
        let pointers = base + PageLayout.headerSize
        if i < n { memmove(pointers + 2 * (i + 1), pointers + 2 * i, 2 * (n - i)) }
        measuredTop -= length
        store(UInt16(measuredTop), at: PageLayout.headerSize + 2 * i)
        setCount(n + 1)
        measuredUsed += length + 2
        return measuredTop
    }

    /// Inserts a leaf cell at index i; false (nothing changed) when it does not fit.
    func insertLeafCell(at i: Int, key: [UInt8], value: LeafValue) -> Bool {
        let length = PageLayout.leafCellHeader + key.count + (value.inlineLength ?? 8)
        guard let o = makeRoom(at: i, length: length) else { return false }
        Self.writeLeafCell(into: base + o, key: key, value: value)
        return true
    }

    /// Inserts a branch cell at index i; false (nothing changed) when it does not fit.
    func insertBranchCell(at i: Int, key: [UInt8], child: PageNumber) -> Bool {
        guard let o = makeRoom(at: i, length: PageLayout.branchCellHeader + key.count) else { return false }
        Self.writeBranchCell(into: base + o, key: key, child: child)
        return true
    }

    /// Removes cell i, zeroing its bytes.
    func remove(at i: Int) {
        if !isMeasured { measure() }
        let n = count
        let o = view.cellOffset(i)
        let length = cellLength(i)
        memset(base + o, 0, length)
        let pointers = base + PageLayout.headerSize
        if i + 1 < n { memmove(pointers + 2 * i, pointers + 2 * (i + 1), 2 * (n - i - 1)) }
        store(UInt16(0), at: PageLayout.headerSize + 2 * (n - 1))
        setCount(n - 1)
        measuredUsed -= length + 2
        if o == measuredTop { measuredTop += length }
        if n == 1 { measuredTop = PageLayout.size }
    }

    /// Branch only: removes cell i; when that was cell 0, the new cell 0 loses its key (key 0 is
    /// stored empty).
    func removeBranchCell(at i: Int) {
        remove(at: i)
        if i == 0 && count > 0 && view.u16(view.cellOffset(0)) > 0 {
            let child = view.child(0)
            remove(at: 0)
            _ = insertBranchCell(at: 0, key: [], child: child) // smaller than what left: fits
        }
    }

    /// Branch only: points cell i at `child`.
    func setChild(_ i: Int, _ child: PageNumber) {
        store(UInt64(child), at: view.cellOffset(i) + 2)
    }

    /// Leaf only: points cell i, an overflow value, at the chain that starts at `first` (the
    /// value moved to other pages: Shrink.swift).
    func setOverflowStart(_ i: Int, _ first: PageNumber) {
        store(UInt64(first), at: view.value(i).pointer - UnsafeRawPointer(base))
    }

    /// Leaf only: overwrites the inline value of cell i in place when the new value is inline and
    /// has the same length; false (nothing changed) otherwise.
    func overwriteValue(at i: Int, with value: LeafValue) -> Bool {
        guard case .inline(let bytes) = value else { return false }
        let v = view.value(i)
        guard !v.overflow, v.length == bytes.count else { return false }
        bytes.withUnsafeBytes { src in
            if let s = src.baseAddress { memcpy(UnsafeMutableRawPointer(mutating: v.pointer), s, bytes.count) }
        }
        return true
    }

    /// Packs the cells against the end of the page, so all free space is in one gap. (They fit:
    /// `used` is at most the capacity, which page validation guarantees for committed pages.)
    private func compact() {
        var list: [CellSource] = []
        list.reserveCapacity(count)
        appendCells(0..<count, to: &list)
        try? lay(list[...])
    }

    /// Replaces the page's cells by `cells` (which may point into this page). The caller sizes
    /// them to fit; if they do not (only a bug could make them), nothing changes and it throws.
    func lay(_ cells: ArraySlice<CellSource>) throws {
        let total = cells.reduce(0) { $0 + $1.size }
        guard total <= PageLayout.capacity else {
            throw StoreError.corruptPage(page: number, reason: "internal error: \(total) bytes of cells laid out in one page")
        }
        // Built in a scratch page (cells may point into this one), then only the pointers and
        // cells are copied back and the gap between them zeroed: zeroing and copying whole
        // pages cost a random-order load ~8% of its instructions.
        withUnsafeTemporaryAllocation(byteCount: PageLayout.size, alignment: 16) { tmp in
            let t = tmp.baseAddress.unsafelyUnwrapped
            var o = PageLayout.size
            var k = 0
            for cell in cells {
                cell.withBytes { p, n in
                    o -= n
                    memcpy(t + o, p, n)
                }
                t.storeBytes(of: UInt16(o).littleEndian, toByteOffset: PageLayout.headerSize + 2 * k, as: UInt16.self)
                k += 1
            }
            // Keep the 32-byte header (kind, number); take pointers and cells from the copy.
            // `total` fits the capacity, so the pointers end at or before the cells begin.
            let pointersEnd = PageLayout.headerSize + 2 * k
            memcpy(base + PageLayout.headerSize, t + PageLayout.headerSize, 2 * k)
            memset(base + pointersEnd, 0, o - pointersEnd)
            memcpy(base + o, t + o, PageLayout.size - o)
            setCount(k)
            measuredTop = o
            measuredUsed = PageLayout.size - o + 2 * k
            isMeasured = true
        }
    }

    // MARK: - Cell encoding

    static func writeLeafCell(into p: UnsafeMutableRawPointer, key: [UInt8], value: LeafValue) {
        p.storeBytes(of: UInt16(key.count).littleEndian, toByteOffset: 0, as: UInt16.self)
        key.withUnsafeBytes { k in if let kb = k.baseAddress { memcpy(p + PageLayout.leafCellHeader, kb, key.count) } }
        let valueAt = p + PageLayout.leafCellHeader + key.count
        switch value {
        case .inline(let bytes):
            p.storeBytes(of: UInt32(bytes.count).littleEndian, toByteOffset: 2, as: UInt32.self)
            bytes.withUnsafeBytes { v in if let vb = v.baseAddress { memcpy(valueAt, vb, bytes.count) } }
        case .overflow(let first, let length):
            p.storeBytes(of: (UInt32(length) | PageLayout.overflowFlag).littleEndian, toByteOffset: 2, as: UInt32.self)
            valueAt.storeBytes(of: first.littleEndian, as: UInt64.self)
        }
    }

    static func writeBranchCell(into p: UnsafeMutableRawPointer, key: [UInt8], child: PageNumber) {
        p.storeBytes(of: UInt16(key.count).littleEndian, toByteOffset: 0, as: UInt16.self)
        p.storeBytes(of: child.littleEndian, toByteOffset: 2, as: UInt64.self)
        key.withUnsafeBytes { k in if let kb = k.baseAddress { memcpy(p + PageLayout.branchCellHeader, kb, key.count) } }
    }
}
