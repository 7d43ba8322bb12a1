// 14. Values larger than a page: 16 KiB product images/descriptions (four times a 4 KiB page,
// so every engine stores them out of line: Vitrine and LMDB in overflow pages, SQLite in
// overflow chains). A fresh database per engine (untimed) holds `LargeValues.count` of them in
// the products table, keyed by the data set's product ids; then, per round, random point reads
// of them (one per read transaction) and relaxed updates (one value rewritten per transaction).
//
// Checked by content: value k at version v is 16 KiB whose first 8 bytes are k and v (UInt32 LE
// each) and whose other bytes are a slice of a fixed random pattern starting at an offset that
// depends on k and v; every read compares all 16 KiB (one memcmp), against the version the
// updater last acknowledged. After the round every value is read again and must be its latest
// version.

import Foundation

enum LargeValue {
    static let size = 16 * 1024
    static let header = 8
    /// Twice the value's size, so any offset below `size` leaves a whole body to compare with.
    static let pattern: [UInt8] = {
        var rng = SplitMix64(seed: 0x16_C0DE)
        return (0..<(2 * size)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }()

    static func offset(_ k: Int, _ version: UInt32) -> Int { (k &* 72 &+ Int(version) &* 8) % size }

    /// Writes value `k` at `version` into `buffer` (sized once, reused).
    static func fill(_ k: Int, version: UInt32, into buffer: inout [UInt8]) {
        if buffer.count != size { buffer = [UInt8](repeating: 0, count: size) }
        let start = offset(k, version)
        buffer.withUnsafeMutableBytes { b in
            b.storeBytes(of: UInt32(truncatingIfNeeded: k).littleEndian, toByteOffset: 0, as: UInt32.self)
            b.storeBytes(of: version.littleEndian, toByteOffset: 4, as: UInt32.self)
            pattern.withUnsafeBytes { p in
                (b.baseAddress! + header).copyMemory(from: p.baseAddress! + start, byteCount: size - header)
            }
        }
    }

    /// Whether `bytes` is exactly value `k` at `version`, every byte of it.
    static func matches(_ k: Int, version: UInt32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count == size,
            bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == UInt32(truncatingIfNeeded: k).littleEndian,
            bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self) == version.littleEndian
        else { return false }
        let start = offset(k, version)
        return pattern.withUnsafeBytes { memcmp(bytes.baseAddress! + header, $0.baseAddress! + start, size - header) == 0 }
    }
}

struct LargeValues: Workload {
    let id = "14"
    let title = "Values larger than a page: 16 KiB product images, point reads and relaxed updates, checked by content"
    static let count = 2_000
    static let reads = "16 KiB value point reads", updates = "relaxed 16 KiB value updates, 1 thread"
    let metrics =
        [
            Metric(name: LargeValues.reads, unit: "reads/s", higherIsBetter: true),
            Metric(name: LargeValues.updates, unit: "txn/s", higherIsBetter: true),
        ]
        + Latency.metrics(LargeValues.updates)

    func prepare<E: BenchEngine>(_ engine: E.Type, _ context: BenchContext) throws -> EngineRun {
        let directory = try context.directory(E.name, "large", fresh: true)
        let opened = try Opened(E.self, directory: directory, durability: .relaxed)
        let data = context.data
        let count = min(Self.count, data.productCount), seconds = context.size.seconds
        var buffer = [UInt8]()
        for chunk in stride(from: 0, to: count, by: 100) {
            try opened.session.write { tx in
                for k in chunk..<min(chunk + 100, count) {
                    LargeValue.fill(k, version: 0, into: &buffer)
                    try tx.put(.products, data.productIDs[k], buffer)
                }
            }
        }
        try opened.engine.checkpoint()
        // The version each value is at: written by the round on this thread only.
        let versions = VersionTable(count)
        return EngineRun(
            round: { round in
                var rng = SplitMix64(seed: 0xE000 + UInt64(round))
                let readRate = try throughput(seconds: seconds) {
                    let k = rng.below(count), version = versions[k]
                    guard
                        try opened.session.read({ tx in
                            try tx.withValue(.products, data.productIDs[k], { LargeValue.matches(k, version: version, $0) })
                        }) == true
                    else {
                        throw BenchFailure("16 KiB value \(k) (version \(version)) missing or wrong")
                    }
                    return 1
                }
                var value = [UInt8](repeating: 0, count: LargeValue.size)
                var latencies: [UInt64] = []
                latencies.reserveCapacity(1 << 16)
                let updateRate = try timedOperations(seconds: seconds, latencies: &latencies) {
                    let k = rng.below(count), version = versions[k] &+ 1
                    LargeValue.fill(k, version: version, into: &value)
                    try opened.session.write { tx in try tx.put(.products, data.productIDs[k], value) }
                    versions[k] = version
                }
                try opened.session.read { tx in
                    for k in 0..<count {
                        let version = versions[k]
                        guard try tx.withValue(.products, data.productIDs[k], { LargeValue.matches(k, version: version, $0) }) == true
                        else {
                            throw BenchFailure("after the updates: 16 KiB value \(k) is not its acknowledged version \(version)")
                        }
                    }
                }
                return [readRate, updateRate] + Latency.values(latencies)
            },
            finish: {
                opened.close()
                context.removeDirectory(directory)
            })
    }
}

/// Per-value versions, touched only by the thread running the rounds (a class so the round
/// closure can update it).
private final class VersionTable: @unchecked Sendable {
    private var versions: [UInt32]
    init(_ count: Int) { versions = Array(repeating: 0, count: count) }
    subscript(k: Int) -> UInt32 {
        get { versions[k] }
        set { versions[k] = newValue }
    }
}
