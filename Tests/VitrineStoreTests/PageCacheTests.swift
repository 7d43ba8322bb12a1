import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@_spi(Testing) @testable import VitrineStore

/// How the pager keeps the data file's page cache in small folios (Pager.swift, "Small folios,
/// and our own read-ahead"): the map asks for no read-around, writes are at most
/// `Pager.writeRunPages` pages long, and the pager reads ahead for cold readers (ReadAhead.swift).
@Suite struct PageCacheTests {
    /// A database of `count` products put in key order in one transaction: long runs of
    /// consecutive new pages, which before were written up to 64 pages per pwrite.
    private static func load(_ count: Int, path: String, options: DatabaseOptions = DatabaseOptions()) throws {
        let db = try Database(path: path, options: options)
        defer { db.close() }
        let value = [UInt8](repeating: 5, count: 200)
        try db.write { tx in
            let t = try tx.createTable("products")
            for i in 0..<count { try t.put(bytes(String(format: "p%08d", i)), value) }
        }
    }

    @Test func dataFileWritesAreAtMostOneRunLong() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let trace = IOTrace()
        trace.register(path)
        var options = DatabaseOptions()
        options.fileSystem = RecordingFileSystem(trace: trace)
        try Self.load(20_000, path: path, options: options)
        let lengths = trace.events.compactMap { event -> Int? in
            if case .write(let file, _, let b) = event, file == 0 { return b.count }
            return nil
        }
        // 16 KiB: a 4 KiB rewrite into a folio of that size still costs about what one into a
        // 4 KiB folio does (Pager.swift); 64 KiB folios cost three times as much.
        let most = 16 << 10
        #expect(lengths.count > 10)
        #expect(lengths.allSatisfy { $0 <= most }, "largest data-file write: \(lengths.max() ?? 0) bytes")
        #expect(lengths.contains(most), "runs of consecutive pages are still written together")
    }

    /// The address range of each mapping of `path` in /proc/self/smaps, with its VmFlags.
    private static func mappings(of path: String) throws -> [(start: UInt, flags: [Substring])] {
        // Read to the end, not by the file's size (procfs says 0).
        let handle = try #require(FileHandle(forReadingAtPath: "/proc/self/smaps"))
        defer { try? handle.close() }
        let smaps = String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        let path = URL(fileURLWithPath: path).resolvingSymlinksInPath().path // as the kernel prints it
        var found: [(UInt, [Substring])] = []
        var current: UInt? = nil
        for line in smaps.split(separator: "\n") {
            if line.hasPrefix("VmFlags:") {
                if let start = current { found.append((start, line.dropFirst(8).split(separator: " "))) }
                current = nil
            } else if line.hasSuffix(path), let dash = line.firstIndex(of: "-") {
                current = UInt(line[..<dash], radix: 16)
            }
        }
        return found
    }

    @Test func theMapAsksForNoReadAround() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        try Self.load(2_000, path: path)
        let db = try Database(path: path)
        defer { db.close() }
        let base = UInt(bitPattern: db.writerMapping.base)
        let maps = try Self.mappings(of: path)
        let ours = try #require(maps.first { $0.start == base })
        #expect(ours.flags.contains("rr"), "VmFlags: \(ours.flags.joined(separator: " "))")
    }

    private static func scanAll(_ db: Database) throws -> Int {
        try db.read { tx in
            var n = 0
            try tx.table("products")?.scan(from: []) { _, _ in
                n += 1
                return true
            }
            return n
        }
    }

    /// Evicts the (clean, closed) file at `path` from the page cache; says whether it left
    /// (on tmpfs it cannot: the page cache is the file, and no read there waits for a device,
    /// so the tests of the cold path have nothing to check).
    private static func evict(_ path: String) throws -> Bool {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        fsync(fd)
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let pages = size / PageLayout.size
        return try resident(path, pages: pages) < max(64, pages / 20)
    }

    /// Options whose read-ahead is 8 MiB in four 2 MiB windows, whatever the machine's device.
    private static func readingAhead(_ bytes: Int = 8 << 20) -> DatabaseOptions {
        var options = DatabaseOptions()
        options.readAheadBytes = bytes
        return options
    }

    /// What an open and a first read cost on a warm page cache (the recovery after a process
    /// crash reads hundreds of pages scattered over the file): no read-ahead call, even when a
    /// first touch was slow for another reason (the pages after it are in the page cache), and
    /// not even a look at the device's limits (sysfs) for it.
    @Test func aWarmPageCacheAsksForNoReadAhead() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        try Self.load(60_000, path: path) // ~3,800 pages in 8 windows, all in the page cache
        let db = try Database(path: path, options: Self.readingAhead())
        defer { db.close() }
        let value = try db.read { tx in
            try (0..<60_000).filter { $0 % 97 == 0 }.map { try tx.table("products")?.get(bytes(String(format: "p%08d", $0))) }
        }
        #expect(value.allSatisfy { $0 != nil })
        // What a first touch slowed by a preemption does:
        let end = try db.statistics().pageCount
        for page in [1_000, end - 10] {
            db.pager.readAhead.afterFirstTouch(of: page, waited: true, in: db.writerMapping, fileEnd: end)
        }
        #expect(db.pager.readAhead.askedPages.load(ordering: .relaxed) == 0)
        #expect(!db.pager.readAhead.hasLearnedSizes, "a slow first touch of a cached page read the device's limits")
    }

    @Test func aColdScanAsksForEachWindowOnce() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        try Self.load(30_000, path: path) // four windows of 512 pages
        guard try Self.evict(path) else { return }
        let db = try Database(path: path, options: Self.readingAhead())
        defer { db.close() }
        #expect(try Self.scanAll(db) == 30_000)
        let readAhead = db.pager.readAhead
        let pageCount = try db.statistics().pageCount
        let windows = Int((pageCount + readAhead.windowPages - 1) / readAhead.windowPages)
        let perWindow = Int(readAhead.windowPages)
        let asked = readAhead.askedPages.load(ordering: .relaxed) / perWindow
        #expect(asked >= windows - 1, "the windows holding leaves were asked for")
        #expect(asked <= windows + 2 * Int(ReadAhead.windowsPerRange), "no window twice (a few past the end once at most)")
        #expect(try Self.scanAll(db) == 30_000)
        #expect(readAhead.askedPages.load(ordering: .relaxed) == asked * perWindow, "a second scan asks for nothing")
    }

    /// A reader walking the file in order keeps the device reading ahead of it: one cold touch
    /// starts the read-ahead, the reader's own progress asks for the rest (the kernel's
    /// PG_readahead mark), instead of one wait for the device per range.
    @Test func aColdScanInFileOrderFollowsOn() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        try Self.load(60_000, path: path) // ~3,800 pages, leaves in key order
        guard try Self.evict(path) else { return }
        let db = try Database(path: path, options: Self.readingAhead(512 << 10)) // 128 KiB windows
        defer { db.close() }
        #expect(try Self.scanAll(db) == 60_000)
        let readAhead = db.pager.readAhead
        let ranges = try db.statistics().pageCount / (readAhead.windowPages * ReadAhead.windowsPerRange)
        let cold = readAhead.coldRanges.load(ordering: .relaxed)
        let followed = readAhead.followOnRanges.load(ordering: .relaxed)
        #expect(ranges >= 25)
        // A loaded machine breaks a chain now and then (a reader's touch of the trigger zone
        // slowed and skipped, or pages the reader skips); without the follow-on every range
        // starts cold.
        #expect(cold >= 1 && cold <= Int(ranges) / 4, "ranges started by a cold touch: \(cold) of \(ranges)")
        #expect(followed >= Int(ranges) / 2, "ranges asked for ahead of the reader: \(followed) of \(ranges)")
    }

    @Test func noReadAheadWhereTheDeviceHasNone() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        try Self.load(30_000, path: path)
        guard try Self.evict(path) else { return }
        let db = try Database(path: path, options: Self.readingAhead(0))
        defer { db.close() }
        #expect(try Self.scanAll(db) == 30_000)
        #expect(db.pager.readAhead.askedPages.load(ordering: .relaxed) == 0)
    }

    /// A sysfs tree with a disk `vda` (252:0) and its partition `vda1` (252:1), as the kernel
    /// lays it out: /sys/dev/block/MAJ:MIN links to the device's directory, a partition's
    /// directory sits inside its disk's, and only the disk has a `queue`.
    @Test func theDeviceReadAheadComesFromSysfs() throws {
        let dir = TempDir(); defer { dir.remove() }
        let root = dir.file()
        let fm = FileManager.default
        let disk = root + "/devices/virtio0/block/vda"
        try fm.createDirectory(atPath: disk + "/queue", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: disk + "/vda1", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/dev/block", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root + "/dev/block/252:0", withDestinationPath: "../../devices/virtio0/block/vda")
        try fm.createSymbolicLink(atPath: root + "/dev/block/252:1", withDestinationPath: "../../devices/virtio0/block/vda/vda1")
        func device(_ major: UInt64, _ minor: UInt64) -> UInt64 { (major << 8) | minor }
        func limits(_ readAhead: Int, _ call: Int) -> DeviceReadAhead.Limits {
            DeviceReadAhead.Limits(readAheadBytes: readAhead, largestCallBytes: call)
        }
        try "8192\n".write(toFile: disk + "/queue/read_ahead_kb", atomically: false, encoding: .utf8)
        #expect(DeviceReadAhead.limits(device: device(252, 0), sysfs: root) == limits(8 << 20, 8 << 20))
        #expect(DeviceReadAhead.limits(device: device(252, 1), sysfs: root) == limits(8 << 20, 8 << 20), "a partition: its disk's queue")
        #expect(DeviceReadAhead.limits(device: device(0, 37), sysfs: root) == nil, "no block device (tmpfs, overlayfs)")
        // A call reads up to the larger of the read-ahead size and the device's largest request.
        try "128\n".write(toFile: disk + "/queue/read_ahead_kb", atomically: false, encoding: .utf8)
        try "1280\n".write(toFile: disk + "/queue/max_sectors_kb", atomically: false, encoding: .utf8)
        #expect(DeviceReadAhead.limits(device: device(252, 1), sysfs: root) == limits(128 << 10, 1280 << 10))
        try "0\n".write(toFile: disk + "/queue/read_ahead_kb", atomically: false, encoding: .utf8)
        #expect(DeviceReadAhead.limits(device: device(252, 1), sysfs: root)?.readAheadBytes == 0)
        for junk in ["", "-1\n", "12a\n", "99999999999999999999\n"] {
            try junk.write(toFile: disk + "/queue/read_ahead_kb", atomically: false, encoding: .utf8)
            #expect(DeviceReadAhead.limits(device: device(252, 0), sysfs: root) == nil, "\(junk.debugDescription)")
        }
        // A minor number above 255 (bits 20-31 of dev_t, as glibc's makedev packs it).
        try fm.createSymbolicLink(atPath: root + "/dev/block/259:300", withDestinationPath: "../../devices/virtio0/block/vda")
        try "128\n".write(toFile: disk + "/queue/read_ahead_kb", atomically: false, encoding: .utf8)
        let wide: UInt64 = (259 << 8) | (300 & 0xff) | ((300 & ~0xff) << 12)
        #expect(DeviceReadAhead.limits(device: wide, sysfs: root)?.readAheadBytes == 128 << 10)
    }

    /// How many of the first `pages` pages of `path` are in the page cache (mincore).
    private static func resident(_ path: String, pages: Int) throws -> Int {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let length = pages * PageLayout.size
        let map = try #require(mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0))
        try #require(map != MAP_FAILED)
        defer { munmap(map, length) }
        var vector = [UInt8](repeating: 0, count: pages)
        try #require(mincore(map, length, &vector) == 0)
        return vector.reduce(0) { $0 + Int($1 & 1) }
    }

    /// With no read-around on faults, a cold first read must still bring its window in: the
    /// pager's own read-ahead, not the kernel's (which would make large folios).
    @Test func aColdFirstReadBringsItsWindowIn() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        try Self.load(30_000, path: path) // ~1,900 pages
        guard try Self.evict(path) else { return }
        // The whole file (~1,900 pages): within the windows one cold first touch asks for.
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let pages = size / PageLayout.size
        try #require(pages <= 8 << 20 / PageLayout.size)
        let db = try Database(path: path, options: Self.readingAhead())
        defer { db.close() }
        #expect(try db.read { try $0.table("products")?.get(bytes("p00000000")) } != nil)
        // The reads were submitted, not waited for (mincore counts a page once its read is
        // done): wait for them, up to 20 s.
        var now = 0
        for _ in 0..<2000 {
            now = try Self.resident(path, pages: pages)
            if now >= pages - 64 { break }
            usleep(10_000)
        }
        let readAhead = db.pager.readAhead
        #expect(
            now >= pages - 64,
            """
            \(now) of the first \(pages) pages in the page cache after one read \
            (\(readAhead.coldRanges.load(ordering: .relaxed)) cold ranges, \
            \(readAhead.askedPages.load(ordering: .relaxed)) pages asked)
            """)
    }
}
