import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// Model-based randomized test: a long seeded sequence of puts, deletes, range deletes, range
/// reads and aborted transactions, over several tables, checked against an in-memory sorted
/// model; the database is closed and reopened between phases. Size: VITRINE_MODEL_OPS.
@Suite struct ModelTests {
    typealias Model = [String: [[UInt8]: [UInt8]]]

    static func randomValue(_ rng: inout SeededRandom) -> [UInt8] {
        let size: Int
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<60: size = Int.random(in: 0...64, using: &rng)
        case 60..<90: size = Int.random(in: 65...1200, using: &rng)
        case 90..<98: size = Int.random(in: 1201...20_000, using: &rng)
        default: size = Int.random(in: 20_001...200_000, using: &rng)
        }
        let fill = UInt8.random(in: 0...255, using: &rng)
        var v = [UInt8](repeating: fill, count: size)
        for i in stride(from: 0, to: size, by: 97) { v[i] = UInt8.random(in: 0...255, using: &rng) }
        return v
    }

    static func randomKey(_ rng: inout SeededRandom) -> [UInt8] {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: // long key
            let n = Int.random(in: 100...Limits.maxKeyLength, using: &rng)
            return [UInt8](repeating: 0x6B, count: n - 4)
                + withUnsafeBytes(of: UInt32.random(in: 0..<500, using: &rng).bigEndian) { Array($0) }
        default:
            return Array(String(format: "k%05d", Int.random(in: 0..<3000, using: &rng)).utf8)
        }
    }

    static func check(_ db: Database, _ model: Model) throws {
        try db.read { tx in
            let names = try tx.tableNames()
            #expect(names == model.keys.sorted())
            for (name, rows) in model {
                let t = try #require(try tx.table(name))
                #expect(t.count == rows.count)
                let c = try t.makeCursor()
                var ok = try c.first()
                var seen = 0
                let sorted = rows.keys.sorted { compareBytes($0, $1) < 0 }
                while ok {
                    #expect(seen < sorted.count && c.key == sorted[seen])
                    if seen < sorted.count { #expect(try c.value() == rows[sorted[seen]]) }
                    seen += 1
                    ok = try c.next()
                }
                #expect(seen == rows.count)
                // The zero-copy scan sees the same, from the start and from a middle key.
                var scanned: [([UInt8], [UInt8])] = []
                try t.scan(from: []) { k, v in
                    scanned.append((k.withUnsafeBytes { Array($0) }, v.withUnsafeBytes { Array($0) }))
                    return true
                }
                #expect(scanned.map(\.0) == sorted)
                #expect(scanned.allSatisfy { rows[$0.0] == $0.1 })
                if let middle = sorted.dropFirst(sorted.count / 2).first {
                    var fromMiddle: [[UInt8]] = []
                    try t.scan(from: middle) { k, _ in
                        fromMiddle.append(k.withUnsafeBytes { Array($0) })
                        return fromMiddle.count < 10
                    }
                    #expect(fromMiddle == Array(sorted.drop { compareBytes($0, middle) < 0 }.prefix(10)))
                }
            }
        }
    }

    @Test func randomizedAgainstModel() throws {
        let seed = envSeed(default: 20_261_125)
        let totalOps = envInt("VITRINE_MODEL_OPS", default: 20000)
        print("model test seed=\(seed) ops=\(totalOps)")
        var rng = SeededRandom(seed: seed)
        let dir = TempDir(); defer { dir.remove() }
        var options = DatabaseOptions(
            durability: .relaxed, checkpointLogBytes: 256 << 10, checkpointPages: 400,
            largeTransactionBytes: 1 << 20)
        options.minimumMapBytes = 1 << 20
        var model: Model = [:]
        let tableNames = ["alpha", "beta", "gamma"]
        var done = 0
        var phase = 0
        struct Abort: Error {}
        while done < totalOps {
            phase += 1
            let db = try Database(path: dir.file(), options: options)
            try Self.check(db, model)
            let phaseOps = min(totalOps - done, 1500)
            var opsInPhase = 0
            while opsInPhase < phaseOps {
                let txOps = Int.random(in: 1...40, using: &rng)
                let abort = Int.random(in: 0..<10, using: &rng) == 0
                var next = model
                do {
                    try db.write { tx in
                        for _ in 0..<txOps {
                            let name = tableNames[Int.random(in: 0..<tableNames.count, using: &rng)]
                            let roll = Int.random(in: 0..<100, using: &rng)
                            if roll < 2 {
                                if next[name] != nil { try tx.dropTable(name); next[name] = nil }
                                continue
                            }
                            let t = try tx.createTable(name)
                            if next[name] == nil { next[name] = [:] }
                            let key = Self.randomKey(&rng)
                            switch roll {
                            case 2..<60:
                                let v = Self.randomValue(&rng)
                                try t.put(key, v)
                                next[name]?[key] = v
                            case 60..<85:
                                let existed = try t.delete(key)
                                #expect(existed == (next[name]?[key] != nil))
                                next[name]?[key] = nil
                            case 85..<88:
                                let end = Array(key.prefix(3)) + [0xFF]
                                let n = try t.deleteRange(from: key, to: end)
                                let doomed = (next[name] ?? [:]).keys.filter { compareBytes($0, key) >= 0 && compareBytes($0, end) < 0 }
                                #expect(n == doomed.count)
                                for k in doomed { next[name]?[k] = nil }
                            default:
                                #expect(try t.get(key) == next[name]?[key])
                                let r = try t.range(from: key, to: [], limit: 5)
                                let expected = (next[name] ?? [:]).keys.filter { compareBytes($0, key) >= 0 }
                                    .sorted { compareBytes($0, $1) < 0 }.prefix(5)
                                #expect(r.map(\.key) == Array(expected))
                            }
                        }
                        if abort { throw Abort() }
                    }
                    model = next
                } catch is Abort {
                    // rolled back: model unchanged
                }
                opsInPhase += txOps
                if Int.random(in: 0..<25, using: &rng) == 0 {
                    try Self.check(db, model)
                }
            }
            done += opsInPhase
            try Self.check(db, model)
            let report = try db.verify()
            #expect(report.isClean, "phase \(phase): \(report)")
            if phase % 2 == 0 { try db.checkpoint() }
            db.close()
        }
        let db = try Database(path: dir.file(), options: options)
        defer { db.close() }
        try Self.check(db, model)
        #expect(try db.verify().isClean)
    }
}
