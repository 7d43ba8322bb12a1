// The binary record encoding: a two-byte header, then tagged fields (protobuf-style).
//
//   offset 0: record kind (UInt8, one per record type; see `RecordKind`)
//   offset 1: encoding version (UInt8, currently 1)
//   offset 2: fields, to the end of the value
//
// A field is a key varint, `fieldNumber << 3 | wireType`, then its payload:
//   wire type 0 (varint): one unsigned LEB128 varint. Unsigned integers as is; signed integers
//                         zigzag-encoded ((n << 1) ^ (n >> 63)); Bool as 0 or 1; enums by raw value.
//   wire type 2 (bytes):  a varint length, then that many bytes: UTF-8 text, raw bytes, or a
//                         nested message (fields only, no header).
// Varints are little-endian base-128, at most 10 bytes, and minimal (no trailing 0x80 groups).
//
// Invariants the decoder enforces, so that a record decodes to exactly one value:
//   1. field numbers never decrease; a number repeats only for repeated fields, consecutively;
//   2. every varint is minimal and fits 64 bits; every length fits in the remaining bytes;
//   3. text is valid UTF-8; Bools are 0 or 1; enum raw values are known;
//   4. every required field is present; optional fields are absent when nil.
// Unknown field numbers are skipped (forward compatibility: a later version may add fields without
// changing the version byte); the version byte changes only for incompatible changes.
// The encoder writes fields in increasing order and optional fields only when present, so encoding
// is canonical: decode(encode(x)) == x and encode(decode(b)) == b for every b written by us.

/// Appends fields of a record (swift-nio verbs: `write...` appends).
struct RecordWriter {
    private(set) var bytes: [UInt8] = []

    init() {}

    /// Starts a top-level record with its header.
    init(kind: RecordKind) {
        bytes = [kind.rawValue, RecordKind.currentVersion]
    }

    mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func writeKey(_ field: Int, wireType: UInt8) {
        writeVarint(UInt64(field) << 3 | UInt64(wireType))
    }

    mutating func writeUInt(_ field: Int, _ value: UInt64) {
        writeKey(field, wireType: 0)
        writeVarint(value)
    }

    mutating func writeInt(_ field: Int, _ value: Int64) {
        writeUInt(field, UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func writeBool(_ field: Int, _ value: Bool) {
        writeUInt(field, value ? 1 : 0)
    }

    mutating func writeBytes(_ field: Int, _ value: [UInt8]) {
        writeKey(field, wireType: 2)
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func writeString(_ field: Int, _ value: String) {
        writeBytes(field, Array(value.utf8))
    }

    mutating func writeOptionalString(_ field: Int, _ value: String?) {
        if let value { writeString(field, value) }
    }

    mutating func writeOptionalInt(_ field: Int, _ value: Int64?) {
        if let value { writeInt(field, value) }
    }

    mutating func writeMessage(_ field: Int, _ body: (inout RecordWriter) -> Void) {
        var inner = RecordWriter()
        body(&inner)
        writeBytes(field, inner.bytes)
    }
}

/// The parsed fields of one record or nested message, checked against the invariants above.
struct RecordFields {
    enum Payload {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
    }

    private var fields: [(number: Int, payload: Payload)] = []

    /// Parses a top-level record, checking its header.
    init(record bytes: [UInt8], kind: RecordKind) throws {
        guard bytes.count >= 2 else { throw FormatError.truncated(offset: 0) }
        guard bytes[0] == kind.rawValue else {
            throw FormatError.wrongRecordKind(expected: kind.rawValue, found: bytes[0])
        }
        guard bytes[1] == RecordKind.currentVersion else { throw FormatError.unsupportedVersion(bytes[1]) }
        try self.init(message: bytes[2...])
    }

    /// Parses a nested message (no header).
    init(message bytes: ArraySlice<UInt8>) throws {
        var i = bytes.startIndex
        var last = 0
        while i < bytes.endIndex {
            let keyOffset = i
            let key = try Self.readVarint(bytes, at: &i)
            let wireType = UInt8(key & 7)
            let number = key >> 3
            guard number >= 1, number < 1 << 29 else { throw FormatError.badFieldNumber(offset: keyOffset) }
            let field = Int(number)
            guard field >= last else { throw FormatError.fieldOutOfOrder(field: field, offset: keyOffset) }
            last = field
            switch wireType {
            case 0:
                fields.append((field, .varint(try Self.readVarint(bytes, at: &i))))
            case 2:
                let lengthOffset = i
                let length = try Self.readVarint(bytes, at: &i)
                guard length <= UInt64(bytes.endIndex - i) else { throw FormatError.truncated(offset: lengthOffset) }
                let end = i + Int(length)
                fields.append((field, .bytes(bytes[i..<end])))
                i = end
            default:
                throw FormatError.unknownWireType(wireType, offset: keyOffset)
            }
        }
    }

    /// Reads one minimal varint of at most 10 bytes (swift-nio `read`: advances `i`).
    static func readVarint(_ bytes: ArraySlice<UInt8>, at i: inout Int) throws -> UInt64 {
        let start = i
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard i < bytes.endIndex else { throw FormatError.truncated(offset: start) }
            let byte = bytes[i]
            i += 1
            if shift == 63, byte > 1 { throw FormatError.badVarint(offset: start) }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                // Minimal: a multi-byte varint must not end with a zero group.
                if byte == 0, i - start > 1 { throw FormatError.badVarint(offset: start) }
                return value
            }
            shift += 7
            if shift > 63 { throw FormatError.badVarint(offset: start) }
        }
    }

    // MARK: Typed access

    private func payloads(_ field: Int) -> [Payload] {
        fields.filter { $0.number == field }.map(\.payload)
    }

    private func single(_ field: Int) throws -> Payload? {
        let found = payloads(field)
        guard found.count <= 1 else { throw FormatError.duplicateField(field: field) }
        return found.first
    }

    func optionalUInt(_ field: Int) throws -> UInt64? {
        switch try single(field) {
        case nil: return nil
        case .varint(let v): return v
        case .bytes: throw FormatError.wrongWireType(field: field)
        }
    }

    func uint(_ field: Int) throws -> UInt64 {
        guard let v = try optionalUInt(field) else { throw FormatError.missingField(field: field) }
        return v
    }

    func optionalInt(_ field: Int) throws -> Int64? {
        guard let u = try optionalUInt(field) else { return nil }
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    func int(_ field: Int) throws -> Int64 {
        guard let v = try optionalInt(field) else { throw FormatError.missingField(field: field) }
        return v
    }

    func bool(_ field: Int) throws -> Bool {
        switch try uint(field) {
        case 0: return false
        case 1: return true
        default: throw FormatError.invalidValue(field: field, reason: "a Bool must be 0 or 1")
        }
    }

    func uint8<E: RawRepresentable>(_ field: Int, as type: E.Type) throws -> E where E.RawValue == UInt8 {
        let raw = try uint(field)
        guard raw <= UInt64(UInt8.max), let value = E(rawValue: UInt8(raw)) else {
            throw FormatError.invalidValue(field: field, reason: "unknown \(E.self) \(raw)")
        }
        return value
    }

    func optionalBytes(_ field: Int) throws -> ArraySlice<UInt8>? {
        switch try single(field) {
        case nil: return nil
        case .bytes(let b): return b
        case .varint: throw FormatError.wrongWireType(field: field)
        }
    }

    func optionalString(_ field: Int) throws -> String? {
        guard let b = try optionalBytes(field) else { return nil }
        guard let s = String(validating: b, as: UTF8.self) else { throw FormatError.invalidUTF8(field: field) }
        return s
    }

    func string(_ field: Int) throws -> String {
        guard let s = try optionalString(field) else { throw FormatError.missingField(field: field) }
        return s
    }

    func strings(_ field: Int) throws -> [String] {
        try payloads(field).map { payload in
            guard case .bytes(let b) = payload else { throw FormatError.wrongWireType(field: field) }
            guard let s = String(validating: b, as: UTF8.self) else { throw FormatError.invalidUTF8(field: field) }
            return s
        }
    }

    func messages(_ field: Int) throws -> [RecordFields] {
        try payloads(field).map { payload in
            guard case .bytes(let b) = payload else { throw FormatError.wrongWireType(field: field) }
            return try RecordFields(message: b)
        }
    }

    func message(_ field: Int) throws -> RecordFields {
        guard let b = try optionalBytes(field) else { throw FormatError.missingField(field: field) }
        return try RecordFields(message: b)
    }
}

/// The record kinds (first byte of every stored value that is a record).
enum RecordKind: UInt8, CaseIterable {
    static let currentVersion: UInt8 = 1

    case meta = 1
    case partner = 2
    case product = 3
    case expert = 4
    case user = 5
    case recommendation = 6
    case favourite = 7
    case cartLine = 8
    case hold = 9
    case order = 10
    case idempotency = 11
    case earning = 12
    case restock = 13
    case guest = 14
    case payment = 15
    case earningEntry = 16
}

/// A value stored in the binary record encoding.
///
/// `recordBytes` is canonical; `init(recordBytes:)` accepts exactly the well-formed encodings of
/// the record's kind and throws ``FormatError`` for anything else (it never traps).
public protocol BinaryRecord: Sendable {
    /// The encoded record: header and fields.
    var recordBytes: [UInt8] { get }
    /// Decodes a record.
    /// - Throws: ``FormatError`` when `recordBytes` is malformed or of another kind.
    init(recordBytes: [UInt8]) throws
}
