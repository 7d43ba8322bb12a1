import Foundation
@testable import VitrineStore

/// A fresh temporary directory, removed when the value is dropped... by the caller's `defer`.
struct TempDir {
    let path: String
    init() {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/vitrine-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String = "test.db") -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A small deterministic PRNG (SplitMix64) so seeded tests replay exactly.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func envInt(_ name: String, default d: Int) -> Int {
    if let v = ProcessInfo.processInfo.environment[name], let n = Int(v) { return n }
    return d
}
