import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@testable import Vitrine

@Suite struct TupleTests {
    @Test func orderIsPreserved() throws {
        let values: [TupleElement] = [
            .null, .bytes([]), .bytes([0]), .bytes([0, 0]), .bytes([0, 1]), .bytes([1]), .string(""), .string("a\u{0}b"),
            .string("ab"), .string("天猫"), .int(.min), .int(-65536), .int(-256), .int(-255), .int(-1), .int(0),
            .int(1), .int(255), .int(256), .int(.max),
        ]
        for (i, a) in values.enumerated() {
            let pa = Tuple([a, "x"]).packed
            #expect(try Tuple(unpacking: pa) == Tuple([a, "x"]))
            for b in values[(i + 1)...] {
                #expect(compareBytes(pa, Tuple([b, "x"]).packed) < 0, "\(a) < \(b)")
            }
        }
    }

    @Test func knownBytes() {
        // Byte-identical to FoundationDB's tuple layer.
        #expect(Tuple(["product", "p1"]).packed == [0x02] + Array("product".utf8) + [0x00, 0x02, 0x70, 0x31, 0x00])
        #expect(Tuple([.int(0), .int(1), .int(-1), .int(300)]).packed == [0x14, 0x15, 0x01, 0x13, 0xFE, 0x16, 0x01, 0x2C])
        #expect(Tuple([.bytes([0x00, 0xFF])]).packed == [0x01, 0x00, 0xFF, 0xFF, 0x00])
    }

    @Test func malformedKeysThrow() {
        for bad: [UInt8] in [[0x02, 0x61], [0x15], [0x1D], [0x16, 0x00, 0x01], [0x02, 0xFF, 0x00], [0x13, 0xFF]] {
            #expect(throws: FormatError.self) { try Tuple(unpacking: bad) }
        }
    }
}

@Suite struct RecordCodingTests {
    static let order = Order(
        id: "o1", user: "u1",
        lines: [
            OrderLine(
                product: "p1", partner: "tmall", recommendation: "r1", expert: "e1", quantity: 2, unitPriceFen: 9900,
                lineTotalFen: 19800, commissionBasisPoints: 800, commissionFen: 1584, title: "补水面膜 🎭"),
            OrderLine(
                product: "p2", partner: "weimai", recommendation: nil, expert: nil, quantity: 1, unitPriceFen: 1,
                lineTotalFen: 1, commissionBasisPoints: 0, commissionFen: 0, title: "无"),
        ],
        totalFen: 19801, commissionFen: 1584, idempotencyKey: "k-1", placedAt: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000),
        status: .placed)

    static var samples: [any BinaryRecord] {
        var product = Product(
            id: "p1", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=1", title: "雪花秀 滋阴套装",
            priceFen: 128_800, merchant: "雪花秀官方旗舰店", category: "美妆", initialStock: 50, reservationHoldSeconds: 600)
        product.sold = 3
        product.stock = 47
        return [
            Partner.tmall, product,
            Expert(id: "e1", displayName: "小美", categories: ["美妆", "护肤"], commissionBasisPoints: 800),
            User(id: "u1", displayName: "Ann", interests: ["home"]),
            Recommendation(
                id: "r1", expert: "e1", product: "p1", category: "美妆", reason: "敏感肌也能用,温和不刺激。Gentle enough for sensitive skin.",
                offeredQuantity: 10, quantity: 7, createdAt: Timestamp(millisecondsSinceEpoch: -5), status: .withdrawn,
                withdrawnAt: Timestamp(millisecondsSinceEpoch: 99)),
            Favourite(user: "u1", product: "p1", addedAt: Timestamp(millisecondsSinceEpoch: 0)),
            CartLine(
                product: "p1", recommendation: "r1", quantity: 99, unitPriceFen: 128_800, addedAt: Timestamp(millisecondsSinceEpoch: 1),
                lastRequestID: "req"),
            CartLine(
                product: "p1", recommendation: nil, quantity: 1, unitPriceFen: 0, addedAt: Timestamp(millisecondsSinceEpoch: 1),
                holdsGranted: 4),
            Guest(id: "0f5e0c7a-2a4b-4c39-9d53-8f2a1b6c7d8e", createdAt: Timestamp(millisecondsSinceEpoch: 2)),
            Hold(owner: .guest("s"), product: "p1", recommendation: nil, quantity: 2, expiresAt: Timestamp(millisecondsSinceEpoch: .max)),
            order,
            OrderEarning(expert: "e1", order: "o1", commissionFen: 1584, status: .settled, placedAt: Timestamp(millisecondsSinceEpoch: 3)),
            IdempotencyRecord(order: "o1"), RestockRecord(product: "p1", units: 5, at: Timestamp(millisecondsSinceEpoch: 1)),
            MetaRecord(formatVersion: 1, createdAt: Timestamp(millisecondsSinceEpoch: 1)),
        ]
    }

    func roundTrip<R: BinaryRecord & Equatable>(_ r: R) throws {
        let bytes = r.recordBytes
        let decoded = try R(recordBytes: bytes)
        #expect(decoded == r)
        #expect(decoded.recordBytes == bytes)
    }

    func roundTripAny(_ r: any BinaryRecord) throws {
        func open<R: BinaryRecord>(_ r: R) throws {
            let bytes = r.recordBytes
            #expect(try R(recordBytes: bytes).recordBytes == bytes)
        }
        try open(r)
    }

    @Test func everyRecordRoundTripsByteForByte() throws {
        for sample in Self.samples { try roundTripAny(sample) }
        try roundTrip(Self.order)
        try roundTrip(Partner.weimai)
    }

    /// A cart line's count of hold grants is absent at 0, so an explicit 0 is not canonical.
    @Test func cartLineHoldsGrantedZeroIsRejected() throws {
        let line = CartLine(product: "p", recommendation: nil, quantity: 1, unitPriceFen: 0, addedAt: Timestamp(millisecondsSinceEpoch: 0))
        #expect(try CartLine(recordBytes: line.recordBytes + [0x38, 0x04]).holdsGranted == 4) // field 7, varint 4
        #expect(throws: FormatError.self) { try CartLine(recordBytes: line.recordBytes + [0x38, 0x00]) }
    }

    @Test func headerAndKnownBytes() {
        let bytes = Favourite(user: "u", product: "p", addedAt: Timestamp(millisecondsSinceEpoch: 1)).recordBytes
        // kind 7, version 1, field 1 "u", field 2 "p", field 3 zigzag(1) = 2.
        #expect(bytes == [7, 1, 0x0A, 1, 0x75, 0x12, 1, 0x70, 0x18, 2])
    }

    @Test func unknownFieldsAreSkipped() throws {
        var bytes = Favourite(user: "u", product: "p", addedAt: Timestamp(millisecondsSinceEpoch: 1)).recordBytes
        bytes += [0x20, 0x05, 0x2A, 0x01, 0x41] // field 4 varint 5, field 5 bytes "A"
        #expect(try Favourite(recordBytes: bytes).user == "u")
    }

    @Test func malformedRecordsThrowPreciseErrors() {
        let good = Favourite(user: "u", product: "p", addedAt: Timestamp(millisecondsSinceEpoch: 1)).recordBytes
        #expect(throws: FormatError.truncated(offset: 0)) { try Favourite(recordBytes: [7]) }
        #expect(throws: FormatError.wrongRecordKind(expected: 7, found: 3)) { try Favourite(recordBytes: [3, 1]) }
        #expect(throws: FormatError.unsupportedVersion(9)) { try Favourite(recordBytes: [7, 9]) }
        #expect(throws: FormatError.missingField(field: 1)) { try Favourite(recordBytes: [7, 1]) }
        #expect(throws: FormatError.truncated(offset: 3)) { try Favourite(recordBytes: Array(good.prefix(4))) }
        #expect(throws: FormatError.invalidUTF8(field: 1)) { try Favourite(recordBytes: [7, 1, 0x0A, 1, 0xFF]) }
        #expect(throws: FormatError.badVarint(offset: 3)) { try Favourite(recordBytes: [7, 1, 0x08, 0x80, 0x00]) }
        #expect(throws: FormatError.fieldOutOfOrder(field: 1, offset: 4)) { try Favourite(recordBytes: [7, 1, 0x12, 0, 0x0A, 0]) }
        #expect(throws: FormatError.duplicateField(field: 1)) { try Favourite(recordBytes: [7, 1, 0x0A, 0, 0x0A, 0]) }
        #expect(throws: FormatError.wrongWireType(field: 1)) { try Favourite(recordBytes: [7, 1, 0x08, 0]) }
        #expect(throws: FormatError.unknownWireType(5, offset: 2)) { try Favourite(recordBytes: [7, 1, 0x0D]) }
        #expect(throws: FormatError.badVarint(offset: 2)) { try Favourite(recordBytes: [7, 1] + Array(repeating: 0xFF, count: 11)) }
    }

    /// Random and mutated bytes: every decoder throws or decodes, and never traps.
    @Test func fuzzDecoders() {
        // Fixed by default so CI is reproducible; VITRINE_SEED=<n> replays, VITRINE_SEED=random explores.
        let seed = UInt64(ProcessInfo.processInfo.environment["VITRINE_SEED"] ?? "20261101") ?? UInt64.random(in: 0...UInt64.max)
        print("RecordCodingTests.fuzzDecoders seed \(seed)")
        var rng = SeededRandom(seed: seed)
        let samples = Self.samples.map { $0.recordBytes }
        let decoders: [([UInt8]) throws -> Void] = [
            { _ = try Partner(recordBytes: $0) }, { _ = try Product(recordBytes: $0) }, { _ = try Expert(recordBytes: $0) },
            { _ = try User(recordBytes: $0) }, { _ = try Recommendation(recordBytes: $0) }, { _ = try Favourite(recordBytes: $0) },
            { _ = try CartLine(recordBytes: $0) }, { _ = try Hold(recordBytes: $0) }, { _ = try Order(recordBytes: $0) },
            { _ = try OrderEarning(recordBytes: $0) }, { _ = try IdempotencyRecord(recordBytes: $0) },
            { _ = try RestockRecord(recordBytes: $0) }, { _ = try MetaRecord(recordBytes: $0) }, { _ = try Guest(recordBytes: $0) },
            { _ = try Tuple(unpacking: $0) }, { _ = try PageCursor(token: String(decoding: $0, as: UTF8.self)) },
        ]
        var decoded = 0
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 4 == 0 {
                bytes = (0..<Int.random(in: 0..<40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                bytes = samples[Int.random(in: 0..<samples.count, using: &rng)]
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    guard !bytes.isEmpty else { break }
                    let i = Int.random(in: 0..<bytes.count, using: &rng)
                    switch Int.random(in: 0..<4, using: &rng) {
                    case 0: bytes[i] = UInt8.random(in: 0...255, using: &rng)
                    case 1: bytes.remove(at: i)
                    case 2: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                    default: bytes = Array(bytes.prefix(i))
                    }
                }
            }
            for decode in decoders where (try? decode(bytes)) != nil { decoded += 1 }
        }
        #expect(decoded > 0)
    }
}
