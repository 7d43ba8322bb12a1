// Every stored key and value as data: the dump and restore behind `vitrine dump` and `vitrine load`.
//
// A `DumpedRecord` is one pair of the keyspace, exactly as stored. Its Codable (JSON) form names
// the table and decodes the key and the value (formats/records.md lists the tables):
//
//   {"key":["prd-000001"],"table":"product","value":{"category":"beauty",...}}
//
//   table  the key tuple's first element (one of `RecordTables.all`)
//   key    the rest of the key tuple: strings, integers, null; bytes as {"bytes":"<hex>"}
//   value  the record in its model type's Codable form; an integer for the `earn_total`
//          counters; null for index entries (their value is empty)
//
// Whatever does not decode is kept raw, so a dump holds every byte and never fails on odd data:
//   {"rawKey":"<hex>","rawValue":"<hex>"}                    the key is not a known table's tuple
//   {"key":[...],"rawValue":"<hex>","table":"product"}       the value does not decode, or would
//                                                             not re-encode to the same bytes
// Invariant: decoding the JSON of a record gives back exactly its key and value bytes, so
// dump -> restore -> dump is byte-identical.

import Foundation

/// The tables of the keyspace: the first element of every key tuple.
public enum RecordTables {
    /// Every table, in key order.
    public static let all: [String] = [
        "cart", "earn", "earn_day", "earn_entry", "earn_month", "earn_total", "expert", "fav", "fav_time", "feed", "guest", "guest_time",
        "hold",
        "hold_exp", "idem", "idem_time",
        "meta", "order", "order_due", "order_user", "partner", "pay", "pay_ref", "product", "prod_cat", "prod_merch", "prod_partner", "rec",
        "restock", "showcase", "showcase_cat", "user",
    ].sorted { Tuple([.string($0)]).packed.lexicographicallyPrecedes(Tuple([.string($1)]).packed) }
}

/// One stored key and value, with a JSON form that decodes them (see the top of this file).
public struct DumpedRecord: Hashable, Sendable {
    /// The key's bytes.
    public var key: [UInt8]
    /// The value's bytes.
    public var value: [UInt8]

    /// A record of `key` and `value`.
    public init(key: [UInt8], value: [UInt8]) {
        self.key = key
        self.value = value
    }

    /// The table the key belongs to, or nil when it is not a known table's tuple.
    public var table: String? {
        guard let first = try? Tuple(unpacking: key).elements.first, case .string(let name) = first,
            RecordTables.all.contains(name)
        else { return nil }
        return name
    }
}

extension DumpedRecord {
    /// Whether the key is a known table's tuple and the value decodes to that table's record (or
    /// index entry, or counter) and re-encodes to the same bytes.
    var decodesCanonically: Bool {
        guard let table, let codec = ValueCodec.byTable[table] else { return false }
        return codec.json(value) != nil
    }
}

extension DumpedRecord: Codable {
    enum CodingKeys: String, CodingKey { case table, key, value, rawKey, rawValue }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        guard let tuple = try? Tuple(unpacking: key), case .string(let table)? = tuple.elements.first,
            let codec = ValueCodec.byTable[table]
        else {
            try c.encode(hex(key), forKey: .rawKey)
            try c.encode(hex(value), forKey: .rawValue)
            return
        }
        try c.encode(table, forKey: .table)
        try c.encode(tuple.elements.dropFirst().map(KeyElement.init), forKey: .key)
        if let json = codec.json(value) {
            try json.encode(into: &c)
        } else {
            try c.encode(hex(value), forKey: .rawValue)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let rawKey = try c.decodeIfPresent(String.self, forKey: .rawKey) {
            key = try bytes(fromHex: rawKey, c, .rawKey)
        } else {
            let table = try c.decode(String.self, forKey: .table)
            guard RecordTables.all.contains(table) else {
                throw DecodingError.dataCorruptedError(forKey: .table, in: c, debugDescription: "unknown table \"\(table)\"")
            }
            let elements = try c.decode([KeyElement].self, forKey: .key).map(\.element)
            key = Tuple([.string(table)] + elements).packed
        }
        if let rawValue = try c.decodeIfPresent(String.self, forKey: .rawValue) {
            value = try bytes(fromHex: rawValue, c, .rawValue)
        } else {
            guard let table = try c.decodeIfPresent(String.self, forKey: .table), let codec = ValueCodec.byTable[table] else {
                throw DecodingError.keyNotFound(
                    CodingKeys.rawValue, .init(codingPath: c.codingPath, debugDescription: "rawValue is required with rawKey"))
            }
            value = try codec.decode(c)
        }
    }
}

/// A key tuple element in JSON: null, string, integer, or {"bytes": hex}.
private struct KeyElement: Codable {
    var element: TupleElement
    init(_ element: TupleElement) { self.element = element }

    private enum BytesKey: String, CodingKey { case bytes }

    func encode(to encoder: Encoder) throws {
        switch element {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .int(let i):
            var c = encoder.singleValueContainer()
            try c.encode(i)
        case .bytes(let b):
            var c = encoder.container(keyedBy: BytesKey.self)
            try c.encode(hex(b), forKey: .bytes)
        }
    }

    init(from decoder: Decoder) throws {
        if let c = try? decoder.container(keyedBy: BytesKey.self) {
            element = .bytes(try bytes(fromHex: try c.decode(String.self, forKey: .bytes), c, .bytes))
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            element = .null
        } else if let i = try? c.decode(Int64.self) {
            element = .int(i)
        } else {
            element = .string(try c.decode(String.self))
        }
    }
}

/// How one table's values are written to and read from JSON.
private struct ValueCodec: Sendable {
    /// The JSON form of `bytes`, or nil when they do not decode to it canonically.
    let json: @Sendable ([UInt8]) -> ValueJSON?
    let decode: @Sendable (KeyedDecodingContainer<DumpedRecord.CodingKeys>) throws -> [UInt8]

    static func record<R: BinaryRecord & Codable>(_ type: R.Type) -> ValueCodec {
        ValueCodec(
            json: { bytes in
                guard let r = try? R(recordBytes: bytes), r.recordBytes == bytes else { return nil }
                return ValueJSON { c in try c.encode(r, forKey: .value) }
            },
            decode: { c in try c.decode(R.self, forKey: .value).recordBytes })
    }

    /// A record without a public Codable form, through a mirror struct.
    static func mirrored<R: BinaryRecord, M: Codable & Sendable>(
        _ type: R.Type, _ toMirror: @escaping @Sendable (R) -> M, _ fromMirror: @escaping @Sendable (M) -> R
    ) -> ValueCodec {
        ValueCodec(
            json: { bytes in
                guard let r = try? R(recordBytes: bytes), r.recordBytes == bytes else { return nil }
                return ValueJSON { c in try c.encode(toMirror(r), forKey: .value) }
            },
            decode: { c in fromMirror(try c.decode(M.self, forKey: .value)).recordBytes })
    }

    static let empty = ValueCodec(
        json: { bytes in bytes.isEmpty ? ValueJSON { c in try c.encodeNil(forKey: .value) } : nil },
        decode: { c in
            guard try c.decodeNil(forKey: .value) else {
                throw DecodingError.dataCorruptedError(forKey: .value, in: c, debugDescription: "an index entry's value is null")
            }
            return []
        })

    static let counter = ValueCodec(
        json: { bytes in decodeLittleEndianInt64(bytes).map { v in ValueJSON { c in try c.encode(v, forKey: .value) } } },
        decode: { c in withUnsafeBytes(of: try c.decode(Int64.self, forKey: .value).littleEndian) { Array($0) } })

    static let byTable: [String: ValueCodec] = [
        "meta": .mirrored(
            MetaRecord.self, { MetaJSON(formatVersion: $0.formatVersion, createdAt: $0.createdAt) },
            { MetaRecord(formatVersion: $0.formatVersion, createdAt: $0.createdAt) }),
        "partner": .record(Partner.self),
        "product": .record(Product.self),
        "prod_cat": .empty, "prod_merch": .empty, "prod_partner": .empty,
        "expert": .record(Expert.self),
        "user": .record(User.self),
        "rec": .record(Recommendation.self),
        "showcase": .empty, "showcase_cat": .empty, "feed": .empty,
        "fav": .record(Favourite.self),
        "fav_time": .empty,
        "cart": .record(CartLine.self),
        "hold": .record(Hold.self),
        "hold_exp": .empty,
        "order": .record(Order.self),
        "order_user": .empty,
        "order_due": .empty,
        "pay": .record(Payment.self),
        "pay_ref": .empty,
        "idem": .mirrored(IdempotencyRecord.self, { IdempotencyJSON(order: $0.order) }, { IdempotencyRecord(order: $0.order) }),
        "idem_time": .empty,
        "earn": .record(OrderEarning.self),
        "earn_total": .counter,
        "earn_entry": .record(EarningEntry.self),
        "earn_day": .counter,
        "earn_month": .counter,
        "guest": .record(Guest.self),
        "guest_time": .empty,
        "restock": .mirrored(
            RestockRecord.self, { RestockJSON(product: $0.product, units: $0.units, at: $0.at) },
            { RestockRecord(product: $0.product, units: $0.units, at: $0.at) }),
    ]
}

/// A value ready to be written into a record's JSON object.
private struct ValueJSON {
    let write: (inout KeyedEncodingContainer<DumpedRecord.CodingKeys>) throws -> Void
    init(_ write: @escaping (inout KeyedEncodingContainer<DumpedRecord.CodingKeys>) throws -> Void) { self.write = write }
    func encode(into c: inout KeyedEncodingContainer<DumpedRecord.CodingKeys>) throws { try write(&c) }
}

private struct MetaJSON: Codable {
    var formatVersion: UInt64
    var createdAt: Timestamp
}

private struct IdempotencyJSON: Codable {
    var order: OrderID
}

private struct RestockJSON: Codable {
    var product: ProductID
    var units: Int64
    var at: Timestamp
}

private func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

private func bytes<K: CodingKey>(fromHex text: String, _ c: KeyedDecodingContainer<K>, _ key: K) throws -> [UInt8] {
    func nibble(_ u: UInt8) -> UInt8? {
        switch u {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return u - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return u - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return u - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else {
        throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "hex text of odd length")
    }
    var out: [UInt8] = []
    out.reserveCapacity(utf8.count / 2)
    var i = 0
    while i < utf8.count {
        guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not hex: \"\(text.prefix(40))\"")
        }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}

// MARK: Reading and writing every record

extension OrderedKeyValueStore {
    /// Calls `body` with every stored pair (of one table, when `table` is given), in key order,
    /// all from one snapshot. Reads in batches, so memory stays small whatever the size.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)`` for a table not in
    ///   ``RecordTables/all``; what `body` throws; backend errors.
    public func forEachRecord(table: String? = nil, _ body: (DumpedRecord) throws -> Void) throws {
        var (begin, end) = ([UInt8]([0x00]), [UInt8](repeating: 0xFF, count: 1100))
        if let table {
            guard RecordTables.all.contains(table) else {
                throw VitrineError.invalidArgument(field: "table", reason: "unknown table \"\(table)\"")
            }
            (begin, end) = Tuple([.string(table)]).range
        }
        try read { tx in
            var from = begin
            while true {
                let pairs = try tx.getRange(from: from, to: end, limit: 1024, reverse: false)
                for pair in pairs { try body(DumpedRecord(key: pair.key, value: pair.value)) }
                guard pairs.count == 1024, let last = pairs.last else { return }
                from = last.key + [0x00]
            }
        }
    }

    /// How many keys each table holds (every table of ``RecordTables/all``, zeros included), and
    /// under "(other)" the keys that are not a known table's tuple, when there are any.
    /// - Throws: backend errors.
    public func recordCounts() throws -> [(table: String, count: Int)] {
        var counts: [String: Int] = [:]
        try forEachRecord { record in counts[record.table ?? "(other)", default: 0] += 1 }
        var result = RecordTables.all.map { (table: $0, count: counts[$0] ?? 0) }
        if let other = counts["(other)"] { result.append((table: "(other)", count: other)) }
        return result
    }

    /// Writes `records` exactly as given (keys and values byte for byte), in one transaction.
    /// No domain check is made here: check the records first with ``Store/restoreProblems(_:)``
    /// (as `vitrine load` does), which finds what the API would refuse.
    /// - Throws: backend errors (too long a key or value, ...).
    public func restore(_ records: [DumpedRecord]) throws {
        try write { tx in
            for record in records { try tx.set(record.key, record.value) }
        }
    }
}
