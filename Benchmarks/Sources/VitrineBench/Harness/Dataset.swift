// The logical data every engine stores, generated deterministically from a seed.
//
// Layouts (all tables: see `BenchTable`):
//   product record (200 B): 0 index UInt32 LE | 4 price in cents Int64 LE | 12 text (188 B)
//   stock (8 B):            units Int64 LE
//   recommendation (24 B):  0 product id (16) | 16 time UInt64 LE
//   cart line (16 B):       0 quantity Int64 LE | 8 status Int64 LE (1 = in cart, 2 = ordered)
//   order record (64 B):    0 user id (16) | 16 product id (16) | 32 quantity Int64 LE
//                           | 40 price Int64 LE | 48 time UInt64 LE | 56 status Int64 LE
// Ids are 16 random bytes (like UUIDs), so loading products in index order is loading them in
// random key order; `sortedProducts` gives the in-order sequence.

/// SplitMix64: small, fast, seedable; one per thread.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<n (Lemire's multiply-shift; the bias is negligible here).
    mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(n)).high)
    }
}

struct Dataset: Sendable {
    static let productValueSize = 200
    static let recommendationsPerExpert = 50
    static let initialStock: Int64 = 1 << 40

    let productCount: Int
    let productIDs: [[UInt8]]
    /// Product indices in ascending id order.
    let sortedProducts: [Int]
    let expertIDs: [[UInt8]]
    let userIDs: [[UInt8]]
    /// Every product id in ascending order, 16 bytes each, back to back: what a full scan of the
    /// products (or stock) table must return, key by key.
    let sortedIDBytes: [UInt8]
    /// Each expert's showcase page as the data set defines it: the newest `Showcase.pageSize`
    /// recommendations, newest first, as (recommendation index, product index).
    let expectedPages: [[(recommendation: Int32, product: Int32)]]
    private let template: [UInt8]
    let seed: UInt64

    var expertCount: Int { expertIDs.count }
    var recommendationCount: Int { productCount }

    init(products: Int, seed: UInt64 = 0x5EED_CAFE) {
        self.seed = seed
        productCount = products
        var rng = SplitMix64(seed: seed)
        var hi = [UInt64](), lo = [UInt64]()
        hi.reserveCapacity(products)
        lo.reserveCapacity(products)
        for _ in 0..<products {
            hi.append(rng.next())
            lo.append(rng.next())
        }
        productIDs = (0..<products).map { Self.id(hi[$0], lo[$0]) }
        sortedProducts = (0..<products).sorted { (hi[$0], lo[$0]) < (hi[$1], lo[$1]) }
        let experts = max(1, products / Self.recommendationsPerExpert)
        expertIDs = (0..<experts).map { _ in Self.id(rng.next(), rng.next()) }
        userIDs = (0..<max(100, min(100_000, products / 10))).map { _ in Self.id(rng.next(), rng.next()) }
        var flat = [UInt8]()
        flat.reserveCapacity(products * 16)
        for i in sortedProducts { flat.append(contentsOf: productIDs[i]) }
        sortedIDBytes = flat
        // Times grow with the index, so walking backwards visits each expert's newest first.
        var pages = Array(repeating: [(recommendation: Int32, product: Int32)](), count: experts)
        for j in stride(from: products - 1, through: 0, by: -1) {
            let r = Self.recommendation(j, seed: seed, experts: experts, products: products)
            if pages[r.expert].count < Showcase.pageSize {
                pages[r.expert].append((Int32(j), Int32(r.product)))
            }
        }
        expectedPages = pages
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ,.".utf8)
        template = (0..<Self.productValueSize).map { _ in alphabet[rng.below(alphabet.count)] }
    }

    private static func id(_ hi: UInt64, _ lo: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeMutableBytes {
            $0.storeBytes(of: hi.bigEndian, toByteOffset: 0, as: UInt64.self)
            $0.storeBytes(of: lo.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return bytes
    }

    // MARK: Products

    /// The flash sale's product; random checkouts never pick it, so its sell-out stops nothing else.
    static let hotProduct = 0

    /// A random product other than the hot one.
    func randomProduct(_ rng: inout SplitMix64) -> Int { 1 + rng.below(productCount - 1) }

    func price(_ product: Int) -> Int64 { Int64(100 + (product &* 7919) % 100_000) }

    /// Writes product `index`'s record into `buffer` (allocated once, reused).
    func productValue(_ index: Int, into buffer: inout [UInt8]) {
        if buffer.count != Self.productValueSize { buffer = template }
        buffer.withUnsafeMutableBytes {
            $0.storeBytes(of: UInt32(truncatingIfNeeded: index).littleEndian, toByteOffset: 0, as: UInt32.self)
            $0.storeBytes(of: price(index).littleEndian, toByteOffset: 4, as: Int64.self)
        }
    }

    /// Whether `bytes` is product `index`'s record (size and stamp), so a wrong answer fails the run.
    static func isProduct(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count == productValueSize
            && bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == UInt32(truncatingIfNeeded: index).littleEndian
    }

    // MARK: Recommendations

    /// Recommendation `j`: expert, product, and time (unique, increasing with j).
    func recommendation(_ j: Int) -> (expert: Int, product: Int, time: UInt64) {
        Self.recommendation(j, seed: seed, experts: expertCount, products: productCount)
    }

    private static func recommendation(_ j: Int, seed: UInt64, experts: Int, products: Int)
        -> (expert: Int, product: Int, time: UInt64)
    {
        var rng = SplitMix64(seed: seed ^ (UInt64(j) &* 0xD1B5_4A32_D192_ED03))
        return (rng.below(experts), rng.below(products), recommendationTime(j))
    }

    static func recommendationTime(_ j: Int) -> UInt64 { 1_700_000_000_000 + UInt64(j) }

    func recommendationKey(expert: Int, time: UInt64, into key: inout [UInt8]) {
        if key.count != 24 { key = [UInt8](repeating: 0, count: 24) }
        let e = expertIDs[expert]
        key.withUnsafeMutableBytes { k in
            e.withUnsafeBytes { k.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 16) }
            k.storeBytes(of: (UInt64.max - time).bigEndian, toByteOffset: 16, as: UInt64.self)
        }
    }

    func recommendationValue(product: Int, time: UInt64, into value: inout [UInt8]) {
        if value.count != 24 { value = [UInt8](repeating: 0, count: 24) }
        let p = productIDs[product]
        value.withUnsafeMutableBytes { v in
            p.withUnsafeBytes { v.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 16) }
            v.storeBytes(of: time.littleEndian, toByteOffset: 16, as: UInt64.self)
        }
    }

    // MARK: Carts and orders

    func cartKey(user: Int, product: Int, into key: inout [UInt8]) {
        if key.count != 32 { key = [UInt8](repeating: 0, count: 32) }
        let u = userIDs[user], p = productIDs[product]
        key.withUnsafeMutableBytes { k in
            u.withUnsafeBytes { k.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 16) }
            p.withUnsafeBytes { (k.baseAddress! + 16).copyMemory(from: $0.baseAddress!, byteCount: 16) }
        }
    }

    static func cartValue(quantity: Int64, status: Int64, into value: inout [UInt8]) {
        if value.count != 16 { value = [UInt8](repeating: 0, count: 16) }
        value.withUnsafeMutableBytes {
            $0.storeBytes(of: quantity.littleEndian, toByteOffset: 0, as: Int64.self)
            $0.storeBytes(of: status.littleEndian, toByteOffset: 8, as: Int64.self)
        }
    }

    static func orderKey(nonce: UInt32, thread: UInt32, sequence: UInt64, into key: inout [UInt8]) {
        if key.count != 16 { key = [UInt8](repeating: 0, count: 16) }
        key.withUnsafeMutableBytes {
            $0.storeBytes(of: nonce.bigEndian, toByteOffset: 0, as: UInt32.self)
            $0.storeBytes(of: thread.bigEndian, toByteOffset: 4, as: UInt32.self)
            $0.storeBytes(of: sequence.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
    }

    func orderValue(user: Int, product: Int, quantity: Int64, time: UInt64, into value: inout [UInt8]) {
        if value.count != 64 { value = [UInt8](repeating: 0, count: 64) }
        let u = userIDs[user], p = productIDs[product]
        let price = price(product)
        value.withUnsafeMutableBytes { v in
            u.withUnsafeBytes { v.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 16) }
            p.withUnsafeBytes { (v.baseAddress! + 16).copyMemory(from: $0.baseAddress!, byteCount: 16) }
            v.storeBytes(of: quantity.littleEndian, toByteOffset: 32, as: Int64.self)
            v.storeBytes(of: price.littleEndian, toByteOffset: 40, as: Int64.self)
            v.storeBytes(of: time.littleEndian, toByteOffset: 48, as: UInt64.self)
            v.storeBytes(of: Int64(1).littleEndian, toByteOffset: 56, as: Int64.self)
        }
    }

    static func int64Value(_ v: Int64, into value: inout [UInt8]) {
        if value.count != 8 { value = [UInt8](repeating: 0, count: 8) }
        value.withUnsafeMutableBytes { $0.storeBytes(of: v.littleEndian, toByteOffset: 0, as: Int64.self) }
    }

    static func int64(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        bytes.count == 8 ? Int64(littleEndian: bytes.loadUnaligned(as: Int64.self)) : nil
    }
}
