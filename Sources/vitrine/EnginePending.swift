// What the CLI needs from the engine that the engine does not offer yet. Each is a stub that
// throws `CLIError.notSupported` (exit 2); the CLI side around it is complete, so wiring the
// engine's API in is a change to this file only.
//
//   1. A raw page inspector, for `inspect --page N`: the page's header fields, its cells decoded
//      where possible (key, inline value or overflow start, child page), its checksum status, and
//      the page's 4096 bytes. Read through the data file, labelled not transactionally safe.
//      Wanted shape: `Database.inspectPage(_ number: UInt64) throws -> PageInspection`, throwing
//      `StoreError` for a page number out of range.
//   2. `Database.compact(to path: String) throws`, for `compact OUT`: writes a new, compacted
//      database file (all live records, no free pages) at `path`, refusing an existing file.

import Foundation
import VitrineStore

/// One page as `inspect --page` prints it (what the engine's inspector should return).
struct PageInspection {
    var number: UInt64
    /// "meta", "branch", "leaf", "overflow", "free-list", or "unknown (k)".
    var kind: String
    /// Header fields in on-disk order, e.g. ("checksum", "0x1a2b3c4d (ok)"), ("count", "12").
    var header: [(name: String, value: String)]
    /// One line per cell, decoded where possible.
    var cells: [String]
    var bytes: [UInt8]
}

extension Database {
    /// The page, raw. TODO(engine): call the engine's page inspector.
    func inspectPage(_ number: UInt64) throws -> PageInspection {
        throw CLIError.notSupported("inspect --page needs a page inspector in the engine (Database.inspectPage)")
    }

    /// A compacted copy at `path`. TODO(engine): call `Database.compact(to:)`.
    func compactCopy(to path: String) throws {
        throw CLIError.notSupported("compact needs Database.compact(to:) in the engine")
    }
}

/// The classic hex view: offset, 16 bytes in hex, the printable ASCII.
func hexView(_ bytes: [UInt8]) -> [String] {
    stride(from: 0, to: bytes.count, by: 16).map { offset in
        let row = bytes[offset..<min(bytes.count, offset + 16)]
        let hex = row.map { String(format: "%02x", $0) }.joined(separator: " ")
        let ascii = String(row.map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "." })
        return String(format: "%06x  ", offset) + hex.padding(toLength: 48, withPad: " ", startingAt: 0) + " " + ascii
    }
}
