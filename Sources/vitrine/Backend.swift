// The backend a command works on: the embedded engine's file (`--db PATH`, the default) or an
// etcd cluster (`--etcd URL[,URL...]`, issue 13). One enum, so every command is written once
// over `Store<CLIBackend>`; a switch per call, no existential.

import Foundation
import Vitrine
import VitrineEtcd
import VitrineStore

enum CLIBackend: AsyncOrderedKeyValueStore {
    case engine(EngineStore)
    case etcd(EtcdKeyValueStore)

    /// The most records one `restore` transaction should carry on this backend (etcd counts
    /// every write against `--max-txn-ops` and the whole request against its size limit).
    var restoreChunk: Int {
        switch self {
        case .engine: return 2048
        case .etcd: return 256
        }
    }

    enum Reader: OrderedKeyValueReader {
        case engine(EngineStore.Reader)
        case etcd(EtcdKeyValueStore.Reader)
        func get(_ key: [UInt8]) throws -> [UInt8]? {
            switch self {
            case .engine(let r): return try r.get(key);
            case .etcd(let r): return try r.get(key)
            }
        }
        func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            switch self {
            case .engine(let r): return try r.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            case .etcd(let r): return try r.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            }
        }
    }

    enum Writer: OrderedKeyValueWriter {
        case engine(EngineStore.Writer)
        case etcd(EtcdKeyValueStore.Writer)
        func get(_ key: [UInt8]) throws -> [UInt8]? {
            switch self {
            case .engine(let w): return try w.get(key);
            case .etcd(let w): return try w.get(key)
            }
        }
        func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            switch self {
            case .engine(let w): return try w.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            case .etcd(let w): return try w.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            }
        }
        func set(_ key: [UInt8], _ value: [UInt8]) throws {
            switch self {
            case .engine(let w): try w.set(key, value);
            case .etcd(let w): try w.set(key, value)
            }
        }
        func clear(_ key: [UInt8]) throws {
            switch self {
            case .engine(let w): try w.clear(key);
            case .etcd(let w): try w.clear(key)
            }
        }
        func clearRange(from begin: [UInt8], to end: [UInt8]) throws {
            switch self {
            case .engine(let w): try w.clearRange(from: begin, to: end);
            case .etcd(let w): try w.clearRange(from: begin, to: end)
            }
        }
        func atomicAdd(_ key: [UInt8], _ delta: Int64) throws {
            switch self {
            case .engine(let w): try w.atomicAdd(key, delta);
            case .etcd(let w): try w.atomicAdd(key, delta)
            }
        }
    }

    func read<T>(_ body: (Reader) throws -> T) throws -> T {
        switch self {
        case .engine(let s): return try s.read { try body(.engine($0)) }
        case .etcd(let s): return try s.read { try body(.etcd($0)) }
        }
    }

    func write<T>(_ body: (Writer) throws -> T) throws -> T {
        switch self {
        case .engine(let s): return try s.write { try body(.engine($0)) }
        case .etcd(let s): return try s.write { try body(.etcd($0)) }
        }
    }

    func perform<T: Sendable>(_ operation: @escaping @Sendable () throws -> T) async throws -> T {
        switch self {
        case .engine(let s): return try await s.perform(operation)
        case .etcd(let s): return try await s.perform(operation)
        }
    }
}
