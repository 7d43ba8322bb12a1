// What every workload shares: the size knob, the data set, directories, and child processes.

import Foundation
import Synchronization

/// The size knob. `smoke` runs in well under a minute; `full` is the 1,000,000 products.
struct SizeConfig: Codable, Sendable {
    var name: String
    /// Products in the catalogue (and recommendations: as many again, 50 per expert).
    var products: Int
    /// Interleaved rounds per workload (A B C, A B C, ...).
    var rounds: Int
    /// Length of one timed measurement of a throughput workload, per engine per round.
    var seconds: Double
    /// Threads of the multi-threaded workloads.
    var threads: Int
    /// Units of the hot product in the flash sale.
    var flashSaleStock: Int
    /// Products per transaction when bulk loading.
    var loadBatch: Int
    /// Lookups per read transaction in the point-read workload.
    var readsPerTransaction: Int
    /// Products the crash child writes (100 per transaction, durable) before it may be killed.
    var crashProducts: Int

    static let smoke = SizeConfig(
        name: "smoke", products: 20_000, rounds: 3, seconds: 0.2, threads: 8, flashSaleStock: 300,
        loadBatch: 10_000, readsPerTransaction: 100, crashProducts: 10_000)
    static let full = SizeConfig(
        name: "full", products: 1_000_000, rounds: 5, seconds: 2, threads: 8, flashSaleStock: 10_000,
        loadBatch: 10_000, readsPerTransaction: 100, crashProducts: 250_000)
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

final class BenchContext: Sendable {
    let size: SizeConfig
    let data: Dataset
    /// Where databases are created; every engine has a folder of its own below it.
    let dataRoot: String
    /// This program, for the child processes of workload 10.
    let executable: String
    private let nonce = Atomic<UInt32>(1)
    private let built = Mutex<Set<String>>([])
    private let notedFailures = Mutex<[Failure]>([])
    /// Per engine: units of each product sold by acknowledged checkouts on its catalogue database
    /// so far (the flash sale's hot product aside), so every stock record can be checked.
    private let sold = Mutex<[String: [Int32]]>([:])

    init(size: SizeConfig, dataRoot: String, executable: String) {
        self.size = size
        self.data = Dataset(products: size.products)
        self.dataRoot = dataRoot
        self.executable = executable
    }

    /// A number never handed out before in this run: orders are keyed by it, so each
    /// measurement's orders can be found and counted.
    func nextNonce() -> UInt32 { nonce.add(1, ordering: .relaxed).newValue }

    /// Records a failure that spoils only part of a round (its metrics are NaN); the suite adds
    /// it to the report.
    func noteFailure(workload: String, engine: String, round: Int, _ message: String) {
        log("  round \(round + 1) \(engine): FAILED: \(message)")
        notedFailures.withLock { $0.append(Failure(workload: workload, engine: engine, round: round + 1, message: message)) }
    }

    func takeNotedFailures() -> [Failure] {
        notedFailures.withLock { failures in
            defer { failures = [] }
            return failures
        }
    }

    /// Adds acknowledged checkouts (`Sale.pack`ed) to `engine`'s sales; returns the units sold of
    /// every product so far.
    func recordSales(_ engine: String, _ sales: [UInt64]) -> [Int32] {
        sold.withLock { all in
            var units = all[engine] ?? Array(repeating: 0, count: data.productCount)
            for sale in sales { units[Sale.product(sale)] += 1 }
            all[engine] = units
            return units
        }
    }

    /// `dataRoot/engine/purpose`, created; emptied first when `fresh`.
    func directory(_ engine: String, _ purpose: String, fresh: Bool) throws -> String {
        let path = "\(dataRoot)/\(engine)/\(purpose)"
        if fresh { removeDirectory(path) }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func removeDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The engine's catalogue database, built (untimed) the first time a workload needs it.
    func mainDirectory<E: BenchEngine>(_ engine: E.Type) throws -> String {
        let path = "\(dataRoot)/\(E.name)/main"
        let isBuilt = built.withLock { $0.contains(E.name) }
        if !isBuilt {
            try buildMainDatabase(E.self, directory: directory(E.name, "main", fresh: true))
            built.withLock { _ = $0.insert(E.name) }
        }
        return path
    }

    private func buildMainDatabase<E: BenchEngine>(_: E.Type, directory: String) throws {
        log("  building the \(E.name) catalogue: \(data.productCount) products, stock, \(data.recommendationCount) recommendations")
        let engine = try E(directory: directory, durability: .relaxed)
        defer { engine.close() }
        try withExtendedLifetime(try engine.makeSession()) { session in
            try loadProducts(session, order: data.sortedProducts, appending: true)
            var stock = [UInt8]()
            Dataset.int64Value(Dataset.initialStock, into: &stock)
            for chunk in stride(from: 0, to: data.productCount, by: size.loadBatch) {
                try session.write { tx in
                    for i in data.sortedProducts[chunk..<min(chunk + size.loadBatch, data.productCount)] {
                        try tx.put(.stock, data.productIDs[i], stock, appending: true)
                    }
                }
            }
            var key = [UInt8](), value = [UInt8]()
            for chunk in stride(from: 0, to: data.recommendationCount, by: size.loadBatch) {
                try session.write { tx in
                    for j in chunk..<min(chunk + size.loadBatch, data.recommendationCount) {
                        let r = data.recommendation(j)
                        data.recommendationKey(expert: r.expert, time: r.time, into: &key)
                        data.recommendationValue(product: r.product, time: r.time, into: &value)
                        try tx.put(.recommendations, key, value)
                    }
                }
            }
        }
        try engine.checkpoint()
    }

    /// Loads every product, `loadBatch` per transaction, in `order` (indices into the data set).
    func loadProducts<S: BenchSession>(_ session: S, order: [Int]?, appending: Bool) throws {
        var value = [UInt8]()
        let count = data.productCount
        for chunk in stride(from: 0, to: count, by: size.loadBatch) {
            try session.write { tx in
                for n in chunk..<min(chunk + size.loadBatch, count) {
                    let i = order?[n] ?? n
                    data.productValue(i, into: &value)
                    try tx.put(.products, data.productIDs[i], value, appending: appending)
                }
            }
        }
    }
}

/// Bytes on disk of every file in `directory` (data file, log, lock and index files): allocated
/// blocks, as `du` counts them, so sparse files count what they use and preallocated ones all of it.
func diskBytes(_ directory: String) -> Int {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return files.reduce(0) { total, file in
        var info = stat()
        return stat(directory + "/" + file, &info) == 0 ? total + Int(info.st_blocks) * 512 : total
    }
}

/// Progress goes to stderr; stdout is for the child protocol.
func log(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}

/// The hex form of some bytes, for passing keys to child processes.
func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

func unhex(_ text: String) -> [UInt8]? {
    let chars = Array(text.utf8)
    guard chars.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    for i in stride(from: 0, to: chars.count, by: 2) {
        guard let byte = UInt8(String(decoding: chars[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
        bytes.append(byte)
    }
    return bytes
}
