import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@_spi(Testing) @testable import VitrineStore

/// The log header's record limit (format 4, formats/write-ahead-log.md section 3): it covers
/// every record written, stays within its room of the last one, and bounds recovery's damage
/// search; logs with a version-3 header (no limit) are still recovered. The power-cut campaign
/// (CrashTests) checks in every state that no intact record ends past the limit on disk.
@Suite struct LogRecordLimitTests {
    static let step: Int64 = 16 << 10

    private static func options(_ durability: Durability) -> DatabaseOptions {
        var options = DatabaseOptions(durability: durability)
        options.logLimitStep = step
        options.logGrowthBytes = 64 << 10
        return options
    }

    /// A `.full` session that committed `commits` puts (key `k<i>`, `value(i)`) and was killed:
    /// its data file and log as it left them.
    private static func killedSession(path: String, commits: Int, value: (Int) -> [UInt8]) throws -> (data: [UInt8], log: [UInt8]) {
        let db = try Database(path: path, options: options(.full))
        for i in 0..<commits {
            try db.write { try $0.createTable("t").put(bytes("k\(i)"), value(i)) }
        }
        let files = (data: try readAll(path), log: try readAll(path + "-wal")) // kill -9
        db.close()
        return files
    }

    /// Puts a killed session's data file back with `log` as its log.
    private static func putBack(_ data: [UInt8], log: [UInt8], at path: String) throws {
        try writeAll(path, data)
        try writeAll(path + "-wal", log)
    }

    @Test(arguments: [Durability.full, .grouped, .relaxed])
    func limitCoversEveryRecordWithinAStep(durability: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: Self.options(durability))
        defer { db.close() }
        let value = [UInt8](repeating: 3, count: 700)
        var raises = 0
        var last: Int64 = 0
        for i in 0..<200 {
            try db.write { try $0.createTable("t").put(bytes("k\(i)"), value) }
            try db.log.sync()
            let file = try PosixFileSystem().open(path: dir.file() + "-wal", create: false)
            defer { file.close() }
            let header = try #require(try WriteAheadLog.readHeader(file))
            #expect(header.version == LogFormat.version)
            if durability == .relaxed {
                // No limit in .relaxed: raising one would sync in the commit path.
                #expect(header.recordLimit == nil)
                continue
            }
            let limit = try #require(header.recordLimit)
            let end = db.log.writeOffset
            #expect(header.version == LogFormat.version)
            #expect(limit >= end, "record \(i) ends at \(end), past the limit \(limit) on disk")
            // The room a raise leaves: the step, or a quarter of the records, rounded to a block.
            let room = max(Self.step, (end - LogFormat.firstRecordOffset) / 4) + 4095
            #expect(limit <= end + room, "the limit \(limit) leaves more than \(room) bytes past the last record's end \(end)")
            if limit != last { raises += 1 }
            last = limit
        }
        if durability != .relaxed { #expect(raises >= 5, "200 records of 700 bytes cross several 16 KiB steps") }
    }

    /// A session killed after some commits, its log header rewritten as version 3 (no record
    /// limit): the next open recovers every commit, and the damage search covers the file.
    @Test func versionThreeHeaderIsStillRecovered() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let killed = try Self.killedSession(path: path, commits: 50) { bytes("v\($0)") }
        var log = killed.log
        let header = Array(log[0..<48]) // a version-3 header: the same 48 bytes of fields
        var v3 = header
        v3.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(3).littleEndian, toByteOffset: 8, as: UInt32.self) }
        v3 += withUnsafeBytes(of: CRC32C.checksum(v3).littleEndian) { Array($0) }
        log.replaceSubrange(0..<60, with: v3 + [UInt8](repeating: 0, count: 8))
        try Self.putBack(killed.data, log: log, at: path)
        let reopened = try Database(path: path)
        defer { reopened.close() }
        #expect(try reopened.statistics().recovery.records == 50)
        for i in 0..<50 {
            #expect(try reopened.read { try $0.table("t")?.get(bytes("k\(i)")) } == bytes("v\(i)"))
        }
    }

    /// Damage in the middle of the log, vouched for by a later record within the limit, is
    /// still an error; the same log with the vouching records moved past a (forged, lower)
    /// limit reads as a torn tail, which shows the search stops at the limit.
    @Test func damageSearchStopsAtTheLimit() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let killed = try Self.killedSession(path: path, commits: 40) { [UInt8](repeating: UInt8($0), count: 300) }
        let offsets = LogIdentityTests.recordOffsets(killed.log)
        #expect(offsets.count == 40)
        var damaged = killed.log
        damaged[offsets[10] + LogFormat.recordHeaderSize + 1] ^= 0xff
        try Self.putBack(killed.data, log: damaged, at: path)
        #expect(throws: StoreError.self) { try Database(path: path).close() }

        // The header's limit lowered to the damaged record's end: the records vouching for it
        // lie past the limit, so they are not looked at (a writer never puts them there).
        let file = try PosixFileSystem().open(path: path + "-wal", create: false)
        let header = try #require(try WriteAheadLog.readHeader(file))
        file.close()
        let forged = WriteAheadLog.encodeHeader(
            generation: header.generation, baseTxid: header.baseTxid, databaseId: header.databaseId, salt: header.salt,
            recordLimit: Int64(offsets[11]))
        damaged.replaceSubrange(0..<forged.count, with: forged)
        try Self.putBack(killed.data, log: damaged, at: path)
        let reopened = try Database(path: path)
        defer { reopened.close() }
        #expect(try reopened.statistics().recovery.records == 10)
    }
}

extension LogRecordLimitTests {
    /// Every power-cut state of `events` (applied to `base`) in which all unsynced writes but
    /// the log's header writes survived: the records are on disk, the header that covers them
    /// may not be. Returns the states where a record ends past the limit of the header on disk.
    static func recordsBeyondTheLimitOnDisk(_ events: [IOEvent], base: [[UInt8]]) -> [String] {
        var disk = PowerCutState(base: base)
        var failures: [String] = []
        for cut in 0...events.count {
            var files = disk.durable
            for e in disk.volatile {
                if case .write(1, 0, _) = e { continue }
                DiskImage.apply(e, to: &files)
            }
            if files.count > 1, let beyond = CrashTests.recordBeyondLimit(files[1]) {
                failures.append("cut \(cut): \(beyond)")
            }
            if cut == events.count { break }
            disk.advance(past: events[cut])
        }
        return failures
    }

    /// The shrink at the end of a bulk load writes the current generation's header (limit 4096)
    /// and syncs it; the commits after the load continue that generation. The first record
    /// raises the limit of a header already on disk, so the raised header must be durable before
    /// the record is written, as for any later raise (the log here goes through the page cache).
    @Test(arguments: [Durability.full, .grouped, .relaxed])
    func firstRaiseAfterTheShrinksHeaderIsDurableFirst(durability: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        do { let db = try Database(path: path); db.close() }
        let base = [readFile(path), readFile(path + "-wal")]
        let trace = IOTrace()
        trace.register(path)
        trace.register(path + "-wal")
        var options = Self.options(durability)
        options.fileSystem = RecordingFileSystem(trace: trace)
        let db = try Database(path: path, options: options)
        try db.bulkLoad {
            for i in 0..<3 { try db.write { try $0.createTable("t").put(bytes("b\(i)"), [UInt8](repeating: 1, count: 500)) } }
        }
        for i in 0..<5 { try db.write { try $0.createTable("t").put(bytes("k\(i)"), [UInt8](repeating: 2, count: 500)) } }
        try db.log.sync()
        db.close()
        let failures = Self.recordsBeyondTheLimitOnDisk(trace.events, base: base)
        #expect(failures.isEmpty, "\(failures.prefix(3))")
    }
}

extension LogRecordLimitTests {
    /// A header that checks out with a record limit no writer puts there (below the first
    /// record, at or past 2^63, the largest u64) is read without a trap: the records before it
    /// are recovered, and a limit past the file bounds the damage search by the file's end.
    @Test(arguments: [UInt64(1), 4095, 1 << 63, UInt64.max])
    func hostileLimitsNeverTrap(limit: UInt64) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let killed = try Self.killedSession(path: path, commits: 30) { [UInt8](repeating: UInt8($0), count: 300) }
        func withLimit(_ log: [UInt8]) -> [UInt8] {
            var log = log
            log.withUnsafeMutableBytes { $0.storeBytes(of: limit.littleEndian, toByteOffset: 48, as: UInt64.self) }
            let fields = LogFormat.headerFields(version: LogFormat.version)
            let crc = CRC32C.checksum(Array(log[0..<fields]))
            log.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: fields, as: UInt32.self) }
            return log
        }
        try Self.putBack(killed.data, log: withLimit(killed.log), at: path)
        do {
            let reopened = try Database(path: path)
            defer { reopened.close() }
            #expect(try reopened.statistics().recovery.records == 30)
        }
        // Damage in the middle: found when the limit lies past the vouching records.
        let offsets = LogIdentityTests.recordOffsets(killed.log)
        var damaged = withLimit(killed.log)
        damaged[offsets[10] + LogFormat.recordHeaderSize + 1] ^= 0xff
        try Self.putBack(killed.data, log: damaged, at: path)
        if limit >= UInt64(killed.log.count) {
            #expect(throws: StoreError.self) { try Database(path: path).close() }
        } else {
            let reopened = try Database(path: path)
            defer { reopened.close() }
            #expect(try reopened.statistics().recovery.records == 10)
        }
    }
}
