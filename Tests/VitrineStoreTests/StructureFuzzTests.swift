import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// Structure-aware fuzzing: hostile values with valid checksums.
///
/// Random damage (CorruptionTests) almost always breaks a checksum, so it never reaches the
/// range checks behind them. Here each case picks one structure of the base database (a meta
/// slot; a branch, leaf, overflow or free-list page reachable from the durable meta page; the
/// log header; a log record), sets ONE field of it (header fields, cell pointers, key and value
/// lengths, child and overflow page numbers, free-list entries, record lengths, generations,
/// txids, operation fields) to a hostile value (0, 1, maxima, the page count and page size and
/// their neighbours, the counter limit, another live page number, the field's own value +- 1),
/// re-seals the checksum exactly as the writer does, and then opens the copy, verifies it,
/// scans every table both ways, checkpoints, writes, and reopens. Each case runs on a thread of
/// its own with a time bound. The outcome must be a typed `StoreError` or a working database;
/// a trap kills the test process (its last "case" line names the culprit with `VERBOSE`).
///
/// Knobs: `VITRINE_STRUCTURE_FUZZ_CASES` (default 200), `VITRINE_STRUCTURE_FUZZ_SEED` (a fixed
/// seed by default; `random` explores), `VITRINE_STRUCTURE_FUZZ_VERBOSE` (print every case
/// before running it, to name the one that traps).
@Suite(.serialized) struct StructureFuzzTests {
    /// One field of one structure.
    struct Field {
        enum File { case data, log }
        var file: File
        var offset: Int
        var width: Int
        var structure: String
        var name: String
    }

    /// The checksum covering a structure, and how the writer seals it.
    enum Seal {
        case meta(page: Int)
        case page(page: Int)
        case logHeader
        case logRecord(start: Int)
    }

    struct Target {
        var field: Field
        var seal: Seal
    }

    // MARK: - Finding the structures

    static func u16(_ b: [UInt8], _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
    static func u32(_ b: [UInt8], _ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[o + $1]) << (8 * UInt32($1)) } }
    static func u64(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(b[o + $1]) << (8 * UInt64($1)) } }

    /// Every field worth a hostile value, grouped by kind of structure.
    static func targets(_ base: CorruptionTests.Base) -> [String: [Target]] {
        var out: [String: [Target]] = [:]
        let data = base.data
        func add(_ kind: String, _ seal: Seal, _ file: Field.File, _ offset: Int, _ width: Int, _ structure: String, _ name: String) {
            out[kind, default: []].append(
                Target(field: Field(file: file, offset: offset, width: width, structure: structure, name: name), seal: seal))
        }
        // Meta slots.
        let metaFields = [
            (8, 4, "version"), (12, 4, "page size"), (16, 8, "checkpoint sequence"), (24, 8, "txid"),
            (32, 8, "page count"), (40, 8, "catalog root"), (48, 8, "free-list head"), (56, 8, "free count"),
            (64, 8, "log generation"), (72, 8, "next table id"), (80, 8, "database id"),
        ]
        for slot in 0..<2 {
            for (o, w, name) in metaFields {
                add("meta", .meta(page: slot), .data, slot * PageLayout.size + o, w, "meta slot \(slot)", name)
            }
        }
        // Live pages, by kind.
        for p in base.live.sorted() where p >= 2 {
            let start = Int(p) * PageLayout.size
            let page = Array(data[start..<(start + PageLayout.size)])
            guard let kind = PageKind(rawValue: page[4]) else { continue }
            let kindName = "\(kind)"
            let structure = "\(kindName) page \(p)"
            let seal = Seal.page(page: Int(p))
            for (o, w, name) in [(4, 1, "kind"), (5, 1, "flags"), (6, 2, "count"), (8, 8, "page number"), (16, 8, "txid"), (24, 8, "next")]
            {
                add(kindName, seal, .data, start + o, w, structure, name)
            }
            let n = u16(page, 6)
            switch kind {
            case .leaf, .branch:
                for i in 0..<n {
                    let o = u16(page, PageLayout.headerSize + 2 * i)
                    add(kindName, seal, .data, start + PageLayout.headerSize + 2 * i, 2, structure, "cell \(i) pointer")
                    add(kindName, seal, .data, start + o, 2, structure, "cell \(i) key length")
                    if kind == .branch {
                        add(kindName, seal, .data, start + o + 2, 8, structure, "cell \(i) child")
                    } else {
                        add(kindName, seal, .data, start + o + 2, 4, structure, "cell \(i) value info")
                        if u32(page, o + 2) & PageLayout.overflowFlag != 0 {
                            add(
                                kindName, seal, .data, start + o + PageLayout.leafCellHeader + u16(page, o), 8, structure,
                                "cell \(i) overflow page")
                        }
                    }
                }
            case .freeList:
                for i in 0..<n { add(kindName, seal, .data, start + PageLayout.headerSize + 8 * i, 8, structure, "entry \(i)") }
            case .overflow, .meta:
                break
            }
        }
        // Log header and records.
        let log = base.log
        for (o, w, name) in [(8, 4, "version"), (16, 8, "generation"), (24, 8, "base txid"), (32, 8, "database id")] {
            add("log header", .logHeader, .log, o, w, "log header", name)
        }
        var offset = Int(LogFormat.firstRecordOffset)
        var record = 0
        while offset + LogFormat.recordHeaderSize <= base.logEnd {
            let length = Int(u32(log, offset + 4))
            let seal = Seal.logRecord(start: offset)
            let structure = "log record \(record) at \(offset)"
            for (o, w, name) in [
                (4, 4, "payload length"), (8, 8, "generation"), (16, 8, "txid"), (24, 4, "operation count"), (28, 4, "database tag"),
            ] {
                add("log record", seal, .log, offset + o, w, structure, name)
            }
            // The operations' fields (format in LogRecord.swift).
            var p = offset + LogFormat.recordHeaderSize
            let end = offset + LogFormat.recordHeaderSize + length
            var op = 0
            while p < end {
                let code = log[p]
                add("log record", seal, .log, p, 1, structure, "op \(op) code")
                add("log record", seal, .log, p + 1, 4, structure, "op \(op) table id")
                switch code {
                case 1:
                    let kl = u16(log, p + 5), vl = Int(u32(log, p + 7))
                    add("log record", seal, .log, p + 5, 2, structure, "op \(op) key length")
                    add("log record", seal, .log, p + 7, 4, structure, "op \(op) value length")
                    p += 11 + kl + vl
                case 2:
                    add("log record", seal, .log, p + 5, 2, structure, "op \(op) key length")
                    p += 7 + u16(log, p + 5)
                case 3:
                    add("log record", seal, .log, p + 5, 2, structure, "op \(op) begin length")
                    add("log record", seal, .log, p + 7, 2, structure, "op \(op) end length")
                    p += 9 + u16(log, p + 5) + u16(log, p + 7)
                case 4:
                    add("log record", seal, .log, p + 5, 2, structure, "op \(op) name length")
                    p += 7 + u16(log, p + 5)
                default:
                    p += 5
                }
                op += 1
            }
            offset = end
            record += 1
        }
        return out
    }

    // MARK: - Hostile values

    static func hostileValue(_ field: Field, original: UInt64, _ base: CorruptionTests.Base, _ rng: inout SeededRandom) -> UInt64 {
        let max: UInt64 = field.width == 8 ? UInt64.max : (UInt64(1) << (8 * UInt64(field.width))) - 1
        let pages = base.pageCount
        let live = base.live.filter { $0 >= 2 }.sorted()
        let candidates: [UInt64] = [
            0, 1, 2, 3, max, max - 1, max / 2, max / 2 + 1,
            pages - 1, pages, pages + 1, 2 * pages,
            UInt64(PageLayout.size), UInt64(PageLayout.size - 1), UInt64(PageLayout.size + 1),
            UInt64(PageLayout.capacity), UInt64(PageLayout.headerSize), UInt64(PageLayout.headerSize - 1),
            UInt64(Limits.maxKeyLength), UInt64(Limits.maxKeyLength + 1),
            UInt64(Limits.maxValueLength), UInt64(Limits.maxValueLength + 1), UInt64(PageLayout.overflowFlag),
            UInt64(PageLayout.overflowFlag) | 1, UInt64(PageLayout.overflowFlag) | UInt64(Limits.maxValueLength),
            MetaPage.counterLimit - 1, MetaPage.counterLimit, MetaPage.maxPageCount, MetaPage.maxPageCount + 1,
            UInt64(UInt32.max), UInt64(UInt32.max) + 1, UInt64(UInt16.max),
            live.randomElement(using: &rng) ?? 2, live.randomElement(using: &rng) ?? 2,
            original &+ 1, original &- 1, original &+ 2, original &- 2, original << 1, original >> 1,
        ]
        return candidates.randomElement(using: &rng)! & max
    }

    /// Sets the field and re-seals its structure's checksum as the writer does.
    static func mutate(_ target: Target, value: UInt64, data: inout [UInt8], log: inout [UInt8]) {
        let f = target.field
        func set(_ bytes: inout [UInt8]) {
            for k in 0..<f.width { bytes[f.offset + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
        }
        switch f.file {
        case .data: set(&data)
        case .log: set(&log)
        }
        switch target.seal {
        case .meta(let page):
            let start = page * PageLayout.size
            let crc = CRC32C.checksum(Array(data[start..<(start + MetaPage.checksumOffset)]))
            for k in 0..<4 { data[start + MetaPage.checksumOffset + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        case .page(let page):
            var b = PageBuilder(kind: .leaf, pageNumber: 0, txid: 0)
            b.bytes = Array(data[(page * PageLayout.size)..<((page + 1) * PageLayout.size)])
            data.replaceSubrange((page * PageLayout.size)..<((page + 1) * PageLayout.size), with: b.finish())
        case .logHeader:
            let crc = CRC32C.checksum(Array(log[0..<LogFormat.headerSize]))
            for k in 0..<4 { log[LogFormat.headerSize + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        case .logRecord(let start):
            // The writer's checksum covers [4, 32 + payload length); a length past the end of
            // the file leaves the record unsealable (the reader stops there anyway).
            let length = Int(u32(log, start + 4))
            let end = start + LogFormat.recordHeaderSize + length
            guard end <= log.count else { return }
            let crc = CRC32C.checksum(Array(log[(start + 4)..<end]))
            for k in 0..<4 { log[start + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        }
    }

    // MARK: - One case

    enum Outcome: Sendable {
        case refused(String) // open threw a StoreError
        case typed(String) // opened; a later step threw a StoreError (or verify reported)
        case working // every step worked, and what was written reads back
        case lostWrite(String) // every step "worked" but a write does not read back
        case untyped(String) // an error that is not a StoreError
    }

    static func exercise(dir: TempDir) -> Outcome {
        let path = dir.file("case.db")
        let options = CorruptionTests.options()
        let db: Database
        do {
            db = try Database(path: path, options: options)
        } catch let e as StoreError {
            return .refused("\(e)")
        } catch {
            return .untyped("open: \(error)")
        }
        var findings: [String] = []
        do {
            defer { db.close() }
            let report = try db.verify()
            if !report.isClean { findings.append("verify: \(report.problems[0])") }
            do { _ = try CorruptionTests.contents(db) } catch let e as CorruptionTests.ScanMismatch {
                findings.append("scan: \(e.table): \(e.what)")
            }
            try db.checkpoint()
            let big = [UInt8](repeating: 0xAB, count: 9_000)
            let names = try db.read { tx in try tx.tableNames() }
            try db.write { tx in
                for name in names {
                    let t = try tx.createTable(name)
                    try t.put(bytes("fuzz-small"), bytes("v"))
                    try t.put(bytes("fuzz-big"), big)
                    let c = try t.makeCursor()
                    if try c.first() { try t.delete(c.key) }
                }
                try tx.createTable("fuzz-new").put(bytes("k"), big)
            }
            try db.write { tx in
                if let first = names.first { _ = try tx.table(first)?.deleteRange(from: bytes("a1"), to: bytes("a15")) }
                if names.count > 1 { try tx.dropTable(names[1]) }
            }
            try db.checkpoint()
            try db.write { tx in try tx.createTable("fuzz-new").put(bytes("after"), bytes("checkpoint")) }
            let readBack = try db.read { tx in
                (try tx.table("fuzz-new")?.get(bytes("k")), try tx.table("fuzz-new")?.get(bytes("after")))
            }
            if readBack.0 != big || readBack.1 != bytes("checkpoint") {
                if findings.isEmpty { return .lostWrite("fuzz-new does not read back") }
            }
            // Moving pages over whatever the damage left, and cutting the file (Shrink.swift);
            // what was written must still read back.
            try db.shrink()
            let afterShrink = try db.read { tx in try tx.table("fuzz-new")?.get(bytes("k")) }
            if afterShrink != big && findings.isEmpty { return .lostWrite("fuzz-new does not read back after shrink") }
            _ = try db.verify()
        } catch let e as StoreError {
            return .typed("\(e)")
        } catch {
            return .untyped("\(error)")
        }
        // Reopen what the case left behind (after a failure, recovery from it).
        do {
            let again = try Database(path: path, options: options)
            defer { again.close() }
            _ = try again.verify()
            do { _ = try CorruptionTests.contents(again) } catch is CorruptionTests.ScanMismatch {}
        } catch let e as StoreError {
            return .typed("reopen: \(e)")
        } catch {
            return .untyped("reopen: \(error)")
        }
        return findings.isEmpty ? .working : .typed(findings[0])
    }

    static func peakResidentMiB() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss / 1024
    }

    // MARK: - The campaign

    /// Regression (structure-fuzz seed 17721049786620003185, case 2681, found in session 9): a
    /// free list that names a tree page in use. The allocator hands that page out as the number
    /// of a new page while the transaction also reads and copies it; one number for two dirty
    /// pages replaced the first in the transaction's table while a change still held it (a use
    /// after free: the test process died). Now it is `corruptPage`, and nothing is written.
    @Test(arguments: [false, true])
    func aFreeListNamingAPageInUseIsRefused(catalogRoot namesCatalog: Bool) throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        var named: PageNumber = 0
        var head = 0
        do {
            let db = try Database(path: path)
            try db.write { tx in
                let t = try tx.createTable("t")
                for i in 0..<400 { try t.put(bytes(String(format: "k%04d", i)), [UInt8](repeating: UInt8(i % 200), count: 120)) }
            }
            try db.write { tx in
                let t = try #require(try tx.table("t"))
                for i in stride(from: 0, to: 400, by: 3) { try t.delete(bytes(String(format: "k%04d", i))) }
            }
            try db.checkpoint()
            try db.checkpoint()
            // The page to name: the catalog's root, or the table's root (a branch).
            named = namesCatalog ? db.meta.catalogRoot : try db.write { tx in try #require(try tx.table("t")).state.root }
            head = Int(db.meta.freeListHead)
            #expect(head != 0)
            // Closing writes nothing: the log is empty and the last state checkpointed.
            db.close()
        }
        var data = readFile(path)
        // The lowest entry goes first: make it the page in use, then seal the page again.
        let start = head * PageLayout.size
        var b = PageBuilder(kind: .freeList, pageNumber: UInt64(head), txid: 0)
        b.bytes = Array(data[start..<(start + PageLayout.size)])
        let count = b.bytes.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 6, as: UInt16.self)) }
        #expect(count > 0)
        let entries = (0..<count).map { e in
            b.bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: PageLayout.headerSize + 8 * e, as: UInt64.self) }
        }
        let lowest = try #require(entries.indices.min { entries[$0] < entries[$1] })
        b.setU64(named, at: PageLayout.headerSize + 8 * lowest)
        data.replaceSubrange(start..<(start + PageLayout.size), with: b.finish())
        writeFile(path, data)

        let db = try Database(path: path)
        defer { db.close() }
        var refused = 0
        for round in 0..<6 {
            do {
                try db.write { tx in
                    let t = try tx.createTable("t")
                    for i in 0..<60 { try t.put(bytes(String(format: "k%04d", (i * 7 + round) % 400)), [UInt8](repeating: 9, count: 300)) }
                    try tx.createTable("new\(round)").put(bytes("k"), bytes("v"))
                }
            } catch let error as StoreError {
                if case .corruptPage = error { refused += 1 } else { throw error }
            }
        }
        #expect(refused > 0)
        #expect(!(try db.verify().isClean))
    }

    @Test func structureFuzzing() throws {
        let env = ProcessInfo.processInfo.environment
        let seedText = env["VITRINE_STRUCTURE_FUZZ_SEED"] ?? "20261201"
        let seed = UInt64(seedText) ?? UInt64.random(in: 0...UInt64.max)
        let cases = envInt("VITRINE_STRUCTURE_FUZZ_CASES", default: 200)
        let verbose = env["VITRINE_STRUCTURE_FUZZ_VERBOSE"] != nil
        print("StructureFuzzTests.structureFuzzing seed \(seed) cases \(cases) (replay: VITRINE_STRUCTURE_FUZZ_SEED=\(seed))")
        let dir = TempDir()
        defer { dir.remove() }
        let base = try CorruptionTests.makeBase(seed: seed, dir: dir)
        let targets = Self.targets(base)
        let kinds = targets.keys.sorted()
        var rng = SeededRandom(seed: seed ^ 0x5EA1_0F5E)
        var perKind: [String: [String: Int]] = [:]
        var opened = 0, typed = 0, hangs = 0, untyped = 0, lost = 0
        let timeLimit = 20.0
        let started = Date()
        for n in 0..<cases {
            // Kinds in turn, so a small run still touches every kind of structure.
            let kind = kinds[n % kinds.count]
            let target = targets[kind]!.randomElement(using: &rng)!
            var data = base.data
            var log = base.log
            let original: UInt64 = {
                let bytes = target.field.file == .data ? data : log
                return (0..<target.field.width).reduce(0) { $0 | UInt64(bytes[target.field.offset + $1]) << (8 * UInt64($1)) }
            }()
            let value = Self.hostileValue(target.field, original: original, base, &rng)
            Self.mutate(target, value: value, data: &data, log: &log)
            let label = "case \(n): \(target.field.structure) \(target.field.name) \(original) -> \(value) (seed \(seed))"
            if verbose { print("  \(label)") }
            let caseDir = dir
            unlink(dir.file("case.db"))
            unlink(dir.file("case.db-wal"))
            try writeAll(dir.file("case.db"), data)
            try writeAll(dir.file("case.db-wal"), log)
            guard let outcome = runBounded(seconds: timeLimit, { Self.exercise(dir: caseDir) }) else {
                hangs += 1
                Issue.record("\(label): no result within \(timeLimit) s (hang)")
                break // the stuck thread still holds the case's files
            }
            let name: String
            switch outcome {
            case .refused(let why):
                name = "refused"; typed += 1
                if verbose { print("    refused: \(why)") }
            case .typed(let why):
                name = "typed"; typed += 1; opened += 1
                if verbose { print("    typed: \(why)") }
            case .working:
                name = "working"; opened += 1
            case .lostWrite(let why):
                name = "lost write"; opened += 1; lost += 1
                Issue.record("\(label): \(why)")
            case .untyped(let why):
                name = "untyped"; untyped += 1
                Issue.record("\(label): error that is not a StoreError: \(why)")
            }
            perKind[kind, default: [:]][name, default: 0] += 1
        }
        let seconds = Date().timeIntervalSince(started)
        for kind in kinds {
            let counts = (perKind[kind] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("  \(kind) (\(targets[kind]!.count) fields): \(counts)")
        }
        let total = perKind.values.reduce(0) { $0 + $1.values.reduce(0, +) }
        print(
            "structure-fuzz: \(total) cases, \(opened) opened, \(typed) typed errors, 0 traps, \(hangs) hangs, "
                + "\(untyped) untyped, \(lost) lost writes; peak RSS \(Self.peakResidentMiB()) MiB; "
                + String(format: "%.1f s", seconds) + " (seed \(seed))")
        #expect(hangs == 0 && untyped == 0 && lost == 0)
    }
}
