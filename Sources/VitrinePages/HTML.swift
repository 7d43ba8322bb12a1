// Escaping for the three contexts user-written text reaches in a page: element text, attribute
// values (always double-quoted), and URL path segments. Every string from the database (reasons,
// titles, names, merchants, ids) goes through one of these; nothing is written raw.
//
//   text(s)         & < > " ' escaped as entities; C0/C1 controls (but tab and line feed),
//                   lone surrogates cannot occur in a Swift String, noncharacters: U+FFFD. The same
//                   output is safe inside a double-quoted attribute value, so one function serves
//                   both (``attribute(_:)`` names the intent at the call site).
//   pathSegment(s)  every byte of the UTF-8 form but RFC 3986's unreserved characters
//                   (A-Z a-z 0-9 - . _ ~) as %XX, so a segment can never add a "/", "?", "#", a
//                   scheme's ":" or a quote; then attribute-escaped by the caller as any value.
// URLs to other sites are never built from text: a partner link is re-validated and written only
// in its canonical form (AllowedLink.swift).

/// HTML escaping for element text, attribute values and URL path segments.
public enum HTML {
    /// `s` as element text: `&`, `<`, `>`, `"` and `'` as entities, control characters and
    /// noncharacters as U+FFFD (they are parse errors, and invisible).
    public static func text(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count + 16)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                let v = scalar.value
                let control = v < 0x20 || (0x7F...0x9F).contains(v)
                let nonCharacter = (0xFDD0...0xFDEF).contains(v) || (v & 0xFFFE) == 0xFFFE
                if control || nonCharacter { out += "\u{FFFD}" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// `s` as the value of a double-quoted attribute (the same escaping as ``text(_:)``).
    public static func attribute(_ s: String) -> String { text(s) }

    /// `s` as one URL path segment: every byte but the unreserved characters percent-encoded.
    public static func pathSegment(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
