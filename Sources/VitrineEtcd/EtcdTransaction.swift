// The reader and the writer handed to transaction bodies.
//
// Writer: writes are buffered in `overlay` (key -> value, or nil for a clear) and `cleared`
// (clearRange extents; a clearRange drops the overlay entries it covers, so an overlay entry
// always wins over a cleared extent). Reads see the transaction's own writes: an overlay entry
// answers at once; a key inside a cleared extent is absent; anything else is read from the
// snapshot (and so joins the read set). A range read merges the snapshot's pairs with the
// overlay, fetching further pages while the overlay hides pairs, until it has `limit` of them.
//
// The commit (`commitRequest`) is one etcd Txn:
//   compare: MOD == seen    for every key read (seen 0: still absent);
//            MOD <  R + 1   over every scanned extent (merged): nothing inserted or changed;
//   success: delete_range for each cleared extent, split around the keys the overlay sets (etcd
//            refuses a put inside a delete range of the same Txn), then a put or a delete per
//            overlay key.
// Both lists are checked against `maxTxnOps` and the body against `maxRequestBytes` before
// anything is sent.

import Foundation
import Vitrine

extension EtcdKeyValueStore {
    /// Reads of one revision (see ``EtcdKeyValueStore``).
    public final class Reader: OrderedKeyValueReader {
        let snapshot: Snapshot

        init(_ snapshot: Snapshot) { self.snapshot = snapshot }

        public func get(_ key: [UInt8]) throws -> [UInt8]? { try snapshot.get(key) }

        public func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            guard snapshot.isOpen else { throw EtcdError.transactionClosed }
            guard !end.isEmpty, begin.lexicographicallyPrecedes(end) else { return [] }
            return try snapshot.scan(begin, end, limit: max(0, limit), reverse: reverse).pairs.map {
                KeyValue(key: $0.key, value: $0.value)
            }
        }
    }

    /// A transaction's reads (at one revision) and buffered writes.
    public final class Writer: OrderedKeyValueWriter {
        let snapshot: Snapshot
        private(set) var overlay: [[UInt8]: [UInt8]?] = [:]
        private(set) var cleared: [(begin: [UInt8], end: [UInt8])] = []

        init(_ snapshot: Snapshot) { self.snapshot = snapshot }

        var hasWrites: Bool { !overlay.isEmpty || !cleared.isEmpty }

        private func checkOpen() throws { guard snapshot.isOpen else { throw EtcdError.transactionClosed } }

        private func isCleared(_ key: [UInt8]) -> Bool {
            cleared.contains { !key.lexicographicallyPrecedes($0.begin) && key.lexicographicallyPrecedes($0.end) }
        }

        public func get(_ key: [UInt8]) throws -> [UInt8]? {
            try checkOpen()
            if let entry = overlay[key] { return entry }
            if isCleared(key) { return nil }
            return try snapshot.get(key)
        }

        public func getRange(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) throws -> [KeyValue] {
            try checkOpen()
            guard !end.isEmpty, begin.lexicographicallyPrecedes(end) else { return [] }
            let inRange = overlay.filter { !$0.key.lexicographicallyPrecedes(begin) && $0.key.lexicographicallyPrecedes(end) }
            let shadows = { (key: [UInt8]) -> Bool in inRange[key] != nil || self.isCleared(key) }
            let pageLimit = limit > 0 ? limit + inRange.count : 0
            var fromDatabase: [KeyValue] = []
            // The part of [begin, end) read completely from the database so far.
            var low = begin, high = end
            var cursorLow = begin, cursorHigh = end
            while true {
                let page = try snapshot.scan(cursorLow, cursorHigh, limit: pageLimit, reverse: reverse)
                for p in page.pairs where !shadows(p.key) { fromDatabase.append(KeyValue(key: p.key, value: p.value)) }
                guard page.more, let last = page.pairs.last else {
                    (low, high) = (begin, end)
                    break
                }
                if reverse {
                    cursorHigh = last.key
                    low = last.key
                } else {
                    cursorLow = last.key + [0]
                    high = cursorLow
                }
                if limit > 0 && fromDatabase.count >= limit { break }
            }
            var merged = fromDatabase
            for (key, value) in inRange {
                guard let value, !key.lexicographicallyPrecedes(low), key.lexicographicallyPrecedes(high) else { continue }
                merged.append(KeyValue(key: key, value: value))
            }
            merged.sort { reverse ? $1.key.lexicographicallyPrecedes($0.key) : $0.key.lexicographicallyPrecedes($1.key) }
            if limit > 0 && merged.count > limit { merged.removeLast(merged.count - limit) }
            return merged
        }

        public func set(_ key: [UInt8], _ value: [UInt8]) throws {
            try checkOpen()
            overlay[key] = .some(value)
        }

        public func clear(_ key: [UInt8]) throws {
            try checkOpen()
            overlay[key] = .some(nil)
        }

        public func clearRange(from begin: [UInt8], to end: [UInt8]) throws {
            try checkOpen()
            guard !end.isEmpty, begin.lexicographicallyPrecedes(end) else { return }
            for key in overlay.keys where !key.lexicographicallyPrecedes(begin) && key.lexicographicallyPrecedes(end) {
                overlay[key] = nil
            }
            cleared.append((begin, end))
        }

        /// A read of the counter (so a concurrent change fails the commit's compare), then a set.
        public func atomicAdd(_ key: [UInt8], _ delta: Int64) throws {
            var current: Int64 = 0
            if let bytes = try get(key) {
                guard let value = decodeLittleEndianInt64(bytes) else { throw EtcdError.notACounter(key: key) }
                current = value
            }
            let (sum, overflow) = current.addingReportingOverflow(delta)
            if overflow { throw EtcdError.counterOverflow(key: key) }
            try set(key, encodeLittleEndianInt64(sum))
        }

        /// The Txn request, checked against the limits.
        /// - Throws: ``EtcdError/transactionTooLarge(what:count:limit:)``.
        func commitRequest(maxTxnOps: Int, maxRequestBytes: Int) throws -> Data {
            let prefix = snapshot.prefix
            var compares: [[String: Any]] = []
            for (key, mod) in snapshot.keyReads {
                compares.append(["target": "MOD", "result": "EQUAL", "key": Wire.b64(key), "mod_revision": String(mod)])
            }
            if let revision = snapshot.revision {
                for extent in Self.merged(snapshot.rangeReads) {
                    compares.append([
                        "target": "MOD", "result": "LESS", "key": Wire.b64(extent.begin), "range_end": Wire.b64(extent.end),
                        "mod_revision": String(revision + 1),
                    ])
                }
            }
            var success: [[String: Any]] = []
            let setKeys = overlay.compactMap { $0.value == nil ? nil : $0.key }.sorted { $0.lexicographicallyPrecedes($1) }
            let clearedExtents = Self.merged(cleared)
            for extent in clearedExtents {
                var from = extent.begin
                for key in setKeys where !key.lexicographicallyPrecedes(extent.begin) && key.lexicographicallyPrecedes(extent.end) {
                    if from.lexicographicallyPrecedes(key) {
                        success.append(["request_delete_range": ["key": Wire.b64(prefix + from), "range_end": Wire.b64(prefix + key)]])
                    }
                    from = key + [0]
                }
                if from.lexicographicallyPrecedes(extent.end) {
                    success.append(["request_delete_range": ["key": Wire.b64(prefix + from), "range_end": Wire.b64(prefix + extent.end)]])
                }
            }
            for (key, value) in overlay {
                if let value {
                    success.append(["request_put": ["key": Wire.b64(prefix + key), "value": Wire.b64(value)]])
                } else if !clearedExtents.contains(where: {
                    !key.lexicographicallyPrecedes($0.begin) && key.lexicographicallyPrecedes($0.end)
                }) {
                    success.append(["request_delete_range": ["key": Wire.b64(prefix + key)]])
                }
            }
            guard compares.count <= maxTxnOps else {
                throw EtcdError.transactionTooLarge(what: "compares (keys and ranges read)", count: compares.count, limit: maxTxnOps)
            }
            guard success.count <= maxTxnOps else {
                throw EtcdError.transactionTooLarge(what: "writes", count: success.count, limit: maxTxnOps)
            }
            let body = try Wire.json(["compare": compares, "success": success])
            guard body.count <= maxRequestBytes else {
                throw EtcdError.transactionTooLarge(what: "request bytes", count: body.count, limit: maxRequestBytes)
            }
            return body
        }

        /// Extents sorted and merged where they overlap or touch.
        static func merged(_ extents: [(begin: [UInt8], end: [UInt8])]) -> [(begin: [UInt8], end: [UInt8])] {
            let sorted = extents.sorted { $0.begin.lexicographicallyPrecedes($1.begin) }
            var out: [(begin: [UInt8], end: [UInt8])] = []
            for e in sorted {
                if let last = out.last, !last.end.lexicographicallyPrecedes(e.begin) {
                    if last.end.lexicographicallyPrecedes(e.end) { out[out.count - 1].end = e.end }
                } else {
                    out.append(e)
                }
            }
            return out
        }
    }
}
