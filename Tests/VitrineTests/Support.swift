// The one place that says which backend the domain tests run against.
// To run the whole suite on another backend, change `makeBackend()` and the `TestBackend` alias
// beside it (nothing else: every other test reaches the backend only through the protocol;
// InMemoryStoreTests test the in-memory backend itself).

import Foundation
import Testing
@testable import Vitrine
import VitrineStore

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
           date.timeIntervalSinceNow < -3600 {
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
            switch self { case .engine(let r): return try r.get(key); case .memory(let r): return try r.get(key) }
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
            switch self { case .engine(let w): return try w.get(key); case .memory(let w): return try w.get(key) }
        }
        func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            switch self {
            case .engine(let w): return try w.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            case .memory(let w): return try w.getRange(from: begin, to: end, limit: limit, reverse: reverse)
            }
        }
        func set(_ key: [UInt8], _ value: [UInt8]) throws {
            switch self { case .engine(let w): try w.set(key, value); case .memory(let w): try w.set(key, value) }
        }
        func clear(_ key: [UInt8]) throws {
            switch self { case .engine(let w): try w.clear(key); case .memory(let w): try w.clear(key) }
        }
        func clearRange(from begin: [UInt8], to end: [UInt8]) throws {
            switch self { case .engine(let w): try w.clearRange(from: begin, to: end); case .memory(let w): try w.clearRange(from: begin, to: end) }
        }
        func atomicAdd(_ key: [UInt8], _ delta: Int64) throws {
            switch self { case .engine(let w): try w.atomicAdd(key, delta); case .memory(let w): try w.atomicAdd(key, delta) }
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

/// A fresh store on a fresh backend, with a manual clock.
func makeStore(
    clock: ManualClock = ManualClock(),
    _ adjust: (inout Configuration) -> Void = { _ in }
) throws -> Store<TestBackend> {
    var configuration = Configuration(clock: .manual(clock))
    adjust(&configuration)
    return try Store(backend: try makeBackend(), configuration: configuration)
}

/// A small catalogue: one expert, a few products, recommendations on them.
struct Fixture {
    let store: Store<TestBackend>
    let clock: ManualClock
    let expert: Expert
    let products: [Product]
    let recommendations: [Recommendation]

    init(stock: Int64 = 10, recommendationQuantity: Int64 = 1000, _ adjust: (inout Configuration) -> Void = { _ in }) throws {
        clock = ManualClock()
        store = try makeStore(clock: clock, adjust)
        expert = Expert(id: "mei", displayName: "美妆达人小美", categories: ["beauty", "home"], commissionBasisPoints: 800)
        try store.upsertExpert(expert)
        var products: [Product] = []
        var recommendations: [Recommendation] = []
        for i in 0..<3 {
            let p = Product(
                id: ProductID("p\(i)"), partner: "tmall", link: "https://detail.tmall.com/item.htm?id=\(1000 + i)",
                title: "面膜 \(i) 号", priceFen: 9_900 + Int64(i) * 100, merchant: "官方旗舰店",
                category: i == 2 ? "home" : "beauty", initialStock: stock)
            products.append(try store.upsertProduct(p))
            clock.advance(milliseconds: 1000)
            recommendations.append(try store.postRecommendation(
                id: RecommendationID("r\(i)"), expert: expert.id, product: p.id,
                reason: "自用三年,回购无数次 #\(i)", quantity: recommendationQuantity))
        }
        self.products = products
        self.recommendations = recommendations
    }
}

/// Asserts that `checkIntegrity` finds nothing, printing what it finds otherwise.
func expectIntact(_ store: Store<TestBackend>, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let problems = try store.checkIntegrity()
    #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
    if let memory = (store.backend as Any) as? InMemoryKeyValueStore {
        #expect(memory.checkInvariants().isEmpty, sourceLocation: sourceLocation)
    }
}

