import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// Random-order inserts fill leaves well: an over-full leaf shares its cells evenly with its
/// right sibling while the two fit, and splits two into three when they do not.
@Suite struct FillTests {
    /// `table` holds exactly `model`: every key reads back its value, and no other row exists.
    private static func expect(_ table: Table, holds model: [[UInt8]: [UInt8]]) throws {
        for (key, value) in model { #expect(try table.get(key) == value) }
        var count = 0
        try table.scan(from: []) { _, _ in
            count += 1
            return true
        }
        #expect(count == model.count)
    }

    @Test func randomOrderLoadIsDense() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        var rng = SeededRandom(seed: 3)
        var keys: [[UInt8]] = (0..<20_000).map { _ in (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        keys.shuffle(using: &rng)
        for chunk in stride(from: 0, to: keys.count, by: 2000) {
            try db.write { tx in
                let t = try tx.createTable("products")
                for k in keys[chunk..<min(keys.count, chunk + 2000)] { try t.put(k, [UInt8](repeating: 0x61, count: 200)) }
            }
        }
        let stats = try #require(try db.statistics().tables.first)
        print("random-order load: \(stats.leafPages) leaves, fill \(Int(stats.fillFactor * 100))%")
        #expect(stats.entries == 20_000)
        // A plain half split gives ~57% here; moving only the overflow into the sibling, 72%;
        // even halves with the sibling and two-to-three splits, 80%.
        #expect(stats.fillFactor > 0.77)
        #expect(try db.verify().isClean)
    }

    /// Cells of every size up to the largest inline one, in random order, with updates and
    /// deletes mixed in: whatever the three-way cut finds, every page fits and every key reads
    /// back its value.
    @Test func cellsOfEverySizeSplitSafely() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        var rng = SeededRandom(seed: 11)
        let largest = (1...4096).last { PageLayout.storesInline(keyLength: 16, valueLength: $0) } ?? 0
        #expect(largest > 1000)
        var model: [[UInt8]: [UInt8]] = [:]
        for round in 0..<30 {
            try db.write { tx in
                let t = try tx.createTable("t")
                for _ in 0..<300 {
                    let key = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let length =
                        round % 3 == 0 ? Int.random(in: largest - 200...largest, using: &rng) : Int.random(in: 1...largest, using: &rng)
                    let value = [UInt8](repeating: UInt8(truncatingIfNeeded: length), count: length)
                    try t.put(key, value)
                    model[key] = value
                }
                for key in model.keys.shuffled(using: &rng).prefix(40) {
                    _ = try t.delete(key)
                    model[key] = nil
                }
            }
        }
        #expect(try db.verify().isClean)
        try db.read { tx in
            let t = try #require(try tx.table("t"))
            try Self.expect(t, holds: model)
        }
    }

    /// Keys that make long separators and fat branch cells (shared prefixes up to 1,000 bytes),
    /// values from empty to overflow, in five tables, with deletes and rolled-back savepoints:
    /// the even shifts and three-way splits, with parents splitting under them, keep every
    /// table equal to a model and `verify` clean (from a review's fuzz run of `fe5b513`).
    @Test(arguments: [1, 2])
    func treeShapesUnderEveryKindOfKey(seed: Int) throws {
        struct Rollback: Error {}
        func key(_ table: Int, _ rng: inout SeededRandom) -> [UInt8] {
            switch table {
            case 0: return (0..<Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...3, using: &rng) }
            case 1:
                let prefix = Int.random(in: 0...1000, using: &rng)
                return [UInt8](repeating: UInt8(prefix % 3), count: prefix)
                    + (0..<Int.random(in: 1...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 2: return (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 3: return (0..<Int.random(in: 1...1024, using: &rng)).map { _ in UInt8.random(in: 0...1, using: &rng) }
            default:
                return [UInt8](repeating: 0x61, count: Int.random(in: 0...1000, using: &rng)) + [0x62]
                    + (0..<Int.random(in: 0...3, using: &rng)).map { _ in UInt8.random(in: 0x60...0x63, using: &rng) }
            }
        }
        func value(_ rng: inout SeededRandom) -> [UInt8] {
            let r = Int.random(in: 0..<10, using: &rng)
            let n =
                r < 4
                ? Int.random(in: 0...40, using: &rng)
                : r < 8
                    ? Int.random(in: 0...1400, using: &rng)
                    : r < 9 ? Int.random(in: 1200...1340, using: &rng) : Int.random(in: 0...9000, using: &rng)
            return [UInt8](repeating: UInt8.random(in: 0...255, using: &rng), count: n)
        }
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        var rng = SeededRandom(seed: UInt64(seed))
        let names = ["t0", "t1", "t2", "t3", "t4"]
        var model: [String: [[UInt8]: [UInt8]]] = [:]
        for round in 0..<40 {
            try db.write { tx in
                for _ in 0..<Int.random(in: 50...400, using: &rng) {
                    let table = Int.random(in: 0..<names.count, using: &rng)
                    let name = names[table]
                    let t = try tx.createTable(name)
                    let op = Int.random(in: 0..<10, using: &rng)
                    if op < 6 || (model[name]?.isEmpty ?? true) {
                        let k = key(table, &rng)
                        let v = value(&rng)
                        try t.put(k, v)
                        model[name, default: [:]][k] = v
                    } else if op < 9, let k = model[name]?.keys.randomElement(using: &rng) {
                        #expect(try t.delete(k))
                        model[name]?[k] = nil
                    } else {
                        _ = try? tx.savepoint {
                            for _ in 0..<Int.random(in: 1...40, using: &rng) {
                                try t.put(key(table, &rng), value(&rng))
                                if let any = model[name]?.keys.randomElement(using: &rng) { _ = try t.delete(any) }
                            }
                            throw Rollback()
                        }
                    }
                }
            }
            guard round % 5 == 4 else { continue }
            #expect(try db.verify().isClean, "round \(round)")
            try db.read { tx in
                for name in names {
                    let expected = model[name] ?? [:]
                    guard let t = try tx.table(name) else {
                        #expect(expected.isEmpty)
                        continue
                    }
                    try Self.expect(t, holds: expected)
                }
            }
        }
    }
}
