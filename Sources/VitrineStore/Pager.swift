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
// pages. (The few `pread`s of the meta pages at open still read ahead a little.)
//
// What read-around gave cold readers, the pager gives back with small folios, and only to cold
// readers: when the first touch of a page in this process took long enough to have waited for
// the device (`coldReadNanoseconds`), it asks for the page's aligned window of `readAheadPages`
// pages and the windows after it, `readAheadWindows` in all (`POSIX_FADV_WILLNEED`, which fills
// the page cache with small folios; the call submits the reads without waiting for them), each
// window once. A warm page cache costs no call (asking for every window at its first touch
// cost a recovery 848 calls, 1.5 ms). The kernel caps one such call at the device's read-ahead
// size, so a window is asked for in `adviceChunkPages` calls, the smallest common size
// (128 KiB). What this does not do: read ahead again for pages evicted after their first touch
// (a database larger than memory); those come back one page per fault.
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
    private let verifiedWords: UnsafeMutablePointer<Atomic<UInt64>>?
    private let verifiedCapacity: UInt64 = 1 << 28 // pages tracked (1 TiB of database)
    /// The most pages one pwrite writes (16 KiB: a write's length sets the size of the folios
    /// it creates; see the top of this file). Also what the staging buffer holds.
    static let writeRunPages = 4
    /// Pages per read-ahead window (2 MiB).
    static let readAheadPages: UInt64 = 512
    /// Windows asked for after a cold first touch: 8 MiB, what the kernel's read-around read
    /// here (the device's `read_ahead_kb`). A fixed size: on a device whose read-ahead is the
    /// common 128 KiB, a cold random reader reads more than the kernel would have (reading the
    /// device's value at open is the next step; see Benchmarks/README.md, session 7).
    static let readAheadWindows: UInt64 = 4
    /// A first touch that took longer than this waited for the device (a page-cache hit takes
    /// 1-2 us even with a fault, rarely over 20 under load; a read from this disk, 60 us or more).
    static let coldReadNanoseconds: UInt64 = 50_000
    /// Pages per read-ahead call (128 KiB: the kernel reads no more per call than the device's
    /// read-ahead size, which is 128 KiB by default).
    static let adviceChunkPages: UInt64 = 32
    /// One bit per read-ahead window: set once the window was asked for (any thread).
    private let advisedWords: UnsafeMutablePointer<Atomic<UInt64>>?
    private let advisedBytes: Int
    /// Where runs of dirty pages are gathered for one pwrite (writer only).
    private let staging = UnsafeMutableRawPointer.allocate(byteCount: Pager.writeRunPages * PageLayout.size, alignment: 4096)
    /// Pages the file is known to hold (it only grows while open): raised by every write,
    /// re-read from the file before a page beyond it is refused.
    private let fileEndPage = Atomic<UInt64>(0)

    init(file: StorageFile, initialPageCount: UInt64, minimumMapBytes: Int) throws {
        self.file = file
        fileEndPage.store(UInt64(max(0, try file.size())) / UInt64(PageLayout.size), ordering: .relaxed)
        let bitmapBytes = Int(verifiedCapacity / 8)
        verifiedWords = Syscalls.mapAnonymous(length: bitmapBytes)?.bindMemory(to: Atomic<UInt64>.self, capacity: bitmapBytes / 8)
        advisedBytes = Int(verifiedCapacity / Self.readAheadPages / 8)
        advisedWords = Syscalls.mapAnonymous(length: advisedBytes)?.bindMemory(to: Atomic<UInt64>.self, capacity: advisedBytes / 8)
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
        if let w = verifiedWords { Syscalls.unmap(UnsafeRawPointer(w), length: Int(verifiedCapacity / 8)) }
        if let w = advisedWords { Syscalls.unmap(UnsafeRawPointer(w), length: advisedBytes) }
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

    @inline(__always) private func isVerified(_ page: PageNumber) -> Bool {
        guard page < verifiedCapacity, let w = verifiedWords else { return false }
        return (w[Int(page >> 6)].load(ordering: .relaxed) & (1 << (page & 63))) != 0
    }

    @inline(__always) func markVerified(_ page: PageNumber) {
        guard page < verifiedCapacity, let w = verifiedWords else { return }
        w[Int(page >> 6)].bitwiseOr(1 << (page & 63), ordering: .relaxed)
    }

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
            if Self.firstTouchWaited(base) { readAhead(around: page) }
            if let reason = PageView.validate(base, pageNumber: page) {
                throw StoreError.corruptPage(page: page, reason: reason)
            }
            markVerified(page)
        }
        return PageView(base: base)
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

    /// After a page's first touch in this process waited for the device: asks for its
    /// read-ahead window and the `readAheadWindows - 1` after it, each once (a reader walking
    /// the file in order then waits once per `readAheadWindows` windows).
    private func readAhead(around page: PageNumber) {
        guard let words = advisedWords else { return }
        let first = page / Self.readAheadPages
        for window in first..<(first + Self.readAheadWindows) { advise(window: window, words) }
    }

    /// Asks for `window` unless it was asked for already.
    private func advise(window: UInt64, _ words: UnsafeMutablePointer<Atomic<UInt64>>) {
        let start = window * Self.readAheadPages
        guard start < verifiedCapacity else { return }
        let bit: UInt64 = 1 << (window & 63)
        if words[Int(window >> 6)].bitwiseOr(bit, ordering: .relaxed).oldValue & bit != 0 { return }
        var chunk = start
        while chunk < start + Self.readAheadPages {
            Syscalls.adviseWillNeed(
                file.descriptor, offset: Int64(chunk) * Int64(PageLayout.size),
                length: Int(Self.adviceChunkPages) * PageLayout.size)
            chunk += Self.adviceChunkPages
        }
        advisedPages.add(Int(Self.readAheadPages), ordering: .relaxed)
    }

    /// How many pages this pager asked the kernel to read ahead (tests).
    let advisedPages = Atomic<Int>(0)

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
        if Self.firstTouchWaited(base) { readAhead(around: page) }
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
    func write(_ pages: [DirtyPage]) throws {
        let sorted = pages.sorted { $0.number < $1.number }
        try forEachRun(sorted.map(\.number)) { range, offset in
            if range.count == 1 {
                try file.write(UnsafeRawPointer(sorted[range.lowerBound].base), count: PageLayout.size, at: offset)
            } else {
                for k in range {
                    memcpy(staging + (k - range.lowerBound) * PageLayout.size, sorted[k].base, PageLayout.size)
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

    func sync() throws { try file.sync() }
}
