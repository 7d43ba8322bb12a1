import CRC32CHardware
import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

@Suite struct BasicTests {
    @Test func putGetReopen() throws {
        let dir = TempDir(); defer { dir.remove() }
        do {
            let db = try Database(path: dir.file())
            try db.write { tx in
                let t = try tx.createTable("products")
                try t.put(bytes("a"), bytes("alpha"))
                try t.put(bytes("b"), bytes("beta"))
                #expect(try t.get(bytes("a")) == bytes("alpha"))
            }
            let v = try db.read { tx in try tx.table("products")?.get(bytes("b")) }
            #expect(v == bytes("beta"))
            db.close()
        }
        let db = try Database(path: dir.file())
        defer { db.close() }
        try db.read { tx in
            let t = try #require(try tx.table("products"))
            #expect(t.count == 2)
            #expect(try t.get(bytes("a")) == bytes("alpha"))
            #expect(try t.get(bytes("zz")) == nil)
            #expect(try t.withValue(forKey: bytes("b")) { $0.byteCount } == 4)
        }
    }

    @Test func newFileIsPrivate() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        let attrs = try FileManager.default.attributesOfItem(atPath: dir.file())
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    @Test func rollbackOnThrow() throws {
        struct Boom: Error {}
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        try db.write { tx in try tx.createTable("t").put(bytes("k"), bytes("v1")) }
        #expect(throws: Boom.self) {
            try db.write { tx in
                try tx.table("t")?.put(bytes("k"), bytes("v2"))
                try tx.table("t")?.put(bytes("k2"), [UInt8](repeating: 7, count: 100_000))
                throw Boom()
            }
        }
        try db.read { tx in
            let t = try #require(try tx.table("t"))
            #expect(try t.get(bytes("k")) == bytes("v1"))
            #expect(try t.get(bytes("k2")) == nil)
            #expect(t.count == 1)
        }
        #expect(try db.verify().isClean)
    }

    @Test func overflowValuesAndLimits() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        var rng = SeededRandom(seed: 7)
        let big = (0..<(16 << 20) + 123).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let longKey = [UInt8](repeating: 0x41, count: Limits.maxKeyLength)
        try db.write { tx in
            let t = try tx.createTable("blobs")
            try t.put(bytes("big"), big)
            try t.put(longKey, bytes("long key"))
            try t.put(bytes("mid"), [UInt8](repeating: 1, count: 5000))
            #expect(throws: StoreError.keyTooLong(length: Limits.maxKeyLength + 1, limit: Limits.maxKeyLength)) {
                try t.put([UInt8](repeating: 0, count: Limits.maxKeyLength + 1), [])
            }
        }
        try db.read { tx in
            let t = try #require(try tx.table("blobs"))
            #expect(try t.get(bytes("big")) == big)
            #expect(try t.get(longKey) == bytes("long key"))
            #expect(try t.get(bytes("mid"))?.count == 5000)
        }
        try db.write { tx in _ = try tx.table("blobs")?.delete(bytes("big")) }
        let report = try db.verify()
        #expect(report.isClean, "\(report.problems)")
    }

    @Test func cursorsAndRanges() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        let keys = (0..<5000).map { String(format: "key%05d", $0) }
        try db.write { tx in
            let t = try tx.createTable("t")
            for k in keys.shuffled() { try t.put(bytes(k), bytes("v" + k)) }
        }
        try db.read { tx in
            let t = try #require(try tx.table("t"))
            let c = try t.makeCursor()
            var seen: [String] = []
            var ok = try c.first()
            while ok { seen.append(String(decoding: c.key, as: UTF8.self)); ok = try c.next() }
            #expect(seen == keys)
            var back: [String] = []
            ok = try c.last()
            while ok { back.append(String(decoding: c.key, as: UTF8.self)); ok = try c.previous() }
            #expect(back == keys.reversed())
            #expect(try c.seek(atLeast: bytes("key01234x")))
            #expect(c.key == bytes("key01235"))
            #expect(try !c.seek(atLeast: bytes("zzz")))
            let r = try t.range(from: bytes("key00010"), to: bytes("key00015"))
            #expect(r.map { String(decoding: $0.key, as: UTF8.self) } == (10..<15).map { String(format: "key%05d", $0) })
            let rr = try t.range(from: bytes("key00010"), to: bytes("key00015"), limit: 2, reverse: true)
            #expect(rr.map { String(decoding: $0.key, as: UTF8.self) } == ["key00014", "key00013"])
            var prefixed = 0
            try t.forEach(prefix: bytes("key012")) { _, _ in
                prefixed += 1; return true
            }
            #expect(prefixed == 100)
        }
    }

    @Test func tablesCreateDrop() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        try db.write { tx in
            for name in ["a", "b", "c"] {
                let t = try tx.createTable(name)
                for i in 0..<500 { try t.put(bytes("\(name)\(i)"), [UInt8](repeating: 3, count: 300)) }
            }
        }
        try db.write { tx throws in
            try tx.dropTable("b")
            #expect(try tx.table("b") == nil)
            #expect(try tx.tableNames() == ["a", "c"])
        }
        try db.read { tx throws in #expect(try tx.tableNames() == ["a", "c"]) }
        #expect(try db.verify().isClean)
        #expect(throws: StoreError.noSuchTable("zz")) { try db.write { tx in try tx.dropTable("zz") } }
    }

    @Test func shrinkingTreeMerges() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        try db.write { tx in
            let t = try tx.createTable("t")
            for i in 0..<20_000 { try t.put(bytes(String(format: "%08d", i)), [UInt8](repeating: 9, count: 100)) }
        }
        let before = try db.statistics().tables.first { $0.name == "t" }
        try db.write { tx in
            let t = try #require(try tx.table("t"))
            for i in 0..<20_000 where i % 50 != 0 { try t.delete(bytes(String(format: "%08d", i))) }
        }
        let after = try db.statistics().tables.first { $0.name == "t" }
        #expect(after?.entries == 400)
        // 400 entries of ~112 bytes fit in ~12 leaves; a tree that did not merge would keep ~600.
        #expect((after?.leafPages ?? 0) <= 20, "leaf pages before \(before?.leafPages ?? 0), after \(after?.leafPages ?? 0)")
        #expect(try db.verify().isClean)
    }

    @Test func notADatabaseAndNewerVersion() throws {
        let dir = TempDir(); defer { dir.remove() }
        let text = dir.file("text.db")
        try String(repeating: "hello, world\n", count: 1000).write(toFile: text, atomically: true, encoding: .utf8)
        #expect(throws: StoreError.notADatabase(path: text)) { _ = try Database(path: text) }
        let short = dir.file("short.db")
        try "x".write(toFile: short, atomically: true, encoding: .utf8)
        #expect(throws: StoreError.notADatabase(path: short)) { _ = try Database(path: short) }

        let path = dir.file("v.db")
        do { let db = try Database(path: path); db.close() }
        // Rewrite both meta pages as format version 99 with valid checksums.
        var data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        for slot in 0..<2 {
            let o = slot * PageLayout.size
            data[o + 8] = 99
            let crc = CRC32C.checksum(Array(data[o..<(o + MetaPage.checksumOffset)]))
            for i in 0..<4 { data[o + MetaPage.checksumOffset + i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i))) }
        }
        try Data(data).write(to: URL(fileURLWithPath: path))
        #expect(throws: StoreError.unsupportedFormatVersion(found: 99, supported: MetaPage.formatVersion)) { _ = try Database(path: path) }
    }

    @Test func secondOpenIsLocked() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        #expect(throws: StoreError.databaseLocked(path: dir.file())) { _ = try Database(path: dir.file()) }
        db.close()
        let again = try Database(path: dir.file())
        again.close()
    }

    @Test func nestedWriteIsAnError() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        _ = try db.write { _ throws in
            #expect(throws: StoreError.nestedWriteTransaction) { try db.write { _ in } }
        }
    }

    @Test func handleUsedAfterClosureThrows() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        try db.write { tx in _ = try tx.createTable("t") }
        let escaped = try db.read { tx in try #require(try tx.table("t")) }
        #expect(throws: StoreError.transactionClosed) { _ = try escaped.get(bytes("x")) }
    }

    @Test func crc32cCheckValue() {
        #expect(CRC32C.checksum(bytes("123456789")) == 0xE306_9283)
    }

    /// The interleaved page checksum must equal the plain CRC-32C of the same bytes.
    @Test func pageChecksumMatchesPlainCRC() {
        var generator = SeededRandom(seed: 7)
        for round in 0..<64 {
            var page = [UInt8](repeating: 0, count: CRC32C.pageBytes)
            // Mostly random pages; some all-zero or all-ones, some with one byte set.
            switch round % 4 {
            case 0: break
            case 1: page = [UInt8](repeating: 0xFF, count: page.count)
            case 2: page[Int(generator.next() % UInt64(page.count))] = UInt8(truncatingIfNeeded: generator.next() | 1)
            default: for i in page.indices { page[i] = UInt8(truncatingIfNeeded: generator.next()) }
            }
            page.withUnsafeBytes { raw in
                let base = raw.baseAddress!
                #expect(CRC32C.checksum(base, count: raw.count) == CRC32C.checksumOneStream(base, count: raw.count))
            }
        }
    }

    /// The shifts of the hardware path: x^-1 is the inverse of x, the written-out x^-33 is its
    /// 33rd power, and the carry-less multiply (where this machine has it) times x^-33 is the
    /// bit-by-bit multiply, for any operands and for every shift of the table.
    @Test func carrylessMultiplyMatchesTheBitByBitOne() {
        let one: UInt32 = 1 << 31
        #expect(CRC32C.multiply(CRC32C.xInverse, 1 << 30) == one)
        var inverse33 = one
        for _ in 0..<33 { inverse33 = CRC32C.multiply(inverse33, CRC32C.xInverse) }
        #expect(inverse33 == CRC32C.xInverse33)
        guard CRC32C.usesCarrylessMultiply else {
            print("carry-less multiply: not on this CPU; the bit-by-bit one is in use")
            return
        }
        for register: UInt32 in [0, 1, 1 << 31, 0x7FFF_FFFF, 0xFFFF_FFFF, 0xDEAD_BEEF] {
            for n in 0...4096 where CRC32C.advanceOverZeros(register, n) != CRC32C.advanceOverZerosBitByBit(register, n) {
                Issue.record("shift over \(n) zero bytes of \(String(register, radix: 16)) differs")
            }
        }
        var generator = SeededRandom(seed: 13)
        for _ in 0..<2_000 {
            let a = UInt32(truncatingIfNeeded: generator.next())
            let b = UInt32(truncatingIfNeeded: generator.next())
            #expect(vitrine_crc32c_multiply_x33(CRC32C.multiply(a, inverse33), b) == CRC32C.multiply(a, b))
        }
        #expect(vitrine_crc32c_multiply_x33(inverse33, 0xDEAD_BEEF) == 0xDEAD_BEEF)
    }

    /// The gap-skipping page checksum equals the plain CRC when the gap is zero, for gaps at
    /// every kind of position and length.
    @Test func gapSkippingChecksumMatchesPlainCRC() {
        var generator = SeededRandom(seed: 11)
        let size = CRC32C.pageBytes + 4
        for round in 0..<400 {
            var page = [UInt8](repeating: 0, count: size)
            for i in page.indices { page[i] = UInt8(truncatingIfNeeded: generator.next()) }
            let start = 4 + Int(generator.next() % UInt64(size - 4))
            var end = start + Int(generator.next() % UInt64(size - start + 1))
            if round % 10 == 0 { end = start } // empty gap
            if round % 10 == 1 { end = size } // gap to the end
            for i in start..<end { page[i] = 0 }
            page.withUnsafeBytes { raw in
                let base = raw.baseAddress!
                #expect(CRC32C.pageChecksum(base, gapFrom: start, to: end) == CRC32C.checksumOneStream(base + 4, count: size - 4))
            }
        }
    }

    /// Both implementations give the same CRC-32C: the CPU's instruction (where this machine has
    /// it) and the software one, plain and interleaved, for any length and alignment.
    @Test func hardwareAndSoftwareChecksumsAgree() {
        var generator = SeededRandom(seed: 13)
        let buffer = (0..<40000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        buffer.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            for _ in 0..<500 {
                let offset = Int(generator.next() % 64)
                let count = Int(generator.next() % UInt64(raw.count - 64))
                let plain = CRC32C.checksumOneStream(base + offset, count: count)
                #expect(CRC32C.checksum(base + offset, count: count) == plain)
                if CRC32C.usesHardware {
                    #expect(~vitrine_crc32c_hardware_update(~0, base + offset, count) == plain)
                }
            }
            for gap in [(4, 4), (100, 3000), (4, 4096), (2048, 2049)] {
                let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
                defer { page.deallocate() }
                page.copyMemory(from: base, byteCount: 4096)
                page.advanced(by: gap.0).initializeMemory(as: UInt8.self, repeating: 0, count: gap.1 - gap.0)
                let plain = CRC32C.checksumOneStream(page + 4, count: 4092)
                #expect(CRC32C.softwarePageChecksum(page, gapFrom: gap.0, to: gap.1) == plain)
                #expect(CRC32C.pageChecksum(page, gapFrom: gap.0, to: gap.1) == plain)
            }
        }
        print("crc32c: \(CRC32C.usesHardware ? "the CPU's instruction" : "software") in use")
    }

    /// Recovery re-executes log records in batches; dropping and re-creating a table across
    /// records of one batch, overflow values, and batch boundaries anywhere must all give the
    /// state the commits acknowledged.
    @Test(arguments: [1, 3, 4096])
    func replayInBatchesMatchesTheCommits(batchPages: Int) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("live.db")
        let db = try Database(path: path, options: DatabaseOptions(durability: .full, checkpointLogBytes: 64 << 20))
        let big = [UInt8](repeating: 7, count: 10_000)
        try db.write { tx in try tx.createTable("t").put(bytes("a"), bytes("1")) }
        try db.write { tx in try tx.dropTable("t") }
        try db.write { tx in try tx.createTable("t").put(bytes("b"), bytes("2")) }
        try db.write { tx in try tx.createTable("u").put(bytes("x"), big) }
        try db.write { tx in
            try tx.createTable("t").put(bytes("c"), bytes("3"))
            try tx.dropTable("u")
        }
        try db.write { tx in try tx.createTable("u").put(bytes("y"), bytes("4")) }
        var expected: [[UInt8]: [UInt8]] = [:]
        for i in 0..<300 {
            let key = bytes("k\(i * 7919 % 1000)")
            let value = [UInt8](repeating: UInt8(i % 251), count: 100 + i % 50)
            try db.write { tx in
                let t = try tx.createTable("many")
                try t.put(key, value)
                if i % 5 == 0 { _ = try t.delete(bytes("k\((i - 5) * 7919 % 1000)")) }
            }
            expected[key] = value
            if i % 5 == 0 { expected[bytes("k\((i - 5) * 7919 % 1000)")] = nil }
        }
        // The files as a crash would leave them: every commit only in the log.
        let crashed = dir.file("crashed.db")
        try FileManager.default.copyItem(atPath: path, toPath: crashed)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: crashed + "-wal")
        db.close()

        var options = DatabaseOptions()
        options.replayBatchPages = batchPages
        let reopened = try Database(path: crashed, options: options)
        defer { reopened.close() }
        try reopened.read { tx in
            #expect(try tx.tableNames() == ["many", "t", "u"])
            let t = try #require(try tx.table("t"))
            #expect(try t.range(from: [], to: []).map { $0.key } == [bytes("b"), bytes("c")])
            let u = try #require(try tx.table("u"))
            #expect(try u.range(from: [], to: []).map { $0.key } == [bytes("y")])
            let many = try #require(try tx.table("many"))
            var found: [[UInt8]: [UInt8]] = [:]
            for (k, v) in try many.range(from: [], to: []) { found[k] = v }
            #expect(found == expected)
        }
        #expect(try reopened.verify().problems.isEmpty)
        #expect(reopened.lastTransactionId == db.lastTransactionId)
    }

    /// A page whose cell pointers share one big cell passes every per-cell bound but holds more
    /// bytes than a page: validation must refuse it (a writer editing it in place would overrun).
    @Test func overlappingCellsAreRejected() {
        func page(pointers: Int) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: PageLayout.size)
            b[4] = PageKind.leaf.rawValue
            b.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt16(pointers).littleEndian, toByteOffset: 6, as: UInt16.self)
                raw.storeBytes(of: UInt64(5).littleEndian, toByteOffset: 8, as: UInt64.self)
                let cell = PageLayout.size - 1300
                raw.storeBytes(of: UInt16(4).littleEndian, toByteOffset: cell, as: UInt16.self) // key length
                raw.storeBytes(of: UInt32(1290).littleEndian, toByteOffset: cell + 2, as: UInt32.self) // value length
                for i in 0..<pointers {
                    raw.storeBytes(of: UInt16(cell).littleEndian, toByteOffset: PageLayout.headerSize + 2 * i, as: UInt16.self)
                }
                let crc = CRC32C.checksum(raw.baseAddress! + 4, count: PageLayout.size - 4)
                raw.storeBytes(of: crc.littleEndian, toByteOffset: 0, as: UInt32.self)
            }
            return b
        }
        page(pointers: 1).withUnsafeBytes { #expect(PageView.validate($0.baseAddress!, pageNumber: 5) == nil) }
        page(pointers: 4).withUnsafeBytes { raw in
            let reason = PageView.validate(raw.baseAddress!, pageNumber: 5)
            #expect(reason?.contains("overlapping") == true)
        }
    }

    @Test func mapGrowsWhileReaderHoldsPages() throws {
        let dir = TempDir(); defer { dir.remove() }
        var options = DatabaseOptions()
        options.minimumMapBytes = 1 << 20
        let db = try Database(path: dir.file(), options: options)
        defer { db.close() }
        try db.write { tx in try tx.createTable("t").put(bytes("k"), bytes("before")) }
        try db.read { tx in
            let t = try #require(try tx.table("t"))
            let c = try t.makeCursor()
            #expect(try c.first())
            // Grow the file well past the first map while this reader holds its path.
            try db.write { wtx in
                let w = try wtx.createTable("big")
                for i in 0..<40 { try w.put(bytes("\(i)"), [UInt8](repeating: UInt8(i), count: 100_000)) }
            }
            #expect(try c.value() == bytes("before"))
        }
        #expect(db.pager.mappingCount > 1)
        try db.read { tx throws in #expect(try tx.table("big")?.get(bytes("39"))?.count == 100_000) }
    }
}

@Suite struct FreeListChainTests {
    /// A checkpoint whose free pages are all still frozen (so its free-list chain comes from the
    /// end of the file) must size the chain for every entry, for each count around one chain
    /// page's capacity (508 entries).
    @Test func chainFromTheEndOfTheFileHoldsEveryFreePage() throws {
        for pages in 500...520 {
            let dir = TempDir(); defer { dir.remove() }
            do {
                let db = try Database(path: dir.file())
                try db.write { tx in
                    try tx.createTable("t").put(bytes("big"), [UInt8](repeating: 7, count: pages * PageLayout.overflowPayload))
                }
                try db.checkpoint()
                try db.write { tx in _ = try tx.table("t")?.delete(bytes("big")) }
                try db.checkpoint()
                #expect(try db.verify().isClean, "\(pages) pages")
                db.close()
            }
            let db = try Database(path: dir.file())
            #expect(try db.verify().isClean, "\(pages) pages")
            try db.write { tx in try tx.createTable("t").put(bytes("again"), [UInt8](repeating: 1, count: 10_000)) }
            db.close()
        }
    }
}
