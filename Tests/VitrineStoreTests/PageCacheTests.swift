import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@_spi(Testing) @testable import VitrineStore

/// How the pager keeps the data file's page cache in small folios (Pager.swift, "Small folios,
/// and our own read-ahead"): the map asks for no read-around, writes are at most
/// `Pager.writeRunPages` pages long, and the pager asks for each read-ahead window once.
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

    /// Evicts the (clean, closed) file at `path` from the page cache.
    private static func evict(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0)
        fsync(fd)
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
    }

    /// What an open and a first read cost on a warm page cache (the recovery after a process
    /// crash reads hundreds of pages scattered over the file): no read-ahead call.
    @Test func aWarmPageCacheAsksForNoReadAhead() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        try Self.load(60_000, path: path) // ~3,800 pages in 8 windows, all in the page cache
        let db = try Database(path: path)
        defer { db.close() }
        let value = try db.read { tx in
            try (0..<60_000).filter { $0 % 97 == 0 }.map { try tx.table("products")?.get(bytes(String(format: "p%08d", $0))) }
        }
        #expect(value.allSatisfy { $0 != nil })
        // A first touch slowed by something else (a preemption, a busy machine) asks for its
        // two windows: allow one such in ~650 first touches of leaves all over the file.
        #expect(db.pager.advisedPages.load(ordering: .relaxed) <= 2 * Int(Pager.readAheadPages))
    }

    @Test func aColdScanAsksForEachWindowOnce() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        try Self.load(30_000, path: path) // four windows of 512 pages
        try Self.evict(path)
        let db = try Database(path: path)
        defer { db.close() }
        #expect(try Self.scanAll(db) == 30_000)
        let pageCount = try db.statistics().pageCount
        let windows = Int((pageCount + Pager.readAheadPages - 1) / Pager.readAheadPages)
        let perWindow = Int(Pager.readAheadPages)
        let asked = db.pager.advisedPages.load(ordering: .relaxed) / perWindow
        #expect(asked >= windows - 1, "the windows holding leaves were asked for")
        #expect(asked <= windows + Int(Pager.readAheadWindows), "no window twice (a few past the end once at most)")
        #expect(try Self.scanAll(db) == 30_000)
        #expect(db.pager.advisedPages.load(ordering: .relaxed) == asked * perWindow, "a second scan asks for nothing")
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
        try Self.evict(path)
        // The whole file (~1,900 pages): within the windows one cold first touch asks for.
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let pages = size / PageLayout.size
        try #require(UInt64(pages) <= Pager.readAheadWindows * Pager.readAheadPages)
        try #require(try Self.resident(path, pages: pages) < 64, "the file left the page cache")
        let db = try Database(path: path)
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
        #expect(now >= pages - 64, "\(now) of the first \(pages) pages in the page cache after one read")
    }
}
