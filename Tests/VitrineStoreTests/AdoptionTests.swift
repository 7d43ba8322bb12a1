import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// Recovery by adoption (Adoption.swift): after a process crash in this boot, the last record's
/// state is taken from the records' page summaries; anything that does not check out is
/// re-executed instead, with the same result.
@Suite struct AdoptionTests {
    typealias Model = CrashTests.Model

    /// Puts a killed session's files back at `path`, as the kill left them.
    static func putBack(_ killed: (data: [UInt8], log: [UInt8], model: Model), at path: String) {
        writeFile(path, killed.data)
        writeFile(path + "-wal", killed.log)
    }

    /// A session killed after `transactions` commits (splits, merges, overflow values, a dropped
    /// table, a checkpoint partway so that checkpoint pages are freed after it): the files as
    /// the page cache held them, and the contents the commits acknowledged.
    static func killedSession(path: String, seed: UInt64, transactions: Int) throws -> (data: [UInt8], log: [UInt8], model: Model) {
        var rng = SeededRandom(seed: seed)
        var model: Model = [:]
        let db = try Database(path: path)
        for i in 0..<transactions {
            var next = model
            try db.write { tx in
                if i == transactions / 3 {
                    try tx.dropTable("gone")
                    next["gone"] = nil
                    return
                }
                let name = i % 7 == 0 ? "gone" : "products"
                let table = try tx.createTable(name)
                for _ in 0..<Int.random(in: 1...60, using: &rng) {
                    let key = Array("p\(Int.random(in: 0..<3000, using: &rng))".utf8)
                    if Int.random(in: 0..<4, using: &rng) == 0 {
                        try table.delete(key)
                        next[name]?[key] = nil
                    } else {
                        let size = Int.random(in: 0..<20, using: &rng) == 0 ? 5000 : Int.random(in: 20...300, using: &rng)
                        let value = [UInt8](repeating: UInt8.random(in: 0...255, using: &rng), count: size)
                        try table.put(key, value)
                        next[name, default: [:]][key] = value
                    }
                }
            }
            model = next
            if i == transactions / 2 { try db.checkpoint() }
        }
        let files = (readFile(path), readFile(path + "-wal")) // kill -9 here
        db.close()
        return (files.0, files.1, model)
    }

    /// The model and contents helpers are CrashTests' (same shape of model; empty tables
    /// count as absent).
    static func contents(_ db: Database) throws -> Model { try CrashTests.contents(db).filter { !$0.value.isEmpty } }

    static func nonEmpty(_ m: Model) -> Model { m.filter { !$0.value.isEmpty } }

    /// Opens `path` (the files already there), checks the method, the contents, the structure,
    /// then writes, closes, reopens and checks again (the rebuilt free list must be exact).
    static func recover(_ path: String, expecting method: RecoveryReport.Method, model: Model) throws {
        let db = try Database(path: path)
        #expect(try db.statistics().recovery.method == method)
        #expect(try contents(db) == nonEmpty(model))
        let report = try db.verify()
        #expect(report.isClean, "\(report)")
        try db.write { tx in
            let t = try tx.createTable("products")
            for i in 0..<500 { try t.put(Array("after\(i)".utf8), [UInt8](repeating: 7, count: 100)) }
        }
        db.close()
        let again = try Database(path: path)
        defer { again.close() }
        #expect(try again.statistics().recovery.method == RecoveryReport.Method.none)
        #expect(try again.verify().isClean)
        var expected = nonEmpty(model)
        for i in 0..<500 { expected["products", default: [:]][Array("after\(i)".utf8)] = [UInt8](repeating: 7, count: 100) }
        #expect(try contents(again) == expected)
    }

    /// The log of `killed` with every record's page digest cut off (records as format 4 wrote
    /// them), the header saying `version`.
    static func withoutPageDigests(_ log: [UInt8], headerVersion version: UInt32) -> [UInt8] {
        func u32(_ b: [UInt8], _ o: Int) -> Int {
            Int(UInt32(littleEndian: b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: o, as: UInt32.self) }))
        }
        func put32(_ b: inout [UInt8], _ o: Int, _ v: UInt32) {
            b.withUnsafeMutableBytes { $0.storeBytes(of: v.littleEndian, toByteOffset: o, as: UInt32.self) }
        }
        var header = Array(log[0..<Int(LogFormat.firstRecordOffset)])
        put32(&header, 8, version)
        put32(&header, LogFormat.version4HeaderSize, CRC32C.checksum(Array(header[0..<LogFormat.version4HeaderSize])))
        var out = header
        var offset = Int(LogFormat.firstRecordOffset)
        while offset + LogFormat.recordHeaderSize <= log.count {
            let length = u32(log, offset + 4)
            let end = offset + LogFormat.recordHeaderSize + length
            guard length > 0, end <= log.count,
                u32(log, offset) == Int(CRC32C.checksum(Array(log[(offset + 4)..<end])))
            else { break }
            var record = Array(log[offset..<(end - PageSummary.digestSize)])
            put32(&record, 4, UInt32(length - PageSummary.digestSize))
            put32(&record, 0, CRC32C.checksum(Array(record[4...])))
            out += record
            offset = end
        }
        return out
    }

    /// Logs of format 4 (written before the page digest, when every commit wrote its pages
    /// before its record) are still adopted; a format-5 log whose last record has no digest is
    /// not (its pages might be a page writer's that never came): it is replayed, and both give
    /// the acknowledged contents.
    @Test func aFormat4LogIsAdoptedAndADigestlessFormat5LogReplayed() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        let killed = try Self.killedSession(path: path, seed: 5, transactions: 30)
        for (version, method) in [(UInt32(4), RecoveryReport.Method.adopted), (5, .replayed)] {
            Self.putBack((killed.data, Self.withoutPageDigests(killed.log, headerVersion: version), killed.model), at: path)
            try Self.recover(path, expecting: method, model: killed.model)
        }
        // And as written (format 5, with digests): adopted.
        Self.putBack(killed, at: path)
        try Self.recover(path, expecting: .adopted, model: killed.model)
    }

    /// The page summary with and without its digest: the length tells them apart; any other
    /// length is refused.
    @Test func pageSummariesCarryTheirDigest() {
        let summary = PageSummary(catalogRoot: 9, nextTableId: 3, pageCount: 40, origin: nil, allocated: [5, 7, 30], freed: [2, 11])
        for digest in [nil, UInt64(0xFEED_FACE_CAFE_BEEF)] {
            var with = summary
            with.pageDigest = digest
            var bytes: [UInt8] = []
            with.encode(into: &bytes)
            #expect(bytes.count == PageSummary.fixedSize + 8 * 5 + (digest == nil ? 0 : PageSummary.digestSize))
            let decoded = PageSummary.decode(bytes[...])
            #expect(decoded?.pageDigest == digest)
            #expect(decoded?.allocated == [5, 7, 30] && decoded?.freed == [2, 11])
            #expect(PageSummary.decode((bytes + [0, 0, 0, 0])[...]) == nil)
        }
        // The digest depends on each page's number and checksum, not on their order.
        let a = PageSummary.digestTerm(page: 5, checksum: 1) &+ PageSummary.digestTerm(page: 7, checksum: 2)
        let b = PageSummary.digestTerm(page: 7, checksum: 2) &+ PageSummary.digestTerm(page: 5, checksum: 1)
        #expect(a == b)
        #expect(a != PageSummary.digestTerm(page: 5, checksum: 2) &+ PageSummary.digestTerm(page: 7, checksum: 1))
    }

    @Test func aKilledSessionIsAdoptedAndACopyReplayed() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        let seed = envSeed(default: 11)
        let killed = try Self.killedSession(path: path, seed: seed, transactions: 80)
        // The same file (same inode and birth time), same boot: adopted.
        Self.putBack(killed, at: path)
        try Self.recover(path, expecting: .adopted, model: killed.model)
        // A copy is another file: its records are re-executed, to the same state.
        let copy = dir.file("copy")
        writeFile(copy, killed.data)
        writeFile(copy + "-wal", killed.log)
        try Self.recover(copy, expecting: .replayed, model: killed.model)
        print("adoption: seed \(seed), \(killed.model["products"]?.count ?? 0) products, \(killed.log.count) log bytes")
    }

    /// The page summary of the record at `offset`: where it starts in the log image.
    static func summaryStart(_ log: [UInt8], record offset: Int) -> (start: Int, end: Int) {
        let length = (0..<4).reduce(0) { $0 | Int(log[offset + 4 + $1]) << (8 * $1) }
        let count = (0..<4).reduce(0) { $0 | Int(log[offset + 40 + $1]) << (8 * $1) }
        let end = offset + LogFormat.recordHeaderSize + length
        var reader = LogPayloadReader(bytes: log[offset..<end], start: offset + LogFormat.recordHeaderSize)
        for _ in 0..<count { _ = reader.skipOperation() }
        return (reader.position, end)
    }

    static func u64(_ log: [UInt8], _ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(log[at + $1]) << (8 * UInt64($1)) } }
    static func setU64(_ log: inout [UInt8], _ at: Int, _ v: UInt64) {
        for k in 0..<8 { log[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
    }

    /// Summaries that contradict each other or the file, with valid checksums (crafted, or a
    /// bug): never trusted, never a trap; the records are re-executed instead.
    @Test func summariesThatDoNotCheckOutAreReplayedInstead() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        let killed = try Self.killedSession(path: path, seed: 5, transactions: 40)
        let offsets = LogIdentityTests.recordOffsets(killed.log)
        #expect(offsets.count >= 10)
        let last = try #require(offsets.last)
        let middle = offsets[offsets.count / 2]
        // Each lie: (record, what to change in its summary).
        let lies: [(String, Int, (inout [UInt8], Int) -> Void)] = [
            ("allocates a meta page", middle, { log, s in if Self.u64(log, s + 64) & 0xffff_ffff > 0 { Self.setU64(&log, s + 72, 1) } }),
            (
                "allocates a page an earlier record allocated", last,
                { log, s in
                    let earlier = Self.summaryStart(log, record: middle).start
                    Self.setU64(&log, s + 72, Self.u64(log, earlier + 72))
                }
            ),
            ("page count beyond any file", last, { log, s in Self.setU64(&log, s + 16, 1 << 40) }),
            ("page count shrinks", middle, { log, s in Self.setU64(&log, s + 16, 3) }),
            ("catalog root on a free page", last, { log, s in Self.setU64(&log, s + 0, Self.u64(log, s + 16) + 5) }),
            ("next table id too small", last, { log, s in Self.setU64(&log, s + 8, 0) }),
            ("catalog root on a meta page", last, { log, s in Self.setU64(&log, s + 0, 1) }),
            (
                "frees the same page twice", last,
                { log, s in
                    let a = Int(Self.u64(log, s + 64) & 0xffff_ffff), f = Int(Self.u64(log, s + 64) >> 32)
                    if f >= 2 { Self.setU64(&log, s + 72 + 8 * (a + 1), Self.u64(log, s + 72 + 8 * a)) }
                }
            ),
        ]
        // The control: the same files, no lie, are adopted.
        Self.putBack(killed, at: path)
        do {
            let db = try Database(path: path)
            #expect(try db.statistics().recovery.method == .adopted)
            db.close()
        }
        for (name, record, lie) in lies {
            var log = killed.log
            let (start, end) = Self.summaryStart(log, record: record)
            lie(&log, start)
            let crc = CRC32C.checksum(Array(log[(record + 4)..<end]))
            for k in 0..<4 { log[record + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
            writeFile(path, killed.data)
            writeFile(path + "-wal", log)
            let db = try Database(path: path)
            #expect(try db.statistics().recovery.method == .replayed, "\(name)")
            #expect(try Self.contents(db) == Self.nonEmpty(killed.model), "\(name)")
            #expect(try db.verify().isClean, "\(name)")
            db.close()
        }
    }

    /// A killed session (seed 8, 30 transactions) with the first page its last record allocated
    /// changed by `damage` in its data file; recovery must replay the log, not adopt it.
    static func damageTheNewestPage(_ damage: (inout ArraySlice<UInt8>) -> Void) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        let killed = try killedSession(path: path, seed: 8, transactions: 30)
        let last = try #require(LogIdentityTests.recordOffsets(killed.log).last)
        let start = summaryStart(killed.log, record: last).start
        #expect(u64(killed.log, start + 64) & 0xffff_ffff > 0, "the last record allocated pages")
        var data = killed.data
        let page = Int(u64(killed.log, start + 72))
        damage(&data[(page * PageLayout.size)..<((page + 1) * PageLayout.size)])
        writeFile(path, data)
        writeFile(path + "-wal", killed.log)
        try recover(path, expecting: .replayed, model: killed.model)
    }

    /// A data file that lost the newest pages but kept its identity (an older copy of itself
    /// written over it in place): the last record's pages are checked, and the log is replayed.
    @Test func aDataFileWithoutTheNewestPagesIsReplayed() throws {
        try Self.damageTheNewestPage { page in
            for i in page.indices { page[i] = 0 }
        }
    }

    /// The same, with the page's header intact (number, txid and stored checksum all the
    /// record's) and one byte of its cells changed: the check reads each page whole and tests
    /// its checksum (Pager.readHeader), so the damage sends recovery to the replay, which
    /// writes the page again, rather than into the adopted tree.
    @Test func aNewestPageWhoseContentDoesNotMatchItsChecksumIsReplayed() throws {
        try Self.damageTheNewestPage { page in
            page[page.endIndex - 1] ^= 0x5a // the cells end at the page's end
        }
    }

    /// A process killed while a replay was writing pages for the records (here the replay is
    /// forced, as after a reboot): the records' page summaries no longer describe the file, and
    /// a recovery in the same boot on the same file must replay again, never adopt. Every
    /// prefix of the replaying open's writes is tried, as a kill at that point leaves the file.
    @Test func recordsAReplayWroteForAreNeverAdopted() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        let killed = try Self.killedSession(path: path, seed: 21, transactions: 40)
        Self.putBack(killed, at: path)
        let trace = IOTrace()
        trace.register(path)
        trace.register(path + "-wal")
        var options = DatabaseOptions()
        options.pageCacheTrust = .never
        options.replayBatchPages = 16 // batches of records: pages other than the session's
        options.fileSystem = RecordingFileSystem(trace: trace)
        try Database(path: path, options: options).close()
        let events = trace.events
        var states = 0
        var adopted = 0
        for cut in 0...events.count {
            var files = [killed.data, killed.log]
            for e in events[..<cut] { DiskImage.apply(e, to: &files) }
            writeFile(path, files[0])
            writeFile(path + "-wal", files[1])
            let db = try Database(path: path)
            defer { db.close() }
            let method = try db.statistics().recovery.method
            if method == .adopted { adopted += 1 }
            #expect(try Self.contents(db) == Self.nonEmpty(killed.model), "cut \(cut) of \(events.count), \(method)")
            #expect(try db.verify().isClean, "cut \(cut) of \(events.count), \(method)")
            states += 1
        }
        #expect(states > 10)
        print("adoption after a replay: \(states) kill points, \(adopted) adopted (before the replay's first write)")
    }

    /// A power cut is never taken for a process crash: with `.never` (what the power-cut tests
    /// say), the same files are replayed.
    @Test func distrustedPageCacheIsReplayed() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("db")
        let killed = try Self.killedSession(path: path, seed: 3, transactions: 20)
        Self.putBack(killed, at: path)
        var options = DatabaseOptions()
        options.pageCacheTrust = .never
        let db = try Database(path: path, options: options)
        defer { db.close() }
        let report = try db.statistics().recovery
        #expect(report.method == .replayed && report.records == 9, "\(report)") // the commits after the checkpoint
        #expect(try Self.contents(db) == Self.nonEmpty(killed.model))
    }
}

extension AdoptionTests {
    /// An open that replayed a log in the boot that wrote it (the origin unreadable then, say;
    /// `.never` stands in for it) wrote the replayed state over the pages the records' summaries
    /// name. Killed before its first write, it would leave those records in a continued log, and
    /// a later open in this boot adopted them (the last record's pages read back fine when the
    /// replay's pages, all carrying its txid, landed on them): wrong contents, a corrupt tree.
    /// Found by a review; the replay marks the log header first (WriteAheadLog.markReplayed),
    /// and the later open replays again instead of adopting.
    @Test func aLogReplayedInTheBootThatWroteItIsNotAdoptedLater() throws {
        for seed in UInt64(1)...4 {
            let dir = TempDir(); defer { dir.remove() }
            let path = dir.file("db")
            let killed = try Self.killedSession(path: path, seed: seed, transactions: 8)
            writeFile(path, killed.data)
            writeFile(path + "-wal", killed.log)
            var never = DatabaseOptions()
            never.pageCacheTrust = .never
            let replaying = try Database(path: path, options: never)
            #expect(try replaying.statistics().recovery.method == .replayed)
            let files = (readFile(path), readFile(path + "-wal")) // kill -9 here
            replaying.close()
            writeFile(path, files.0)
            writeFile(path + "-wal", files.1)
            let db = try Database(path: path)
            defer { db.close() }
            #expect(try db.statistics().recovery.method != .adopted, "seed \(seed)")
            #expect(try Self.contents(db) == Self.nonEmpty(killed.model), "seed \(seed)")
            let report = try db.verify()
            #expect(report.isClean, "seed \(seed): \(report)")
        }
    }
}

extension AdoptionTests {
    /// Intact records past a torn one (damage, or what a power cut left out of order, opened as
    /// if a process had been killed): a later commit freed a page of the last valid state that
    /// an earlier commit made (table "a"'s leaf) and the commits after it wrote that page over.
    /// Recovery re-executes the records. Here the torn commit also freed the last valid
    /// record's own pages and the next reused them, so its page digest refuses adoption too;
    /// the check on later records is what refuses it when the digest happens to pass (a rare
    /// failure of `powerLossAfterARecoveryThatCutATornTail`, whose cut 0 is such a state, with
    /// the page writer's timing deciding which pages were written).
    @Test func intactRecordsPastATornOneAreNeverAdopted() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        // .relaxed with no log sync: no record vouches for an earlier one, so a torn record
        // reads as the log's end, not as damage. Each commit's pages are written (the read
        // waits for them) before the files are taken.
        var sessionOptions = DatabaseOptions(durability: .relaxed, checkpointLogBytes: 64 << 20, checkpointPages: 1 << 20)
        sessionOptions.relaxedSyncIntervalMilliseconds = 3_600_000
        let db = try Database(path: path, options: sessionOptions)
        var states: [Model] = []
        var model: Model = [:]
        func commit(_ body: (WriteTransaction, inout Model) throws -> Void) throws {
            var next = model
            try db.write { tx in try body(tx, &next) }
            try db.read { _ in }
            model = next
            states.append(model)
        }
        // 1: table "a", one leaf made here and used by every state after.
        try commit { tx, m in
            try tx.createTable("a").put(bytes("a1"), bytes("kept"))
            m["a", default: [:]][bytes("a1")] = bytes("kept")
        }
        // 2 - 6: table "b" only.
        for i in 0..<5 {
            try commit { tx, m in
                let v = [UInt8](repeating: UInt8(i), count: 100)
                try tx.createTable("b").put(bytes("b\(i)"), v)
                m["b", default: [:]][bytes("b\(i)")] = v
            }
        }
        // 7: "a"'s leaf copied, the old one freed; 8 - 12: many new pages, reusing it.
        try commit { tx, m in
            try tx.createTable("a").put(bytes("a2"), bytes("later"))
            m["a"]?[bytes("a2")] = bytes("later")
        }
        for i in 0..<5 {
            try commit { tx, m in
                let t = try tx.createTable("c\(i)")
                for k in 0..<30 {
                    let v = [UInt8](repeating: UInt8(k), count: 300)
                    try t.put(bytes("c\(k)"), v)
                    m["c\(i)", default: [:]][bytes("c\(k)")] = v
                }
            }
        }
        var log = readFile(path + "-wal")
        let data = readFile(path) // kill -9 here
        db.close()
        // Record 6 torn: records 1 - 5 are the valid prefix, 7 - 12 intact after it.
        let offsets = LogIdentityTests.recordOffsets(log)
        #expect(offsets.count == 12)
        for i in offsets[5]..<(offsets[5] + 64) { log[i] ^= 0x5a }
        writeFile(path, data)
        writeFile(path + "-wal", log)
        var options = DatabaseOptions()
        options.pageCacheTrust = .ignoringOrigin
        let reopened = try Database(path: path, options: options)
        defer { reopened.close() }
        #expect(try reopened.statistics().recovery.method == .replayed)
        #expect(try reopened.verify().isClean)
        #expect(try Self.contents(reopened) == states[4])
    }
}
