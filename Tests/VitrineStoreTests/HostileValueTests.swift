import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// Files whose checksums are correct but whose fields are hostile (crafted, or written by a
/// buggy copy): each gives a typed `StoreError` or correct behaviour, never a trap. Each field
/// is re-sealed exactly as the writer seals it, so only the range checks stand in the way.
@Suite struct HostileValueTests {
    /// A database with one table, closed cleanly (so the newest meta slot is the whole state).
    static func makeDatabase(_ dir: TempDir) throws -> String {
        let path = dir.file()
        let db = try Database(path: path)
        try db.write { tx in
            let t = try tx.createTable("t")
            for i in 0..<20 { try t.put(bytes("k\(i)"), bytes("v\(i)")) }
        }
        db.close()
        return path
    }

    /// The newest valid meta page of the file at `path`.
    static func newestMeta(_ path: String) throws -> Meta {
        let data = try readAll(path)
        var best: Meta? = nil
        for slot in 0..<2 {
            if case .valid(let m) = Meta.decode(Array(data[(slot * PageLayout.size)..<((slot + 1) * PageLayout.size)])),
                best == nil || m.checkpointSequence > best!.checkpointSequence
            {
                best = m
            }
        }
        return try #require(best)
    }

    /// Writes `meta`, sealed by the writer's own encoder, into BOTH slots (its sequence's slot
    /// and, with the sequence one lower, the other), so no older slot can stand in for it.
    static func writeMeta(_ meta: Meta, to path: String) throws {
        var data = try readAll(path)
        var other = meta
        other.checkpointSequence = meta.checkpointSequence &- 1
        for m in [meta, other] {
            let slot = Int(m.slot)
            data.replaceSubrange((slot * PageLayout.size)..<((slot + 1) * PageLayout.size), with: m.encode())
        }
        try writeAll(path, data)
    }

    /// Opens, verifies, scans, writes and checkpoints: the outcome must be a typed error or
    /// success, never a trap (which would kill the test process).
    static func exercise(_ path: String, options: DatabaseOptions = DatabaseOptions()) -> StoreError? {
        do {
            let db = try Database(path: path, options: options)
            defer { db.close() }
            _ = try db.verify()
            // A scan that disagrees with the catalog's count is a finding (verify reports it
            // too), not a reason to stop exercising the database.
            do { _ = try CorruptionTests.contents(db) } catch is CorruptionTests.ScanMismatch {}
            try db.write { tx in try tx.createTable("t").put(bytes("new"), bytes("value")) }
            try db.write { tx in try tx.createTable("u").put(bytes("x"), bytes("y")) }
            try db.checkpoint()
            try db.write { tx in try tx.createTable("t").put(bytes("after"), bytes("checkpoint")) }
            return nil
        } catch let e as StoreError {
            return e
        } catch {
            Issue.record("error that is not a StoreError: \(error)")
            return nil
        }
    }

    static func expectRefusedMeta(_ mutate: (inout Meta) -> Void, mentioning word: String) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try makeDatabase(dir)
        var meta = try newestMeta(path)
        mutate(&meta)
        // The decoder refuses it...
        if case .damaged(let reason) = Meta.decode(meta.encode()) {
            #expect(reason.contains(word), "\(reason)")
        } else {
            Issue.record("meta page with a hostile \(word) decoded as usable")
        }
        // ... so the database, with both slots hostile, does not open.
        try writeMeta(meta, to: path)
        let error = exercise(path)
        guard case .corruptPage(let page, let why)? = error else {
            Issue.record("expected .corruptPage at open, got \(String(describing: error))")
            return
        }
        #expect(page == 0 && why.contains(word), "\(why)")
    }

    // MARK: - Meta fields (the traps the review found)

    /// Was: `checkpoint()` trapped adding 1 to the sequence (Checkpoint.swift).
    @Test func checkpointSequenceAtMaximum() throws {
        try Self.expectRefusedMeta({ $0.checkpointSequence = UInt64.max }, mentioning: "checkpoint sequence")
    }

    /// Was: open trapped at `meta.txid + 1` (recovery), and `write` at `base.txid + 1`.
    @Test func txidAtMaximum() throws {
        try Self.expectRefusedMeta({ $0.txid = UInt64.max }, mentioning: "txid")
    }

    /// Was: open trapped starting the next log generation (`highestGeneration + 1`).
    @Test func logGenerationAtMaximum() throws {
        try Self.expectRefusedMeta({ $0.logGeneration = UInt64.max }, mentioning: "log generation")
    }

    @Test func otherMetaFieldsOutOfRange() throws {
        try Self.expectRefusedMeta({ $0.nextTableId = UInt64.max }, mentioning: "next table id")
        try Self.expectRefusedMeta({ $0.nextTableId = 0 }, mentioning: "next table id")
        try Self.expectRefusedMeta({ $0.freeCount = UInt64.max }, mentioning: "free page count")
    }

    /// The largest values still accepted leave room to count on: a database at the bound opens,
    /// commits and checkpoints.
    @Test func countersJustBelowTheBoundStillWork() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try Self.makeDatabase(dir)
        var meta = try Self.newestMeta(path)
        meta.txid = MetaPage.counterLimit - 1_000
        meta.checkpointSequence = MetaPage.counterLimit - 1_000
        meta.logGeneration = MetaPage.counterLimit - 1_000
        try Self.writeMeta(meta, to: path)
        #expect(Self.exercise(path) == nil)
        let db = try Database(path: path)
        defer { db.close() }
        #expect(db.lastTransactionId == meta.txid + 3)
        #expect(try db.read { tx in try tx.table("t")?.get(bytes("after")) } == bytes("checkpoint"))
    }

    // MARK: - Log header

    /// Was: open trapped: the header's generation became the highest seen, then + 1.
    @Test func logHeaderGenerationAtMaximum() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try Self.makeDatabase(dir)
        let meta = try Self.newestMeta(path)
        var log = try readAll(path + "-wal")
        log.replaceSubrange(
            0..<(LogFormat.version6HeaderSize + 4),
            with: WriteAheadLog.encodeHeader(
                generation: UInt64.max, baseTxid: meta.txid, databaseId: meta.databaseId, salt: meta.logSalt, recordLimit: 0))
        try writeAll(path + "-wal", log)
        let error = Self.exercise(path)
        guard case .corruptLog(let offset, let why)? = error else {
            Issue.record("expected .corruptLog, got \(String(describing: error))")
            return
        }
        #expect(offset == 0 && why.contains("generation"), "\(why)")
    }

    @Test func logHeaderBaseTxidAtMaximumFromAnotherDatabase() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try Self.makeDatabase(dir)
        var log = try readAll(path + "-wal")
        log.replaceSubrange(
            0..<(LogFormat.version6HeaderSize + 4),
            with: WriteAheadLog.encodeHeader(generation: UInt64.max - 1, baseTxid: UInt64.max, databaseId: 42, salt: 7, recordLimit: 0))
        try writeAll(path + "-wal", log)
        let error = Self.exercise(path)
        guard case .corruptLog? = error else {
            Issue.record("expected .corruptLog, got \(String(describing: error))")
            return
        }
    }

    // MARK: - Catalog entries

    /// Was: the first insert into the table trapped at `count + 1`.
    @Test func catalogEntryCountAtMaximum() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try Self.makeDatabase(dir)
        let meta = try Self.newestMeta(path)
        var data = try readAll(path)
        // The catalog is one leaf here; its one cell's value is the entry (id, root, count).
        let page = Int(meta.catalogRoot)
        let leaf = Array(data[(page * PageLayout.size)..<((page + 1) * PageLayout.size)])
        let view = leaf.withUnsafeBytes { PageView(base: $0.baseAddress!) }
        #expect(leaf[4] == PageKind.leaf.rawValue && view.count == 1)
        let cell = view.cellOffset(0)
        let valueAt = cell + PageLayout.leafCellHeader + view.u16(cell)
        var b = PageBuilder(kind: .leaf, pageNumber: 0, txid: 0)
        b.bytes = leaf
        b.setU64(UInt64.max, at: valueAt + 12)
        data.replaceSubrange((page * PageLayout.size)..<((page + 1) * PageLayout.size), with: b.finish())
        try writeAll(path, data)
        let error = Self.exercise(path)
        guard case .corruptPage(_, let why)? = error else {
            Issue.record("expected .corruptPage, got \(String(describing: error))")
            return
        }
        #expect(why.contains("count"), "\(why)")
    }

    // MARK: - Options

    /// Was: `UInt32(max(1, ms)) * 1000` trapped at open for intervals over ~71 minutes.
    @Test func longRelaxedSyncIntervalIsClamped() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try Self.makeDatabase(dir)
        for ms in [Int.max, 5_000_000, Int(UInt32.max), -1] {
            let options = DatabaseOptions(durability: .relaxed, relaxedSyncIntervalMilliseconds: ms)
            #expect(Self.exercise(path, options: options) == nil, "interval \(ms) ms")
        }
    }

    /// Was: the first log append trapped rounding a huge growth step.
    @Test func hugeLogGrowthIsClamped() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try Self.makeDatabase(dir)
        var options = DatabaseOptions()
        options.logGrowthBytes = Int64.max
        #expect(Self.exercise(path, options: options) == nil)
    }
}

/// Crafted trees whose pages each pass every check but whose links form a cycle that the depth
/// bound alone does not stop in time: a root whose children include the root itself, twice,
/// makes a walk that trusts depth alone visit ~2^48 pages.
@Suite struct HostileTreeTests {
    /// Table "t" of 300 entries over several leaves; with `catalog`, also 80 tables of long
    /// names so that the catalog has a branch root. That root (the table's, or the catalog's)
    /// is made to list itself as its children 1 and 2.
    static func makeCyclicDatabase(_ dir: TempDir, catalog cyclicCatalog: Bool = false) throws -> String {
        let path = dir.file()
        let db = try Database(path: path)
        try db.write { tx in
            let t = try tx.createTable("t")
            for i in 0..<300 { try t.put(bytes("k\(1000 + i)"), [UInt8](repeating: UInt8(i & 0xFF), count: 100)) }
            if cyclicCatalog {
                for i in 0..<80 { _ = try tx.createTable(String(repeating: "n", count: 190) + "\(100 + i)") }
            }
        }
        db.close()
        let meta = try HostileValueTests.newestMeta(path)
        var data = try readAll(path)
        func page(_ p: UInt64) -> [UInt8] { Array(data[(Int(p) * PageLayout.size)..<((Int(p) + 1) * PageLayout.size)]) }
        // The table's root, from its catalog entry (the catalog is one leaf then).
        let catalog = page(meta.catalogRoot)
        let root: UInt64 =
            cyclicCatalog
            ? meta.catalogRoot
            : catalog.withUnsafeBytes { raw in
                let v = PageView(base: raw.baseAddress!)
                let o = v.cellOffset(0)
                return v.u64(o + PageLayout.leafCellHeader + v.u16(o) + 4)
            }
        var b = PageBuilder(kind: .branch, pageNumber: 0, txid: 0)
        b.bytes = page(root)
        let (count, c1, c2) = b.bytes.withUnsafeBytes { raw in
            let v = PageView(base: raw.baseAddress!)
            return (v.count, v.cellOffset(1), v.cellOffset(2))
        }
        #expect(b.bytes[4] == PageKind.branch.rawValue && count >= 3)
        b.setU64(root, at: c1 + 2)
        b.setU64(root, at: c2 + 2)
        data.replaceSubrange((Int(root) * PageLayout.size)..<((Int(root) + 1) * PageLayout.size), with: b.finish())
        try writeAll(path, data)
        return path
    }

    /// Table "t" rooted at a chain of `levels` crafted branch pages appended to the file, each
    /// listing the next one as BOTH its children: no cycle, every page sound, depth within the
    /// bound, yet a walk that trusts the links enters 2^levels leaves.
    static func makeSharedChainDatabase(_ dir: TempDir, levels: Int = 30) throws -> String {
        let path = dir.file()
        let db = try Database(path: path)
        try db.write { tx in
            let t = try tx.createTable("t")
            for i in 0..<10 { try t.put(bytes("k\(1000 + i)"), bytes("v")) }
        }
        db.close()
        var meta = try HostileValueTests.newestMeta(path)
        var data = try readAll(path)
        let first = meta.pageCount
        let catalogStart = Int(meta.catalogRoot) * PageLayout.size
        var catalog = PageBuilder(kind: .leaf, pageNumber: 0, txid: 0)
        catalog.bytes = Array(data[catalogStart..<(catalogStart + PageLayout.size)])
        let (rootAt, leaf) = catalog.bytes.withUnsafeBytes { raw in
            let v = PageView(base: raw.baseAddress!)
            let o = v.cellOffset(0)
            let at = o + PageLayout.leafCellHeader + v.u16(o) + 4
            return (at, v.u64(at))
        }
        catalog.setU64(first, at: rootAt)
        data.replaceSubrange(catalogStart..<(catalogStart + PageLayout.size), with: catalog.finish())
        let key = bytes("k1005")
        for k in 0..<levels {
            let number = first + UInt64(k)
            let child = k + 1 < levels ? number + 1 : leaf
            var b = PageBuilder(kind: .branch, pageNumber: number, txid: meta.txid)
            b.setU16(2, at: 6)
            let cell1 = PageLayout.size - (PageLayout.branchCellHeader + key.count)
            let cell0 = cell1 - PageLayout.branchCellHeader
            b.setU16(cell0, at: PageLayout.headerSize)
            b.setU16(cell1, at: PageLayout.headerSize + 2)
            b.setU16(0, at: cell0); b.setU64(child, at: cell0 + 2)
            b.setU16(key.count, at: cell1); b.setU64(child, at: cell1 + 2); b.setBytes(key, at: cell1 + PageLayout.branchCellHeader)
            data += b.finish()
        }
        meta.pageCount = first + UInt64(levels)
        try writeAll(path, data)
        try HostileValueTests.writeMeta(meta, to: path)
        return path
    }

    enum Outcome: Sendable {
        case error(String)
        case rows(Int)
    }

    static func bounded(_ body: @escaping @Sendable () throws -> Int) -> Outcome? {
        runBounded(seconds: 20) {
            do { return .rows(try body()) } catch { return .error("\(error)") }
        }
    }

    /// Was: `Table.scan` entered 2^30 leaves (a hang).
    @Test func scanOfSharedSubtreesIsRefused() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try Self.makeSharedChainDatabase(dir)
        let outcome = Self.bounded {
            let db = try Database(path: path)
            defer { db.close() }
            return try db.read { tx in
                var n = 0
                try tx.table("t")?.scan(from: []) { _, _ in
                    n += 1; return true
                }
                return n
            }
        }
        guard case .error(let why)? = outcome else {
            Issue.record("expected a typed error, got \(String(describing: outcome))")
            return
        }
        #expect(why.contains("corrupt page"), "\(why)")
    }

    /// Was: a cursor entered the same 2^30 leaves, forwards and backwards (a hang).
    @Test func cursorOverSharedSubtreesIsRefused() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try Self.makeSharedChainDatabase(dir)
        for reverse in [false, true] {
            let outcome = Self.bounded {
                let db = try Database(path: path)
                defer { db.close() }
                return try db.read { tx in try tx.table("t")?.range(from: [], to: [], reverse: reverse).count ?? 0 }
            }
            guard case .error(let why)? = outcome else {
                Issue.record("reverse \(reverse): expected a typed error, got \(String(describing: outcome))")
                return
            }
            #expect(why.contains("corrupt page"), "\(why)")
        }
    }

    /// Was: `verify()` collected the catalog's entries along the same cycle (a hang); it now
    /// reports the page referenced twice.
    @Test func verifyOfCyclicCatalogReports() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try Self.makeCyclicDatabase(dir, catalog: true)
        let outcome = Self.bounded {
            let db = try Database(path: path)
            defer { db.close() }
            let report = try db.verify()
            return report.problems.filter { $0.message.contains("referenced twice") }.count
        }
        guard case .rows(let n)? = outcome else {
            Issue.record("expected a report, got \(String(describing: outcome))")
            return
        }
        #expect(n > 0)
    }

    /// Was: dropping the table freed the same leaf 2^30 times (a hang).
    @Test func dropOfSharedSubtreesIsRefused() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = try Self.makeSharedChainDatabase(dir)
        let outcome = Self.bounded {
            let db = try Database(path: path)
            defer { db.close() }
            try db.write { tx in try tx.dropTable("t") }
            return 0
        }
        guard case .error(let why)? = outcome else {
            Issue.record("expected a typed error, got \(String(describing: outcome))")
            return
        }
        #expect(why.contains("corrupt page"), "\(why)")
    }

    /// A crafted leaf whose two cells share one overflow chain (checksums valid): dropping the
    /// table is refused instead of freeing the chain's pages twice (which would later hand the same
    /// page out twice).
    @Test func dropOfASharedOverflowChainIsRefused() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let db = try Database(path: path)
        try db.write { tx in
            let t = try tx.createTable("t")
            try t.put(bytes("a"), [UInt8](repeating: 1, count: 9000))
            try t.put(bytes("b"), [UInt8](repeating: 2, count: 9000))
        }
        db.close()
        let meta = try HostileValueTests.newestMeta(path)
        var data = try readAll(path)
        func page(_ p: UInt64) -> [UInt8] { Array(data[(Int(p) * PageLayout.size)..<((Int(p) + 1) * PageLayout.size)]) }
        let root: UInt64 = page(meta.catalogRoot).withUnsafeBytes { raw in
            let v = PageView(base: raw.baseAddress!)
            let o = v.cellOffset(0)
            return v.u64(o + PageLayout.leafCellHeader + v.u16(o) + 4)
        }
        var leaf = PageBuilder(kind: .leaf, pageNumber: root, txid: 0)
        leaf.bytes = page(root)
        let (first, at) = leaf.bytes.withUnsafeBytes { raw in
            let v = PageView(base: raw.baseAddress!)
            let o1 = v.cellOffset(1)
            return (v.overflowStart(0), o1 + PageLayout.leafCellHeader + v.u16(o1))
        }
        #expect(leaf.bytes[4] == PageKind.leaf.rawValue)
        leaf.setU64(first, at: at) // cell 1 now points at cell 0's chain
        data.replaceSubrange((Int(root) * PageLayout.size)..<((Int(root) + 1) * PageLayout.size), with: leaf.finish())
        try writeAll(path, data)
        let reopened = try Database(path: path)
        defer { reopened.close() }
        #expect(throws: StoreError.self) { try reopened.write { tx in try tx.dropTable("t") } }
    }

    /// A cursor moved back and forth across the same leaf boundary many more times than the
    /// database has pages is not mistaken for a cycle.
    @Test func cursorMovingBackAndForthIsNotACycle() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        try db.write { tx in
            let t = try tx.createTable("t")
            for i in 0..<300 { try t.put(bytes("k\(1000 + i)"), [UInt8](repeating: 1, count: 100)) }
        }
        try db.read { tx in
            let c = try #require(try tx.table("t")).makeCursor()
            // At every key (so across every leaf boundary) step forward and back 50 times.
            // (Not from the last key: stepping past the end invalidates the cursor.)
            #expect(try c.first())
            for _ in 0..<299 {
                let key = c.key
                for _ in 0..<50 {
                    #expect(try c.next())
                    #expect(try c.previous())
                }
                #expect(c.key == key)
                #expect(try c.next())
            }
        }
    }
}
