// The pager: the data file's memory map, page verification, and page writes.
//
// Reads go straight through a shared read-only mmap of the file: no copy, no decode. The map is
// reserved far larger than the file (the file grows into it); when the file outgrows it, a new,
// larger map is made and the old ones stay mapped until the database closes, so a reader that
// still holds a pointer into an old map keeps reading valid memory. Nobody sets a map size.
//
// Every page is verified (checksum, kind, self page number, cell bounds) before its first read
// in this process; a bitmap remembers verified pages, so hot pages cost one bit test. Pages the
// writer writes are marked verified as it writes them: their content is ours.
//
// Writes use pwrite on the same file; Linux keeps a shared map coherent with pwrite, so a page
// is readable through the map as soon as the write returns. Only the writer writes, and only to
// pages no snapshot can reach (see PageAllocator.swift).
//
// Small folios, and our own read-ahead. Linux caches a file in folios; a `pwrite` of 4 KiB into a
// large folio costs the kernel a walk of every block of the folio (ext4: 6-14 us into a folio of
// 256 KiB - 1 MiB, against ~1 us into a 4 KiB one, measured here), and a commit writes a handful
// of scattered pages. The data file's large folios came from two places, both closed here: the
// kernel's read-around on a page fault (up to the device's `read_ahead_kb`, 8 MiB on this
// machine), which the map turns off (`MADV_RANDOM`), and large writes (a write's length sets the
// size of the folios it creates), which `write` splits into pwrites of at most `writeRunPages`
// pages. (The few `pread`s of the meta pages at open still read ahead a little, and so may an
// adopting recovery's `pread`s of the crashed session's last pages, `readHeader`, if they have
// left the page cache: rare, since they were written just before the crash.)
//
// What read-around gave cold readers, the pager gives back with small folios, and only to cold
// readers: ReadAhead.swift. The first touch of each page in this process is timed (a one-byte
// load); one that took long enough to have waited for the device (`coldReadNanoseconds`) starts
// the read-ahead, and later first touches may follow it on.
//
// Touching a mapped page beyond the end of the file raises SIGBUS, not an error. A snapshot's
// page count can exceed the file: pages allocated and given up without being written (the
// checkpoint extends the file over them, later). So a page number at or beyond the end of the
// file, as far as this process knows it (`fileEndPage`, re-read with fstat before refusing),
// is `corruptPage`, never a read. What this cannot cover is another process truncating the
// file under the map: as with LMDB, that is outside the contract (formats/database-file.md 17).

import CPrefetch
import Glibc
import Synchronization

/// A map of the data file: base address and how many pages it can show.
struct Mapping: @unchecked Sendable {
    let base: UnsafeRawPointer
    let pageCapacity: UInt64
}

final class Pager: @unchecked Sendable {
    let file: StorageFile
    private let mappings = Mutex<[Mapping]>([])
    /// Pages verified in this process (2^28 pages tracked: 1 TiB of database).
    private let verified = AtomicBitmap(capacity: 1 << 28)
    /// The most pages one pwrite writes (16 KiB: a write's length sets the size of the folios
    /// it creates; see the top of this file). Also what the staging buffer holds.
    static let writeRunPages = 4
    /// A first touch that took longer than this waited for the device. A page-cache hit takes
    /// 1-3 us with its fault (a warm scan of 55,763 pages here: 13 first touches over 8 us); a
    /// read takes 10 us or more from a fast NVMe device, 20-100 from this virtual disk. A touch
    /// slow for another reason (a preemption) costs one `mincore`: the read-ahead checks the
    /// page cache before asking for anything.
    static let coldReadNanoseconds: UInt64 = 10_000
    /// Asks the kernel to read ahead for cold readers (ReadAhead.swift).
    let readAhead: ReadAhead
    /// Where runs of dirty pages are gathered for one pwrite (writer only).
    private let staging = UnsafeMutableRawPointer.allocate(byteCount: Pager.writeRunPages * PageLayout.size, alignment: 4096)
    /// Pages the file is known to hold: raised by every write, re-read from the file before a
    /// page beyond it is refused, lowered only by `truncate` (no reader can be past it then).
    private let fileEndPage = Atomic<UInt64>(0)

    /// `readAheadBytes`: how much to read ahead for a cold reader (nil: what the device's
    /// read-around would read).
    init(file: StorageFile, initialPageCount: UInt64, minimumMapBytes: Int, readAheadBytes: Int? = nil) throws {
        self.file = file
        fileEndPage.store(UInt64(max(0, try file.size())) / UInt64(PageLayout.size), ordering: .relaxed)
        readAhead = ReadAhead(descriptor: file.descriptor, rangeBytes: readAheadBytes, pageCapacity: verified.capacity)
        _ = try ensureMapped(pageCount: initialPageCount, minimumBytes: minimumMapBytes)
    }

    /// Unmaps every map (at close, once no reader is left).
    func unmapAll() {
        let maps = mappings.withLock { maps -> [Mapping] in
            defer { maps = [] }
            return maps
        }
        for m in maps { Syscalls.unmap(m.base, length: Int(m.pageCapacity) * PageLayout.size) }
    }

    deinit {
        staging.deallocate()
        unmapAll()
        verified.deallocate()
    }

    /// The newest map, made large enough for `pageCount` pages.
    func ensureMapped(pageCount: UInt64, minimumBytes: Int = 0) throws -> Mapping {
        try mappings.withLock { maps -> Mapping in
            if let current = maps.last, current.pageCapacity >= pageCount { return current }
            let old = maps.last.map { Int($0.pageCapacity) * PageLayout.size } ?? 0
            var bytes = max(minimumBytes, old * 2, 1 << 20)
            while bytes / PageLayout.size < Int(pageCount) { bytes *= 2 }
            let base = try Syscalls.mapShared(file.descriptor, length: bytes, path: file.path)
            let m = Mapping(base: base, pageCapacity: UInt64(bytes / PageLayout.size))
            maps.append(m)
            return m
        }
    }

    var mappingCount: Int { mappings.withLock { $0.count } }

    @inline(__always) private func isVerified(_ page: PageNumber) -> Bool { verified.contains(page) }

    @inline(__always) func markVerified(_ page: PageNumber) { verified.insert(page) }

    /// A verified view of `page`, which must be below `limit` (the snapshot's page count).
    @inline(__always)
    func page(_ page: PageNumber, in mapping: Mapping, limit: UInt64) throws -> PageView {
        guard page >= 2, page < limit, page < mapping.pageCapacity else {
            throw StoreError.corruptPage(page: page, reason: "page number out of range (database has \(limit) pages)")
        }
        if page >= fileEndPage.load(ordering: .relaxed), let reason = beyondEndOfFile(page) {
            throw StoreError.corruptPage(page: page, reason: reason)
        }
        let base = mapping.base + Int(page) * PageLayout.size
        if !isVerified(page) {
            firstTouch(page, at: base, in: mapping)
            if let reason = PageView.validate(base, pageNumber: page) {
                throw StoreError.corruptPage(page: page, reason: reason)
            }
            markVerified(page)
        }
        return PageView(base: base)
    }

    /// The header of `page` (below `limit`, within the file), validated whole as `page(_:in:limit:)`
    /// validates it, but read with `pread` into a buffer of this call's rather than through the
    /// map; nil when it is not a valid page. Verified pages are marked so (the map shows the
    /// same page cache), so a later read of them through the map does not check them again.
    /// Why: an adopting recovery checks every page the crashed session's last commit wrote
    /// (Adoption.swift, step 2), 160 of them after the bench's crash, and a fresh process's
    /// first touch of each through the map (a fault, and the page tables it needs) cost 4 - 6
    /// us a page: 0.6 - 0.9 ms, the largest share of that recovery. A `pread` costs a copy.
    /// (`validate` checks that the page records its own number, so only its txid and stored
    /// checksum are returned.)
    func readHeader(of page: PageNumber, limit: UInt64) throws -> (txid: UInt64, storedChecksum: UInt32)? {
        guard page >= 2, page < limit else { return nil }
        return try withUnsafeTemporaryAllocation(byteCount: PageLayout.size, alignment: 16) { buffer in
            guard let base = buffer.baseAddress,
                try file.read(into: base, count: PageLayout.size, at: Int64(page) * Int64(PageLayout.size)) == PageLayout.size,
                PageView.validate(UnsafeRawPointer(base), pageNumber: page) == nil
            else { return nil }
            markVerified(page)
            let view = PageView(base: UnsafeRawPointer(base))
            return (view.txid, view.storedChecksum)
        }
    }

    /// The first touch of `page` (at `base`) in this process: tells the read-ahead whether it
    /// waited for the device.
    @inline(__always) private func firstTouch(_ page: PageNumber, at base: UnsafeRawPointer, in mapping: Mapping) {
        readAhead.afterFirstTouch(
            of: page, waited: Self.firstTouchWaited(base), in: mapping, fileEnd: fileEndPage.load(ordering: .relaxed))
    }

    /// Reads the first byte of the page at `base` (within the file: the callers checked) and
    /// says whether that took long enough to have waited for the device.
    @inline(__always) private static func firstTouchWaited(_ base: UnsafeRawPointer) -> Bool {
        let start = now()
        _ = vitrine_touch(base)
        return now() &- start > coldReadNanoseconds
    }

    /// The monotonic clock, in nanoseconds (a vDSO call: no system call).
    @inline(__always) private static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(truncatingIfNeeded: t.tv_sec) &* 1_000_000_000 &+ UInt64(truncatingIfNeeded: t.tv_nsec)
    }

    /// Asks the CPU for every cache line of `page` (a hint: never faults, reads nothing).
    func prefetch(_ page: PageNumber, in mapping: Mapping) {
        guard page < mapping.pageCapacity else { return }
        let base = mapping.base + Int(page) * PageLayout.size
        var offset = 0
        while offset < PageLayout.size {
            vitrine_prefetch(base + offset)
            offset += 64
        }
    }

    /// Checks a page without consulting or updating the verified bitmap (for `verify()`).
    func validateFresh(_ page: PageNumber, in mapping: Mapping, limit: UInt64) -> String? {
        guard page >= 2, page < limit, page < mapping.pageCapacity else { return "page number out of range" }
        if page >= fileEndPage.load(ordering: .relaxed), let reason = beyondEndOfFile(page) { return reason }
        let base = mapping.base + Int(page) * PageLayout.size
        firstTouch(page, at: base, in: mapping)
        return PageView.validate(base, pageNumber: page)
    }

    /// Why `page` cannot be read through the map (it is beyond the end of the file), or nil.
    /// The slow path: re-reads the file's size first, since something may have extended it.
    private func beyondEndOfFile(_ page: PageNumber) -> String? {
        guard let bytes = try? file.size() else { return "page \(page): size of the file unknown" }
        let pages = UInt64(max(0, bytes)) / UInt64(PageLayout.size)
        noteFileEnd(pages)
        return page < pages ? nil : "page beyond the end of the file (\(pages) pages)"
    }

    private func noteFileEnd(_ pages: UInt64) {
        var seen = fileEndPage.load(ordering: .relaxed)
        while pages > seen {
            let (exchanged, now) = fileEndPage.compareExchange(expected: seen, desired: pages, ordering: .relaxed)
            if exchanged { break }
            seen = now
        }
    }

    /// Writes page images, coalescing runs of consecutive pages into pwrites of at most
    /// `writeRunPages` pages.
    func write(_ pages: [(PageNumber, [UInt8])]) throws {
        let sorted = pages.sorted { $0.0 < $1.0 }
        var run: [UInt8] = []
        try forEachRun(sorted.map(\.0)) { range, offset in
            if range.count == 1 {
                try file.write(sorted[range.lowerBound].1, at: offset)
            } else {
                run.removeAll(keepingCapacity: true)
                for k in range { run.append(contentsOf: sorted[k].1) }
                try file.write(run, at: offset)
            }
        }
    }

    /// Writes a transaction's sealed dirty pages, one pwrite per run of consecutive page
    /// numbers, at most `writeRunPages` long (gathered in a staging buffer; writer only).
    func write(_ pages: [DirtyPage]) throws { try write(pages.map(\.image)) }

    /// `write(_:)` of pages as images (the page writer's thread: it touches no page object).
    func write(_ images: [PageImage]) throws {
        let sorted = images.sorted { $0.number < $1.number }
        try forEachRun(sorted.map(\.number)) { range, offset in
            if range.count == 1 {
                try file.write(sorted[range.lowerBound].bytes, count: PageLayout.size, at: offset)
            } else {
                for k in range {
                    memcpy(staging + (k - range.lowerBound) * PageLayout.size, sorted[k].bytes, PageLayout.size)
                }
                try file.write(UnsafeRawPointer(staging), count: range.count * PageLayout.size, at: offset)
            }
        }
    }

    /// Splits ascending page numbers into runs of consecutive ones, at most `writeRunPages`
    /// long, and has `write` write each (given the indices of its pages and the file offset of
    /// its first); then marks the run's pages verified and the file's end past it.
    private func forEachRun(_ sorted: [PageNumber], _ write: (Range<Int>, Int64) throws -> Void) throws {
        var i = 0
        while i < sorted.count {
            var j = i + 1
            while j < sorted.count && sorted[j] == sorted[j - 1] + 1 && j - i < Self.writeRunPages { j += 1 }
            try write(i..<j, Int64(sorted[i]) * Int64(PageLayout.size))
            for k in i..<j { markVerified(sorted[k]) }
            noteFileEnd(sorted[j - 1] + 1)
            i = j
        }
    }

    /// Cuts the file to `pageCount` pages. The caller (a checkpoint, writer lock held) made sure
    /// nothing can read a page at or beyond it: no registered reader holds a snapshot that
    /// reaches past it, and every snapshot a reader can start on ends below it (Shrink.swift). The end the pager knows drops
    /// first; pages cut lose their verified mark, so one written again later is checked again
    /// if it is read before the writer marks it.
    func truncate(toPages pageCount: UInt64) throws {
        let known = fileEndPage.load(ordering: .relaxed)
        let bytes = UInt64(max(0, try file.size())) / UInt64(PageLayout.size)
        fileEndPage.store(min(known, pageCount), ordering: .relaxed)
        var p = pageCount
        while p < max(known, bytes) && p < verified.capacity {
            verified.remove(p)
            p += 1
        }
        try file.truncate(to: Int64(pageCount) * Int64(PageLayout.size))
        fileEndPage.store(pageCount, ordering: .relaxed)
    }

    func sync() throws { try file.sync() }
}
