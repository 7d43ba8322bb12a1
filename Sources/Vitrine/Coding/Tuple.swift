// Order-preserving tuple encoding of keys, after FoundationDB's tuple layer.
//
// A key is the concatenation of its encoded elements. Each element starts with a type code:
//
//   code        element   body
//   0x00        null      (none)
//   0x01        bytes     the bytes, each 0x00 written as 0x00 0xFF, then a terminating 0x00
//   0x02        string    its UTF-8 bytes as they are (never normalized), escaped and
//                         terminated exactly as bytes
//   0x0C..0x13  int < 0   n = 0x14 - code bytes (8..1): the one's complement of |value|,
//                         big-endian, in the fewest bytes that hold |value|
//   0x14        int 0     (none)
//   0x15..0x1C  int > 0   n = code - 0x14 bytes (1..8): value big-endian, fewest bytes
//
// Invariant: comparing two encoded tuples byte by byte (shorter prefix first) gives the same order
// as comparing the tuples element by element, with null < bytes < string < int and integers in
// numeric order. So a range read over encoded keys is a range read over tuples, and every key that
// extends a tuple `t` lies in [pack(t) + 0x00, pack(t) + 0xFF), which is `Tuple.range(of:)`.
// These codes and bodies are byte-identical to FoundationDB's, so its tools can read our keys.

/// One element of a key tuple.
public enum TupleElement: Hashable, Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// The null element (sorts first).
    case null
    /// A byte string.
    case bytes([UInt8])
    /// A text string, encoded as its UTF-8 bytes.
    case string(String)
    /// A signed 64-bit integer (sorts numerically).
    case int(Int64)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }

    /// Equal when the encodings are: strings by their UTF-8 bytes, not by canonical equivalence.
    public static func == (a: TupleElement, b: TupleElement) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bytes(let x), .bytes(let y)): return x == y
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
        case (.int(let x), .int(let y)): return x == y
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0 as UInt8)
        case .bytes(let b):
            hasher.combine(1 as UInt8)
            hasher.combine(b)
        case .string(let s):
            hasher.combine(2 as UInt8)
            hashUTF8(s, into: &hasher)
        case .int(let v):
            hasher.combine(3 as UInt8)
            hasher.combine(v)
        }
    }
}

/// A key as a tuple of elements, and its order-preserving byte encoding.
public struct Tuple: Hashable, Sendable, ExpressibleByArrayLiteral {
    /// The elements, in order.
    public var elements: [TupleElement]

    /// A tuple of `elements`.
    public init(_ elements: [TupleElement]) { self.elements = elements }
    public init(arrayLiteral elements: TupleElement...) { self.elements = elements }

    /// Appends an element.
    public func appending(_ element: TupleElement) -> Tuple { Tuple(elements + [element]) }

    /// The encoded key.
    public var packed: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for element in elements { Tuple.pack(element, into: &out) }
        return out
    }

    /// The key range holding every key that extends this tuple (this tuple's own key excluded).
    public var range: (begin: [UInt8], end: [UInt8]) {
        let p = packed
        return (p + [0x00], p + [0xFF])
    }

    /// Decodes an encoded key.
    /// - Throws: ``FormatError`` when `bytes` is not a well-formed tuple.
    public init(unpacking bytes: [UInt8]) throws {
        var elements: [TupleElement] = []
        var i = 0
        while i < bytes.count {
            let code = bytes[i]
            let start = i
            i += 1
            switch code {
            case 0x00:
                elements.append(.null)
            case 0x01, 0x02:
                var body: [UInt8] = []
                var terminated = false
                while i < bytes.count {
                    let b = bytes[i]
                    i += 1
                    if b == 0x00 {
                        if i < bytes.count, bytes[i] == 0xFF {
                            body.append(0x00)
                            i += 1
                        } else {
                            terminated = true
                            break
                        }
                    } else {
                        body.append(b)
                    }
                }
                guard terminated else { throw FormatError.truncated(offset: start) }
                if code == 0x01 {
                    elements.append(.bytes(body))
                } else {
                    guard let s = String(validating: body, as: UTF8.self) else {
                        throw FormatError.invalidUTF8(field: elements.count)
                    }
                    elements.append(.string(s))
                }
            case 0x0C...0x1C:
                let negative = code < 0x14
                let n = negative ? Int(0x14 - code) : Int(code - 0x14)
                guard i + n <= bytes.count else { throw FormatError.truncated(offset: start) }
                var magnitude: UInt64 = 0
                for b in bytes[i..<(i + n)] { magnitude = magnitude << 8 | UInt64(b) }
                i += n
                if n == 0 {
                    elements.append(.int(0))
                } else if negative {
                    // Body is the one's complement of |value| in n bytes.
                    let mask: UInt64 = n == 8 ? .max : (UInt64(1) << (8 * UInt64(n))) - 1
                    let abs = ~magnitude & mask
                    guard abs != 0, abs <= UInt64(Int64.max) + 1, Tuple.byteCount(abs) == n else {
                        throw FormatError.badTupleCode(code, offset: start)
                    }
                    elements.append(.int(abs == UInt64(Int64.max) + 1 ? .min : -Int64(abs)))
                } else {
                    guard magnitude <= UInt64(Int64.max), Tuple.byteCount(magnitude) == n else {
                        throw FormatError.badTupleCode(code, offset: start)
                    }
                    elements.append(.int(Int64(magnitude)))
                }
            default:
                throw FormatError.badTupleCode(code, offset: start)
            }
        }
        self.elements = elements
    }

    static func pack(_ element: TupleElement, into out: inout [UInt8]) {
        switch element {
        case .null:
            out.append(0x00)
        case .bytes(let b):
            out.append(0x01)
            appendEscaped(b, into: &out)
        case .string(let s):
            out.append(0x02)
            appendEscaped(Array(s.utf8), into: &out)
        case .int(let v):
            if v == 0 {
                out.append(0x14)
            } else if v > 0 {
                let m = UInt64(v)
                let n = byteCount(m)
                out.append(0x14 + UInt8(n))
                appendBigEndian(m, bytes: n, into: &out)
            } else {
                let m = v.magnitude
                let n = byteCount(m)
                out.append(0x14 - UInt8(n))
                appendBigEndian(~m, bytes: n, into: &out)
            }
        }
    }

    private static func appendEscaped(_ bytes: [UInt8], into out: inout [UInt8]) {
        for b in bytes {
            out.append(b)
            if b == 0x00 { out.append(0xFF) }
        }
        out.append(0x00)
    }

    private static func appendBigEndian(_ value: UInt64, bytes n: Int, into out: inout [UInt8]) {
        var shift = 8 * (n - 1)
        while shift >= 0 {
            out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
            shift -= 8
        }
    }

    /// Bytes needed to hold `value` (0 for 0).
    static func byteCount(_ value: UInt64) -> Int {
        (64 - value.leadingZeroBitCount + 7) / 8
    }
}

extension Tuple: CustomStringConvertible {
    public var description: String {
        "("
            + elements.map { element -> String in
                switch element {
                case .null: return "nil"
                case .bytes(let b): return "0x" + b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                case .string(let s): return "\"\(s)\""
                case .int(let v): return String(v)
                }
            }.joined(separator: ", ") + ")"
    }
}
