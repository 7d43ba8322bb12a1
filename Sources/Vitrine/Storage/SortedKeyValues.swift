// An ordered map of byte-string keys, as a list of sorted chunks.
//
// Layout: `chunks` is a list of non-empty arrays of `KeyValue`, each sorted by key, and every key
// of chunk i is smaller than every key of chunk i+1. A chunk holds at most `maxChunk` pairs and is
// split in two when an insert would pass that.
//
// Why chunks: both levels are Swift arrays with copy-on-write, so copying the whole map (a
// snapshot) costs one reference; a transaction that then changes a few keys copies the outer array
// (one reference per chunk) and only the chunks it touches, not every pair. That keeps a commit
// cheap even with millions of keys, which a single sorted array would not.
//
// Invariants (checked by `checkInvariants()` in tests):
//   1. no chunk is empty;  2. keys strictly increase within and across chunks;
//   3. no chunk is longer than `maxChunk`.

struct SortedKeyValues: Sendable {
    static let maxChunk = 512

    private(set) var chunks: [[KeyValue]] = []

    /// A position: chunk index and index inside it. `chunk == chunks.count` is the end.
    private struct Position {
        var chunk: Int
        var index: Int
    }

    var count: Int { chunks.reduce(0) { $0 + $1.count } }

    // MARK: Reading

    func get(_ key: [UInt8]) -> [UInt8]? {
        let p = lowerBound(key)
        guard p.chunk < chunks.count else { return nil }
        let pair = chunks[p.chunk][p.index]
        return compareBytes(pair.key, key) == 0 ? pair.value : nil
    }

    /// Pairs with `begin <= key < end`, ascending (or descending when `reverse`), at most `limit`
    /// of them when `limit > 0`.
    func range(from begin: [UInt8], to end: [UInt8], limit: Int, reverse: Bool) -> [KeyValue] {
        guard compareBytes(begin, end) < 0 else { return [] }
        var result: [KeyValue] = []
        if !reverse {
            var p = lowerBound(begin)
            while p.chunk < chunks.count {
                let pair = chunks[p.chunk][p.index]
                if compareBytes(pair.key, end) >= 0 { break }
                result.append(pair)
                if limit > 0 && result.count >= limit { break }
                p = next(p)
            }
        } else {
            var p = previous(lowerBound(end))
            while let q = p {
                let pair = chunks[q.chunk][q.index]
                if compareBytes(pair.key, begin) < 0 { break }
                result.append(pair)
                if limit > 0 && result.count >= limit { break }
                p = previous(q)
            }
        }
        return result
    }

    // MARK: Writing

    mutating func set(_ key: [UInt8], _ value: [UInt8]) {
        if chunks.isEmpty {
            chunks.append([KeyValue(key: key, value: value)])
            return
        }
        var p = lowerBound(key)
        if p.chunk == chunks.count {
            // Past every key: append to the last chunk.
            p = Position(chunk: chunks.count - 1, index: chunks[chunks.count - 1].count)
        } else if compareBytes(chunks[p.chunk][p.index].key, key) == 0 {
            chunks[p.chunk][p.index].value = value
            return
        }
        chunks[p.chunk].insert(KeyValue(key: key, value: value), at: p.index)
        if chunks[p.chunk].count > Self.maxChunk {
            let full = chunks[p.chunk]
            let half = full.count / 2
            chunks[p.chunk] = Array(full[..<half])
            chunks.insert(Array(full[half...]), at: p.chunk + 1)
        }
    }

    mutating func remove(_ key: [UInt8]) {
        let p = lowerBound(key)
        guard p.chunk < chunks.count, compareBytes(chunks[p.chunk][p.index].key, key) == 0 else { return }
        chunks[p.chunk].remove(at: p.index)
        if chunks[p.chunk].isEmpty { chunks.remove(at: p.chunk) }
    }

    mutating func removeRange(from begin: [UInt8], to end: [UInt8]) {
        guard compareBytes(begin, end) < 0 else { return }
        while true {
            let p = lowerBound(begin)
            guard p.chunk < chunks.count else { return }
            let chunk = chunks[p.chunk]
            guard compareBytes(chunk[p.index].key, end) < 0 else { return }
            let stop = Self.lowerBound(end, in: chunk)
            chunks[p.chunk].removeSubrange(p.index..<stop)
            if chunks[p.chunk].isEmpty { chunks.remove(at: p.chunk) }
            if stop < chunk.count { return } // `end` falls inside this chunk: done.
        }
    }

    // MARK: Positions

    /// The position of the first key `>= key` (the end position when there is none).
    private func lowerBound(_ key: [UInt8]) -> Position {
        // First chunk whose last key is >= key.
        var low = 0
        var high = chunks.count
        while low < high {
            let mid = (low + high) / 2
            if let last = chunks[mid].last, compareBytes(last.key, key) < 0 {
                low = mid + 1
            } else {
                high = mid
            }
        }
        guard low < chunks.count else { return Position(chunk: chunks.count, index: 0) }
        return Position(chunk: low, index: Self.lowerBound(key, in: chunks[low]))
    }

    private static func lowerBound(_ key: [UInt8], in chunk: [KeyValue]) -> Int {
        var low = 0
        var high = chunk.count
        while low < high {
            let mid = (low + high) / 2
            if compareBytes(chunk[mid].key, key) < 0 { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private func next(_ p: Position) -> Position {
        if p.index + 1 < chunks[p.chunk].count { return Position(chunk: p.chunk, index: p.index + 1) }
        return Position(chunk: p.chunk + 1, index: 0)
    }

    /// The position before `p`, or nil at the start.
    private func previous(_ p: Position) -> Position? {
        if p.chunk < chunks.count, p.index > 0 { return Position(chunk: p.chunk, index: p.index - 1) }
        var c = p.chunk - 1
        while c >= 0 {
            if !chunks[c].isEmpty { return Position(chunk: c, index: chunks[c].count - 1) }
            c -= 1
        }
        return nil
    }

    /// Problems with the invariants at the top of this file, for tests.
    func checkInvariants() -> [String] {
        var problems: [String] = []
        var previousKey: [UInt8]? = nil
        for (i, chunk) in chunks.enumerated() {
            if chunk.isEmpty { problems.append("chunk \(i) is empty") }
            if chunk.count > Self.maxChunk { problems.append("chunk \(i) holds \(chunk.count) pairs") }
            for pair in chunk {
                if let p = previousKey, compareBytes(p, pair.key) >= 0 {
                    problems.append("keys out of order in chunk \(i)")
                }
                previousKey = pair.key
            }
        }
        return problems
    }
}

/// Lexicographic comparison of byte strings: negative, zero or positive.
@inline(__always)
func compareBytes(_ a: [UInt8], _ b: [UInt8]) -> Int {
    a.withUnsafeBufferPointer { x in
        b.withUnsafeBufferPointer { y in
            let n = min(x.count, y.count)
            var i = 0
            while i < n {
                if x[i] != y[i] { return x[i] < y[i] ? -1 : 1 }
                i += 1
            }
            return x.count == y.count ? 0 : (x.count < y.count ? -1 : 1)
        }
    }
}
