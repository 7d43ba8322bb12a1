// The pager's read-ahead: what the kernel's read-around gave cold readers of the map, which the
// map turns off to keep the page cache in small folios (Pager.swift, "Small folios").
//
// A range is the device's read-ahead size (DeviceReadAhead.swift: about what the kernel's
// read-around would read), in `windowsPerRange` windows; each window is asked for once per
// process with POSIX_FADV_WILLNEED (which fills the page cache with small folios), in calls no
// larger than the kernel reads for one (one call per window unless a caller set the size).
//
// - A cold first touch (one that waited for the device) outside the windows asked for asks for
//   the range that starts at its page's window, unless the pages after it are already in the
//   page cache (then the wait was something else: a preemption, a busy machine; a warm page
//   cache asks for nothing).
// - Follow-on: a range asked for this way marks its second window as its trigger. A reader whose
//   first touch lands at the start of a trigger window (a reader walking the file in order;
//   whether that touch waited or not) asks
//   for the next range, which marks its own trigger, and so on: the device is still reading
//   ahead when the reader arrives, as with the kernel's PG_readahead mark. Only ranges that
//   started at a cold touch carry triggers, and a chain stops where the file is already in the
//   page cache.
// - The calls run on a queue of their own. Each costs the kernel about a microsecond per 4 KiB
//   page (allocating it, charging it, adding it to the page cache, building the request: 47 ms
//   of a 236 MiB cold scan here), which the reader would otherwise pay before its next page;
//   on the queue it runs beside the reader (the cold scan: 133 -> 113 ms).
//
// Not covered: pages evicted after their first touch in this process (a database larger than
// memory) come back one page per fault, as with MADV_RANDOM alone.

import Dispatch
import Synchronization

final class ReadAhead: @unchecked Sendable {
    /// Windows in a range.
    static let windowsPerRange: UInt64 = 4
    private static let unknown = UInt64.max
    /// Sizes are kept below 2^32 pages (16 TiB), to pack both into one word.
    private static let largestWindow: UInt64 = 1 << 31
    /// What the caller asked for, or nil for the device's read-ahead size.
    private let rangeBytes: Int?
    private let descriptor: Int32
    /// Pages in a window (0: the device reads nothing ahead, and neither does this) in the low
    /// 32 bits, pages per call above: `unknown` until the first slow touch. Finding the
    /// device's sizes, like making the queue, waits for a cold reader, so that an open on a
    /// warm page cache costs neither.
    private let knownSizes = Atomic<UInt64>(ReadAhead.unknown)
    /// Windows asked for (a window is at least a page: one bit per page the pager tracks).
    private let asked: AtomicBitmap
    /// Trigger windows (see the top of the file).
    private let triggers: AtomicBitmap
    private let queue = Mutex<DispatchQueue?>(nil)
    private let stopped = Atomic<Bool>(false)

    /// Pages asked for, ranges started by a cold touch, and ranges asked for by a reader
    /// reaching a trigger (tests).
    let askedPages = Atomic<Int>(0)
    let coldRanges = Atomic<Int>(0)
    let followOnRanges = Atomic<Int>(0)

    /// Read-ahead of `rangeBytes` at a time (rounded down to whole windows of pages; nil: the
    /// device's read-ahead size) on the file open as `descriptor`, for pages below
    /// `pageCapacity`.
    init(descriptor: Int32, rangeBytes: Int?, pageCapacity: UInt64) {
        self.descriptor = descriptor
        self.rangeBytes = rangeBytes
        asked = AtomicBitmap(capacity: pageCapacity)
        triggers = AtomicBitmap(capacity: pageCapacity)
    }

    // Not `stop()`: each queued call holds a reference, so none is left by now (and the last
    // one may be what releases this, on the queue, where waiting for the queue would never end).
    deinit {
        asked.deallocate()
        triggers.deallocate()
    }

    /// Waits for the calls already queued and makes sure no other runs: call before the
    /// descriptor is closed.
    func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        queue.withLock { $0 }?.sync {}
    }

    /// Pages in a window and pages per call, found out on first use.
    var sizes: (windowPages: UInt64, callPages: UInt64) {
        var known = knownSizes.load(ordering: .acquiring)
        if known == Self.unknown {
            let device = DeviceReadAhead.limits(descriptor: descriptor)
            let window = UInt64(max(0, rangeBytes ?? device.readAheadBytes) / PageLayout.size) / Self.windowsPerRange
            let call = UInt64(max(PageLayout.size, device.largestCallBytes) / PageLayout.size)
            known = min(window, Self.largestWindow) | min(call, Self.largestWindow) << 32
            knownSizes.store(known, ordering: .releasing)
        }
        return Self.unpack(known)
    }

    private static func unpack(_ known: UInt64) -> (windowPages: UInt64, callPages: UInt64) {
        (known & 0xffff_ffff, known >> 32)
    }

    /// Pages in a window.
    var windowPages: UInt64 { sizes.windowPages }

    /// Whether the device's limits have been looked up (at the first touch found cold).
    var hasLearnedSizes: Bool { knownSizes.load(ordering: .acquiring) != Self.unknown }

    /// Pages at the start of a window whose first touch fires the window's trigger (a reader
    /// that skips all of them, reading other tables' pages there, breaks the chain, and starts
    /// again with a cold touch).
    static func triggerZone(_ windowPages: UInt64) -> UInt64 { max(1, windowPages / 16) }

    /// After the first touch of `page` in this process; `waited`: it took long enough to have
    /// waited for the device. `fileEnd`: the pages the file holds, as far as the pager knows.
    @inline(__always) func afterFirstTouch(of page: PageNumber, waited: Bool, in mapping: Mapping, fileEnd: UInt64) {
        if followOn(from: page, in: mapping, fileEnd: fileEnd) || !waited { return }
        // Unless the pages just after this one are cached (the wait was something else: a
        // fresh process's first faults in a new map, a preemption, a busy machine), start a
        // range here. A few pages tell: a read from the device brought in this page's folio
        // alone (the map is `MADV_RANDOM`), while a touch that only faulted finds its
        // neighbours cached. Probing the whole window (512 pages on this machine's disk) cost
        // a page-cache lookup per page, and a fresh process's first faults take over
        // `coldReadNanoseconds`: opening a warm database and reading one key paid two such
        // probes and the device's limits from sysfs, ~a fifth of its time (`perf`, session 17).
        guard isCold(from: page + 1, Self.coldProbePages, in: mapping, fileEnd: fileEnd) else { return }
        let (windowPages, callPages) = sizes
        guard windowPages > 0 else { return }
        let first = page / windowPages
        // A wait inside a window asked for already was for the read in flight (the trigger
        // keeps the device ahead).
        guard !asked.contains(first) else { return }
        if askForRange(from: first, windowPages, callPages) { coldRanges.add(1, ordering: .relaxed) }
    }

    /// Pages after a slow first touch whose residence says whether the touch read the device.
    static let coldProbePages: UInt64 = 32

    /// Fires the trigger of `page`'s window, if it has one and the page is at the window's
    /// start, whether or not the touch waited (like PG_readahead). Says whether it fired.
    @inline(__always) private func followOn(from page: PageNumber, in mapping: Mapping, fileEnd: UInt64) -> Bool {
        // Unknown (no cold touch yet, so no trigger) or 0 both fail the test.
        let known = knownSizes.load(ordering: .acquiring)
        let (windowPages, callPages) = Self.unpack(known)
        guard known != Self.unknown, windowPages > 0, page % windowPages < Self.triggerZone(windowPages) else { return false }
        let window = page / windowPages
        guard triggers.remove(window) else { return false }
        // This range's trigger was its second window: the next range starts after its last.
        let next = window + Self.windowsPerRange - 1
        if isCold(from: next * windowPages, windowPages, in: mapping, fileEnd: fileEnd),
            askForRange(from: next, windowPages, callPages)
        {
            followOnRanges.add(1, ordering: .relaxed)
        }
        return true
    }

    /// Asks for the windows of the range from `first` not asked for before, and arms the
    /// range's trigger (its second window) if any was new. Says whether any was.
    private func askForRange(from first: UInt64, _ windowPages: UInt64, _ callPages: UInt64) -> Bool {
        let new = (first..<(first + Self.windowsPerRange)).filter { asked.insert($0) }
        guard !new.isEmpty else { return false }
        triggers.insert(first + 1)
        askedPages.add(new.count * Int(windowPages), ordering: .relaxed)
        let queue = queue.withLock { queue in
            if queue == nil { queue = DispatchQueue(label: "vitrine.read-ahead") }
            return queue
        }
        queue?.async { [self] in
            // A call reads at most `callPages` (the kernel's cap: see DeviceReadAhead.swift).
            let size = Int64(PageLayout.size)
            for window in new {
                var page = window * windowPages
                while page < (window + 1) * windowPages, !stopped.load(ordering: .relaxed) {
                    let pages = min(callPages, (window + 1) * windowPages - page)
                    Syscalls.adviseWillNeed(descriptor, offset: Int64(page) * size, length: Int(Int64(pages) * size))
                    page += pages
                }
            }
        }
        return true
    }

    /// Whether less than half of `count` pages from `page` on (those within the file and the
    /// map) are in the page cache: one `mincore`, on the cold paths only. Nothing to read (at or
    /// past the end of the file) is not cold.
    private func isCold(from page: PageNumber, _ count: UInt64, in mapping: Mapping, fileEnd: UInt64) -> Bool {
        let end = min(fileEnd, mapping.pageCapacity)
        guard page < end else { return false }
        let pages = min(count, end - page)
        let share = Syscalls.residentShare(mapping.base + Int(page) * PageLayout.size, length: Int(pages) * PageLayout.size)
        return (share ?? 0) < 0.5
    }
}
