import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// Random-order inserts fill leaves well: an over-full leaf shares its cells evenly with its
/// right sibling while the two fit, and splits two into three when they do not.
@Suite struct FillTests {
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
            for (key, value) in model { #expect(try t.get(key) == value) }
            var count = 0
            try t.scan(from: []) { _, _ in
                count += 1
                return true
            }
            #expect(count == model.count)
        }
    }
}
