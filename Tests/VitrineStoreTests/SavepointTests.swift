import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// Savepoints against a model: random puts, deletes, range deletes, table creates and drops in
/// nested savepoints, some of which throw. After each transaction the database must hold exactly
/// the model's surviving changes, and so must a copy of the files opened cold (the log replayed),
/// which proves that the log record carries only what survived.
/// Size: VITRINE_SAVEPOINT_TRANSACTIONS; seed: VITRINE_SEED.
@Suite struct SavepointTests {
    typealias Model = [String: [[UInt8]: [UInt8]]]
    struct Refused: Error {}

    static func contents(_ db: Database) throws -> Model {
        try db.read { tx in
            var m: Model = [:]
            for name in try tx.tableNames() {
                var rows: [[UInt8]: [UInt8]] = [:]
                guard let t = try tx.table(name) else { continue }
                for (k, v) in try t.range(from: [], to: [], limit: 0, reverse: false) { rows[k] = v }
                m[name] = rows
            }
            return m
        }
    }

    /// One random change, applied to the transaction and to the model alike.
    static func change(_ tx: WriteTransaction, _ model: inout Model, _ rng: inout SeededRandom) throws {
        let names = ["a", "b", "c"]
        let name = names[Int.random(in: 0..<names.count, using: &rng)]
        let key = Array(String(format: "k%03d", Int.random(in: 0..<200, using: &rng)).utf8)
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<55:
            let size =
                Int.random(in: 0..<10, using: &rng) == 0 ? Int.random(in: 2000...9000, using: &rng) : Int.random(in: 0...40, using: &rng)
            let value = [UInt8](repeating: UInt8.random(in: 0...255, using: &rng), count: size)
            try tx.createTable(name).put(key, value)
            model[name, default: [:]][key] = value
        case 55..<80:
            guard let t = try tx.table(name) else { return }
            try t.delete(key)
            model[name]?[key] = nil
        case 80..<92:
            guard let t = try tx.table(name) else { return }
            let end = Array(String(format: "k%03d", Int.random(in: 0..<200, using: &rng)).utf8)
            try t.deleteRange(from: key, to: end)
            for k in model[name, default: [:]].keys where !k.lexicographicallyPrecedes(key) && k.lexicographicallyPrecedes(end) {
                model[name]?[k] = nil
            }
        case 92..<96:
            _ = try tx.createTable(name)
            if model[name] == nil { model[name] = [:] }
        default:
            guard try tx.table(name) != nil else { return }
            try tx.dropTable(name)
            model[name] = nil
        }
    }

    /// A savepoint of a few changes and perhaps nested savepoints; throws (undoing itself) one
    /// time in three. `model` keeps the changes only when it does not throw.
    static func savepoint(_ tx: WriteTransaction, _ model: inout Model, _ rng: inout SeededRandom, depth: Int) throws {
        var inner = model
        do {
            try tx.savepoint {
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    if depth < 3 && Int.random(in: 0..<5, using: &rng) == 0 {
                        try savepoint(tx, &inner, &rng, depth: depth + 1)
                    } else {
                        try change(tx, &inner, &rng)
                    }
                }
                if Int.random(in: 0..<3, using: &rng) == 0 { throw Refused() }
            }
            model = inner
        } catch is Refused {
            // Undone: the model stays as it was.
        }
    }

    @Test func randomSavepointsMatchTheModelBeforeAndAfterReplay() throws {
        let seed = envSeed(default: 20_261_130)
        let transactions = envInt("VITRINE_SAVEPOINT_TRANSACTIONS", default: 60)
        var rng = SeededRandom(seed: seed)
        let dir = TempDir(); defer { dir.remove() }
        var options = DatabaseOptions(durability: .full, checkpointLogBytes: 64 << 20, checkpointPages: 1 << 20)
        options.minimumMapBytes = 1 << 20
        let db = try Database(path: dir.file(), options: options)
        var model: Model = [:]
        var rolledBack = 0
        for round in 0..<transactions {
            var next = model
            try db.write { tx in
                for _ in 0..<Int.random(in: 1...8, using: &rng) {
                    let before = next
                    try Self.savepoint(tx, &next, &rng, depth: 0)
                    if before == next { rolledBack += 1 }
                }
            }
            model = next
            #expect(try Self.contents(db) == model, "round \(round)")
            if round % 10 == 9 {
                // A cold copy replays the log records written since the last checkpoint.
                let copy = dir.file("copy-\(round).db")
                writeFile(copy, readFile(dir.file()))
                writeFile(copy + "-wal", readFile(dir.file() + "-wal"))
                let replayed = try Database(path: copy, options: options)
                #expect(try Self.contents(replayed) == model, "replay after round \(round)")
                #expect(try replayed.verify().isClean)
                replayed.close()
            }
        }
        #expect(try db.verify().isClean)
        db.close()
        print("savepoints: \(transactions) transactions, \(rolledBack) savepoints without net change, seed \(seed)")
    }

    @Test func aThrowingSavepointKeepsTheRestOfTheTransaction() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        try db.write { tx in try tx.createTable("t").put(bytes("stock"), [5]) }
        try db.write { tx in
            let t = try tx.createTable("t")
            try tx.savepoint {
                try t.put(bytes("order-1"), [1]); try t.put(bytes("stock"), [4])
            }
            #expect(throws: Refused.self) {
                try tx.savepoint {
                    try t.put(bytes("order-2"), [9])
                    try t.delete(bytes("stock"))
                    throw Refused()
                }
            }
            #expect(try t.get(bytes("stock")) == [4])
            #expect(try t.get(bytes("order-2")) == nil)
        }
        let rows = try Self.contents(db)["t"]
        #expect(rows == [bytes("stock"): [4], bytes("order-1"): [1]])
        db.close()
    }

    @Test func aTransactionWhoseSavepointsAllFailCommitsNothing() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        try db.write { tx in try tx.createTable("t").put(bytes("x"), [1]) }
        let before = db.lastTransactionId
        try db.write { tx in
            let t = try tx.createTable("t")
            _ = try? tx.savepoint {
                try t.put(bytes("y"), [2]); throw Refused()
            }
            #expect(!tx.hasLoggedChanges)
        }
        #expect(try Self.contents(db)["t"] == [bytes("x"): [1]])
        _ = before
        db.close()
    }

    /// A table handle taken before a savepoint that dropped the table and then rolled back keeps
    /// working: the table is revived in place (it used to come back as a new object, and the old
    /// handle threw noSuchTable). The replayed copy agrees.
    @Test func aTableHandleSurvivesARolledBackDrop() throws {
        let dir = TempDir(); defer { dir.remove() }
        var options = DatabaseOptions(durability: .full, checkpointLogBytes: 64 << 20, checkpointPages: 1 << 20)
        options.minimumMapBytes = 1 << 20
        let db = try Database(path: dir.file(), options: options)
        try db.write { tx in try tx.createTable("a").put(bytes("k1"), [1]) }
        try db.write { tx in
            guard let t = try tx.table("a") else { Issue.record("no table a"); return }
            #expect(throws: Refused.self) {
                try tx.savepoint {
                    try tx.dropTable("a")
                    _ = try tx.createTable("a") // a new table of the same name, undone too
                    throw Refused()
                }
            }
            try t.put(bytes("k2"), [2])
            #expect(try t.get(bytes("k1")) == [1])
        }
        let expected: Model = ["a": [bytes("k1"): [1], bytes("k2"): [2]]]
        #expect(try Self.contents(db) == expected)
        let copy = dir.file("copy.db")
        writeFile(copy, readFile(dir.file()))
        writeFile(copy + "-wal", readFile(dir.file() + "-wal"))
        let replayed = try Database(path: copy, options: options)
        #expect(try Self.contents(replayed) == expected)
        replayed.close()
        db.close()
    }
}
