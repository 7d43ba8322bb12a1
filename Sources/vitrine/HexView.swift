// The hex view of a raw page for `inspect --page`.

import Foundation

/// The classic hex view: offset, 16 bytes in hex, the printable ASCII.
func hexView(_ bytes: [UInt8]) -> [String] {
    stride(from: 0, to: bytes.count, by: 16).map { offset in
        let row = bytes[offset..<min(bytes.count, offset + 16)]
        let hex = row.map { String(format: "%02x", $0) }.joined(separator: " ")
        let ascii = String(row.map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "." })
        return String(format: "%06x  ", offset) + hex.padding(toLength: 48, withPad: " ", startingAt: 0) + " " + ascii
    }
}
