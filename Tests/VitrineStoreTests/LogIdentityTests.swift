import Foundation
import Testing

@testable import VitrineStore

/// Which log belongs to which data file, and damage in the middle of a log (issue 14, items 6
/// and 7): a damaged record that a later intact record vouches for refuses the open, naming its
/// offset, and leaves the log as it was; a torn group write still recovers a prefix; the log of
/// a diverged copy of the database is refused, not replayed; format-1 files still open.
@Suite struct LogIdentityTests {
    /// Copies of the database's two files as they are now (the database still open: what a
    /// crash at this point leaves, since every acknowledged record has been written).
    static func snapshot(_ path: String) throws -> (data: [UInt8], log: [UInt8]) {
        (try readAll(path), try readAll(path + "-wal"))
    }

    static func restore(_ files: (data: [UInt8], log: [UInt8]), to path: String) throws {
        try writeAll(path, files.data)
        try writeAll(path + "-wal", files.log)
    }

    /// Offsets of the records of the log's current run, from 4096 (format 2).
    static func recordOffsets(_ log: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var o = Int(LogFormat.firstRecordOffset)
        while o + LogFormat.recordHeaderSize <= log.count {
            let length = (0..<4).reduce(0) { $0 | Int(log[o + 4 + $1]) << (8 * $1) }
            let generation = (0..<8).reduce(UInt64(0)) { $0 | UInt64(log[o + 8 + $1]) << (8 * UInt64($1)) }
            if generation == 0 { break }
            offsets.append(o)
            o += LogFormat.recordHeaderSize + length
        }
        return offsets
    }

    static func value(_ db: Database, _ key: String) throws -> String? {
        try db.read { tx in
            guard let t = try tx.table("t"), let v = try t.get(bytes(key)) else { return nil }
            return String(decoding: v, as: UTF8.self)
        }
    }

    /// Five commits after the first open, each its own record; the files as a crash leaves them.
    static func fiveLoggedCommits(_ path: String, durability: Durability = .full) throws -> (data: [UInt8], log: [UInt8]) {
        var options = DatabaseOptions(durability: durability)
        options.relaxedSyncIntervalMilliseconds = 3_600_000 // .relaxed: nothing synced in the test
        let db = try Database(path: path, options: options)
        for i in 1...5 {
            try db.write { tx in try tx.createTable("t").put(bytes("k\(i)"), bytes(String(repeating: "v\(i)", count: 50))) }
        }
        let files = try snapshot(path)
        db.close()
        return files
    }

    // MARK: - Item 6: damage in the middle of the log

    /// Was: recovery stopped at the damaged record and cut the log back, silently dropping the
    /// three acknowledged commits after it.
    @Test func damagedRecordBeforeAcknowledgedOnesRefusesTheOpen() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        var files = try Self.fiveLoggedCommits(path)
        let offsets = Self.recordOffsets(files.log)
        #expect(offsets.count == 5)
        let damaged = offsets[1]
        files.log[damaged + LogFormat.recordHeaderSize + 3] ^= 0x10 // a payload byte of txid 2
        try Self.restore(files, to: path)
        #expect {
            _ = try Database(path: path)
        } throws: { error in
            guard case .corruptLog(let offset, let why)? = error as? StoreError else { return false }
            return offset == Int64(damaged) && why.contains("damaged in the middle")
        }
        // Nothing was cut: the commits after the damage are still in the file.
        #expect(try readAll(path + "-wal") == files.log)
        // The documented way out: cut the log at the reported offset; the prefix is recovered.
        try writeAll(path + "-wal", Array(files.log.prefix(damaged)))
        let db = try Database(path: path)
        defer { db.close() }
        #expect(try Self.value(db, "k1") != nil)
        #expect(try Self.value(db, "k2") == nil)
    }

    /// A torn multi-record write (.relaxed, nothing synced): a bad record followed by intact ones
    /// that no sync covered is a crash outcome, not damage; the prefix is recovered as before.
    @Test func tornWriteWithIntactRecordsAfterItStillRecoversAPrefix() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        var files = try Self.fiveLoggedCommits(path, durability: .relaxed)
        let offsets = Self.recordOffsets(files.log)
        #expect(offsets.count == 5)
        // The block holding txid 3 never reached the disk: zeros where it was.
        for i in offsets[2]..<offsets[3] { files.log[i] = 0 }
        try Self.restore(files, to: path)
        let db = try Database(path: path)
        defer { db.close() }
        #expect(try Self.value(db, "k2") != nil)
        #expect(try Self.value(db, "k3") == nil)
        #expect(try Self.value(db, "k4") == nil)
    }

    /// The last record damaged: nothing vouches for it, so it reads as a torn tail.
    @Test func damagedLastRecordReadsAsATornTail() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        var files = try Self.fiveLoggedCommits(path)
        let offsets = Self.recordOffsets(files.log)
        files.log[offsets[4] + LogFormat.recordHeaderSize + 3] ^= 0x10
        try Self.restore(files, to: path)
        let db = try Database(path: path)
        defer { db.close() }
        #expect(try Self.value(db, "k4") != nil)
        #expect(try Self.value(db, "k5") == nil)
    }

    // MARK: - Item 7: the log of a diverged copy

    /// Was: the other copy's log was replayed onto this file (same database id, generation and
    /// txids): its commits appeared here, and this file's own were gone without a word.
    @Test func logOfADivergedCopyIsNotReplayed() throws {
        let dir = TempDir(); defer { dir.remove() }
        let a = dir.file("a.db"), b = dir.file("b.db")
        do {
            let db = try Database(path: a)
            try db.write { tx in try tx.createTable("t").put(bytes("common"), bytes("before the copy")) }
            db.close()
        }
        try Self.restore(try Self.snapshot(a), to: b)
        var crashed: [String: (data: [UInt8], log: [UInt8])] = [:]
        for (path, key) in [(a, "only-a"), (b, "only-b")] {
            let db = try Database(path: path)
            try db.write { tx in try tx.createTable("t").put(bytes(key), bytes("acknowledged")) }
            crashed[path] = try Self.snapshot(path)
            db.close()
        }
        let ca = try #require(crashed[a]), cb = try #require(crashed[b])
        // a's data file with b's log, and the other way round.
        for (data, log, path) in [(ca.data, cb.log, a), (cb.data, ca.log, b)] {
            try Self.restore((data, log), to: path)
            #expect {
                _ = try Database(path: path)
            } throws: { error in
                guard case .corruptLog(0, let why)? = error as? StoreError else { return false }
                return why.contains("another copy")
            }
            #expect(try readAll(path + "-wal") == log, "the foreign log must be left as it was")
        }
        // Its header damaged, the foreign log is still recognised by its records' salt.
        var headerless = cb.log
        for i in 0..<LogFormat.headerSize { headerless[i] = 0 }
        try Self.restore((ca.data, headerless), to: a)
        #expect {
            _ = try Database(path: a)
        } throws: { error in
            guard case .corruptLog(let offset, let why)? = error as? StoreError else { return false }
            return offset == LogFormat.firstRecordOffset && why.contains("another copy")
        }
        // Each file with its own log: its own commit, not the other's.
        try Self.restore(ca, to: a)
        try Self.restore(cb, to: b)
        for (path, mine, theirs) in [(a, "only-a", "only-b"), (b, "only-b", "only-a")] {
            let db = try Database(path: path)
            #expect(try Self.value(db, mine) == "acknowledged")
            #expect(try Self.value(db, theirs) == nil)
            #expect(try Self.value(db, "common") == "before the copy")
            db.close()
        }
    }

    /// The newest meta slot (which named the log's generation) damaged: the other slot describes
    /// the same checkpoint, and the log is still replayed.
    @Test func logStillReplaysWhenTheMetaNamingItIsDamaged() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        var files = try Self.fiveLoggedCommits(path)
        let newest = try HostileValueTests.newestMeta(path)
        files.data[Int(newest.slot) * PageLayout.size + 100] ^= 1
        try Self.restore(files, to: path)
        let db = try Database(path: path)
        defer { db.close() }
        #expect(try Self.value(db, "k5") != nil)
    }

    // MARK: - Format 1 files

    /// Rewrites the file at `path` (closed cleanly) as format 1: meta pages of version 1 without
    /// salt, and a version-1 log holding `records` (a put of `key` into table id 1 each).
    static func makeFormat1(_ path: String, records: [(key: String, value: String)]) throws {
        let meta = try HostileValueTests.newestMeta(path)
        var data = try readAll(path)
        for slot in 0..<2 {
            let o = slot * PageLayout.size
            guard case .valid(var m) = Meta.decode(Array(data[o..<(o + PageLayout.size)])) else { continue }
            m.logSalt = 0
            var page = m.encode()
            page[8] = 1
            let crc = CRC32C.checksum(Array(page[0..<MetaPage.checksumOffset]))
            for k in 0..<4 { page[MetaPage.checksumOffset + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
            data.replaceSubrange(o..<(o + PageLayout.size), with: page)
        }
        try writeAll(path, data)
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        var header = LogFormat.magic + le(1, 4) + le(0, 4) + le(meta.logGeneration, 8) + le(meta.txid, 8) + le(meta.databaseId, 8)
        header += le(UInt64(CRC32C.checksum(header)), 4)
        var log = header + [UInt8](repeating: 0, count: Int(LogFormat.firstRecordOffset) - header.count)
        for (i, r) in records.enumerated() {
            var builder = LogRecordBuilder()
            builder.put(table: 1, key: bytes(r.key), value: bytes(r.value))
            let payload = Array(builder.bytes[LogFormat.recordHeaderSize...])
            var record =
                le(UInt64(payload.count), 4) + le(meta.logGeneration, 8) + le(meta.txid + 1 + UInt64(i), 8)
                + le(1, 4) + le(meta.databaseId & 0xFFFF_FFFF, 4) + payload
            record = le(UInt64(CRC32C.checksum(record)), 4) + record
            log += record
        }
        try writeAll(path + "-wal", log)
    }

    @Test func format1FilesAreReplayedAndUpgraded() throws {
        for pending in [[], [("k2", "from a format-1 log"), ("k3", "also")]] {
            let dir = TempDir(); defer { dir.remove() }
            let path = dir.file()
            do {
                let db = try Database(path: path)
                try db.write { tx in try tx.createTable("t").put(bytes("k1"), bytes("checkpointed")) }
                db.close()
            }
            try Self.makeFormat1(path, records: pending)
            do {
                let db = try Database(path: path)
                #expect(try Self.value(db, "k1") == "checkpointed")
                for (k, v) in pending { #expect(try Self.value(db, k) == v) }
                try db.write { tx in try tx.createTable("t").put(bytes("k4"), bytes("format 2")) }
                let files = try Self.snapshot(path) // a crash now: format-2 meta and log
                db.close()
                try Self.restore(files, to: path)
            }
            let meta = try HostileValueTests.newestMeta(path)
            #expect(meta.logSalt != 0)
            #expect(try readAll(path)[Int(meta.slot) * PageLayout.size + 8] == 2)
            #expect(try readAll(path + "-wal")[8] == UInt8(LogFormat.version))
            let db = try Database(path: path)
            defer { db.close() }
            #expect(try Self.value(db, "k4") == "format 2")
            for (k, v) in pending { #expect(try Self.value(db, k) == v) }
        }
    }
}
