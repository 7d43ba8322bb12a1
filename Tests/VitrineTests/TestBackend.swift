// The one place that says which backend the domain tests run against.
// To run the whole suite on another backend, change `makeBackend()` and the `TestBackend` enum
// beside it (nothing else). Tests/VitrineEtcdTests has its own version of this file, which runs
// the domain tests it shares with this target on an etcd cluster.

import Foundation
import VitrineStore

@testable import Vitrine

/// The backend under test: the real engine on a fresh temporary file (VITRINE_TEST_BACKEND=memory
/// runs the suite on the in-memory store instead, which is useful to tell domain bugs from
/// engine bugs).
func makeBackend() throws -> TestBackend {
    if ProcessInfo.processInfo.environment["VITRINE_TEST_BACKEND"] == "memory" { return .memory(InMemoryKeyValueStore()) }
    removeStaleTestDirectories
    let dir = FileManager.default.temporaryDirectory.path + "/vitrine-domain-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    var options = DatabaseOptions(durability: .relaxed)
    options.logGrowthBytes = 64 << 10
    return .engine(try EngineStore(path: dir + "/test.db", options: options))
}

/// Stores made by `makeBackend` live as long as the test process (a `Store` has no close), so
/// their directories are removed by the next run, once they are an hour old.
let removeStaleTestDirectories: Void = {
    let tmp = FileManager.default.temporaryDirectory.path
    let names = (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []
    for name in names where name.hasPrefix("vitrine-domain-") {
        let path = tmp + "/" + name
        if let date = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date,
            date.timeIntervalSinceNow < -3600
        {
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}()

/// The backend type the tests are compiled against: either store, behind one enum (a switch,
/// not an existential).
enum TestBackend: OrderedKeyValueStore {
    case engine(EngineStore)
    case memory(InMemoryKeyValueStore)

    enum Reader: OrderedKeyValueReader {
        case engine(EngineStore.Reader)
        case memory(InMemoryKeyValueStore.Reader)
        func get(_ key: [UInt8]) throws -> [UInt8]? {
            switch self {
            case .engine(let r): return try r.get(key);
            case .memory(let r): return try r.get(key)
            }
        }
        func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            switch self {
            case .engine(let r): return try r.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            case .memory(let r): return try r.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            }
        }
    }

    enum Writer: OrderedKeyValueWriter {
        case engine(EngineStore.Writer)
        case memory(InMemoryKeyValueStore.Writer)
        func get(_ key: [UInt8]) throws -> [UInt8]? {
            switch self {
            case .engine(let w): return try w.get(key);
            case .memory(let w): return try w.get(key)
            }
        }
        func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            switch self {
            case .engine(let w): return try w.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            case .memory(let w): return try w.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            }
        }
        func set(_ key: [UInt8], _ value: [UInt8]) throws {
            switch self {
            case .engine(let w): try w.set(key, value);
            case .memory(let w): try w.set(key, value)
            }
        }
        func clear(_ key: [UInt8]) throws {
            switch self {
            case .engine(let w): try w.clear(key);
            case .memory(let w): try w.clear(key)
            }
        }
        func clearRange(from begin: [UInt8], to end: [UInt8]) throws {
            switch self {
            case .engine(let w): try w.clearRange(from: begin, to: end);
            case .memory(let w): try w.clearRange(from: begin, to: end)
            }
        }
        func atomicAdd(_ key: [UInt8], _ delta: Int64) throws {
            switch self {
            case .engine(let w): try w.atomicAdd(key, delta);
            case .memory(let w): try w.atomicAdd(key, delta)
            }
        }
    }

    func read<T>(_ body: (Reader) throws -> T) throws -> T {
        switch self {
        case .engine(let s): return try s.read { try body(.engine($0)) }
        case .memory(let s): return try s.read { try body(.memory($0)) }
        }
    }

    func write<T>(_ body: (Writer) throws -> T) throws -> T {
        switch self {
        case .engine(let s): return try s.write { try body(.engine($0)) }
        case .memory(let s): return try s.write { try body(.memory($0)) }
        }
    }
}
