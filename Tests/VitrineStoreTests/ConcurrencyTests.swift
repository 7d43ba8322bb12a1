import Foundation
import Synchronization
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// Readers on several threads must each see exactly one commit: every snapshot's accounts sum to
/// the same total and all carry the same version, while a writer moves money between them.
@Suite struct ConcurrencyTests {
    static func run(durability: Durability, writers: Int) throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: durability, checkpointLogBytes: 64 << 10))
        defer { db.close() }
        let accounts = 64
        let total = 64_000
        @Sendable func key(_ i: Int) -> [UInt8] { Array(String(format: "acct%03d", i).utf8) }
        @Sendable func encode(_ balance: Int, _ version: Int) -> [UInt8] {
            Array("\(balance):\(version):".utf8) + [UInt8](repeating: 0x2E, count: 150)
        }
        try db.write { tx in
            let t = try tx.createTable("accounts")
            for i in 0..<accounts { try t.put(key(i), encode(total / accounts, 0)) }
            try t.put(Array("version".utf8), Array("0".utf8))
        }
        let commitsPerWriter = envInt("VITRINE_CONCURRENCY_COMMITS", default: 300)
        let stop = Mutex(false)
        let failures = Mutex<[String]>([])
        let readsDone = Mutex(0)
        let readers = ThreadGroup()
        readers.spawn(4) { r in
            do {
                var n = 0
                while !stop.withLock({ $0 }) {
                    do {
                        try db.read { tx in
                            guard let t = try tx.table("accounts") else { throw StoreError.noSuchTable("accounts") }
                            guard let vb = try t.get(Array("version".utf8)), let version = Int(String(decoding: vb, as: UTF8.self)) else {
                                failures.withLock { $0.append("reader \(r): no version") }; return
                            }
                            var sum = 0
                            let c = try t.makeCursor()
                            var ok = try c.seek(atLeast: Array("acct".utf8))
                            var count = 0
                            while ok && c.keyHasPrefix(Array("acct".utf8)) {
                                let parts = String(decoding: try c.value(), as: UTF8.self).split(separator: ":")
                                sum += Int(parts[0]) ?? -1_000_000
                                if Int(parts[1]) != version {
                                    failures.withLock { $0.append("reader \(r): mixed versions \(parts[1]) vs \(version)") }
                                }
                                count += 1
                                ok = try c.next()
                            }
                            if sum != total || count != accounts {
                                failures.withLock { $0.append("reader \(r): sum \(sum) over \(count) accounts at version \(version)") }
                            }
                        }
                        n += 1
                    } catch {
                        failures.withLock { $0.append("reader \(r): \(error)") }
                        return
                    }
                }
                readsDone.withLock { $0 += n }
            }
        }
        let writerGroup = ThreadGroup()
        writerGroup.spawn(writers) { w in
            do {
                var rng = SeededRandom(seed: UInt64(w + 1))
                for _ in 0..<commitsPerWriter {
                    do {
                        try db.write { tx in
                            guard let t = try tx.table("accounts") else { return }
                            let vb = try t.get(Array("version".utf8)) ?? []
                            let version = (Int(String(decoding: vb, as: UTF8.self)) ?? 0) + 1
                            var balances: [Int] = []
                            for i in 0..<accounts {
                                let parts = String(decoding: try t.get(key(i)) ?? [], as: UTF8.self).split(separator: ":")
                                balances.append(Int(parts[0]) ?? 0)
                            }
                            let from = Int.random(in: 0..<accounts, using: &rng)
                            let to = Int.random(in: 0..<accounts, using: &rng)
                            let amount = Int.random(in: 0...min(50, balances[from]), using: &rng)
                            balances[from] -= amount
                            balances[to] += amount
                            for i in 0..<accounts { try t.put(key(i), encode(balances[i], version)) }
                            try t.put(Array("version".utf8), Array("\(version)".utf8))
                        }
                    } catch {
                        failures.withLock { $0.append("writer \(w): \(error)") }
                        return
                    }
                }
            }
        }
        writerGroup.join()
        stop.withLock { $0 = true }
        readers.join()
        let f = failures.withLock { $0 }
        #expect(f.isEmpty, "\(f.prefix(5))")
        #expect(readsDone.withLock { $0 } > 0)
        let version = try db.read { tx in try tx.table("accounts")?.get(Array("version".utf8)) }
        #expect(version == Array("\(writers * commitsPerWriter)".utf8))
        #expect(try db.verify().isClean)
    }

    /// More readers at once than the registry has slots (128): the extra ones are tracked on the
    /// side, and no page any of them can reach is reused while the writer churns the table.
    @Test func moreReadersThanSlotsKeepTheirSnapshots() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file(), options: DatabaseOptions(durability: .relaxed, checkpointLogBytes: 32 << 10))
        defer { db.close() }
        func value(_ version: Int, _ i: Int) -> [UInt8] {
            Array("v\(version)-\(i)-".utf8) + [UInt8](repeating: UInt8(version % 251), count: 300)
        }
        let keys = 40
        try db.write { tx in
            let t = try tx.createTable("t")
            for i in 0..<keys { try t.put(Array("key\(i)".utf8), value(0, i)) }
        }
        var mismatches = 0
        // Each level holds a read transaction open while the next level rewrites every key
        // (freeing every leaf the outer snapshots reach) and opens its own.
        func level(_ version: Int) throws {
            try db.read { tx in
                func check() throws {
                    let t = try #require(try tx.table("t"))
                    for i in 0..<keys where try t.get(Array("key\(i)".utf8)) != value(version, i) { mismatches += 1 }
                }
                try check()
                if version < 160 {
                    try db.write { w in
                        let t = try w.createTable("t")
                        for i in 0..<keys { try t.put(Array("key\(i)".utf8), value(version + 1, i)) }
                    }
                    try level(version + 1)
                }
                try check()
            }
        }
        try level(0)
        #expect(mismatches == 0)

        // The oldest reader itself beyond the slots: a thread fills all 128 slots on the current
        // snapshot, this thread registers on the same snapshot (so on the side), the filler
        // leaves, and the churn must still spare this reader's pages.
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let filler = Thread {
            func hold(_ depth: Int) {
                _ = try? db.read { _ in if depth < 128 { hold(depth + 1) } else { entered.signal(); release.wait() } }
            }
            hold(1)
            entered.signal()
        }
        filler.start()
        entered.wait()
        let version = 160
        try db.read { tx in
            release.signal()
            entered.wait() // the filler has left every slot
            for round in 1...20 {
                try db.write { w in
                    let t = try w.createTable("t")
                    for i in 0..<keys { try t.put(Array("key\(i)".utf8), value(version + round, i)) }
                }
            }
            let t = try #require(try tx.table("t"))
            for i in 0..<keys where try t.get(Array("key\(i)".utf8)) != value(version, i) { mismatches += 1 }
        }
        #expect(mismatches == 0)
        #expect(try db.verify().problems.isEmpty)
    }

    /// Group commit's deferred log writes under load: several threads commit small records
    /// (enough to wrap the 256 KiB tail buffer many times, so appends must wait for flushes) and
    /// records over 128 KiB (written by their appender after a flush). The files copied while
    /// the database is still open, as a crash would leave them, must hold every acknowledged
    /// commit.
    @Test func groupCommitLogUnderLoad() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file("live.db")
        let db = try Database(
            path: path,
            options: DatabaseOptions(
                durability: .grouped, checkpointLogBytes: 64 << 20,
                checkpointPages: 1 << 30))
        try db.write { tx in _ = try tx.createTable("t") }
        let threads = 8, perThread = envInt("VITRINE_GROUP_COMMITS", default: 200)
        let acknowledged = Mutex<[[UInt8]: [UInt8]]>([:])
        let failures = Mutex<[String]>([])
        let group = ThreadGroup()
        group.spawn(threads) { t in
            for i in 0..<perThread {
                let key = Array("t\(t)-\(i)".utf8)
                // Every 25th record is big: ~160 KiB of value (on overflow pages) still logs it all.
                let size = i % 25 == 24 ? 160 << 10 : 1200 + (i * 37) % 3000
                let value = [UInt8](repeating: UInt8(truncatingIfNeeded: t * 31 + i), count: size)
                do {
                    try db.write { tx in try tx.createTable("t").put(key, value) }
                    acknowledged.withLock { $0[key] = value }
                } catch {
                    failures.withLock { $0.append("\(key): \(error)") }
                }
            }
        }
        group.join()
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(try db.statistics().logBytes > 1 << 20, "the test must write well past the tail buffer")
        let crashed = dir.file("crashed.db")
        try FileManager.default.copyItem(atPath: path, toPath: crashed)
        try FileManager.default.copyItem(atPath: path + "-wal", toPath: crashed + "-wal")
        db.close()

        let reopened = try Database(path: crashed)
        defer { reopened.close() }
        let expected = acknowledged.withLock { $0 }
        let got = try reopened.read { tx -> [[UInt8]: [UInt8]] in
            var m: [[UInt8]: [UInt8]] = [:]
            for (k, v) in try #require(try tx.table("t")).range(from: [], to: []) { m[k] = v }
            return m
        }
        let wrong = expected.filter { got[$0.key] != $0.value }.count // missing or different
        #expect(wrong == 0, "\(wrong) of \(expected.count) acknowledged commits lost or damaged")
        #expect(got.count == expected.count)
        #expect(try reopened.verify().isClean)
    }

    @Test func snapshotsUnderFullDurability() throws { try Self.run(durability: .full, writers: 1) }
    @Test func snapshotsUnderGroupCommit() throws { try Self.run(durability: .grouped, writers: 4) }
    @Test func snapshotsUnderRelaxed() throws { try Self.run(durability: .relaxed, writers: 2) }
}
