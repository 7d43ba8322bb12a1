// Ordered iteration over one table: seek to the first key >= k, first, last, next, previous.
//
// A cursor keeps the path from the root to its leaf. In a read transaction the path is pages in
// the map. In a write transaction it may pass through pages the transaction is changing; if the
// transaction changes the table after the cursor was positioned, the cursor notices (by a change
// counter) and re-finds its key before moving, so it never walks a stale path.

/// Where a cursor reads from.
enum CursorSource {
    case snapshot(ReadTransaction, root: PageNumber)
    case transaction(WriteTransaction, TableState)
}

/// A position in a table, moved with `first()`, `last()`, `seek(atLeast:)`, `next()` and
/// `previous()`; each returns false when it runs off the end (the cursor is then invalid).
/// Valid only inside the transaction that made it.
public final class Cursor {
    private let source: CursorSource
    @exclusivity(unchecked) private var path: [(PageView, Int)] = []
    @exclusivity(unchecked) private var positionedAt = 0
    /// In a write transaction, a copy of the current key, to find the position again after the
    /// transaction changes the table (the node under the cursor may have shifted).
    @exclusivity(unchecked) private var savedKey: [UInt8] = []
    /// Whether the cursor is at an entry (false before positioning and after running off an end).
    public private(set) var isValid = false
    /// Pages entered since the cursor was last positioned or changed direction. Moving one
    /// way through a sound tree enters each page at most once; more pages than the snapshot
    /// has means links that loop back, which the depth bound alone would let run ~2^48 steps.
    @exclusivity(unchecked) private var entered: UInt64 = 0
    @exclusivity(unchecked) private var movingForward = true

    init(source: CursorSource) {
        self.source = source
        path.reserveCapacity(8)
    }

    private var reader: PageReader {
        get throws {
            switch source {
            case .snapshot(let tx, _): try tx.checkOpen(); return tx.reader
            case .transaction(let tx, _): try tx.checkOpen(); return tx.reader
            }
        }
    }

    private var modificationCount: Int {
        if case .transaction(let tx, _) = source { return tx.modificationCount }
        return 0
    }

    private var isTransactionOpen: Bool {
        switch source {
        case .snapshot(let tx, _): return tx.isOpen
        case .transaction(let tx, _): return tx.isOpen
        }
    }

    private func rootRef(_ reader: PageReader) throws -> PageView? {
        switch source {
        case .snapshot(_, let root):
            return root == 0 ? nil : try reader.treePage(root)
        case .transaction(let tx, let table):
            return table.root == 0 ? nil : try tx.treePage(table.root)
        }
    }

    private func child(of ref: PageView, _ i: Int, _ reader: PageReader) throws -> PageView {
        entered += 1
        if entered > reader.limit {
            throw StoreError.corruptPage(page: ref.child(i), reason: "tree reaches more pages than the database has (its links loop)")
        }
        switch source {
        case .snapshot: return try reader.treePage(ref.child(i))
        case .transaction(let tx, _): return try tx.treePage(ref.child(i))
        }
    }

    /// Descends from `ref` to its leftmost (or rightmost) leaf, pushing the path.
    private func descend(from ref: PageView, toLast: Bool, _ reader: PageReader) throws {
        var r = ref
        while !r.isLeaf {
            if path.count > PageReader.maxDepth {
                throw StoreError.corruptPage(page: 0, reason: "tree deeper than \(PageReader.maxDepth) levels")
            }
            let i = toLast ? r.count - 1 : 0
            path.append((r, i))
            r = try child(of: r, i, reader)
        }
        path.append((r, toLast ? r.count - 1 : 0))
    }

    private func finish(_ valid: Bool) -> Bool {
        isValid = valid
        positionedAt = modificationCount
        if !valid { path.removeAll(keepingCapacity: true) }
        if valid, case .transaction = source, let k = try? currentKey() { savedKey = k }
        return valid
    }

    /// Moves to the smallest key.
    @discardableResult public func first() throws -> Bool {
        let reader = try self.reader
        path.removeAll(keepingCapacity: true)
        entered = 0
        guard let root = try rootRef(reader) else { return finish(false) }
        try descend(from: root, toLast: false, reader)
        return finish(try skipEmptyLeaves(forward: true, reader))
    }

    /// Moves to the largest key.
    @discardableResult public func last() throws -> Bool {
        let reader = try self.reader
        path.removeAll(keepingCapacity: true)
        entered = 0
        guard let root = try rootRef(reader) else { return finish(false) }
        try descend(from: root, toLast: true, reader)
        return finish(try skipEmptyLeaves(forward: false, reader))
    }

    /// Moves to the first key >= `key`.
    @discardableResult public func seek(atLeast key: [UInt8]) throws -> Bool {
        let reader = try self.reader
        path.removeAll(keepingCapacity: true)
        entered = 0
        guard var r = try rootRef(reader) else { return finish(false) }
        try key.withUnsafeBytes { k in
            while !r.isLeaf {
                if path.count > PageReader.maxDepth { throw StoreError.corruptPage(page: 0, reason: "tree too deep") }
                let i = r.childIndex(for: k)
                path.append((r, i))
                r = try child(of: r, i, reader)
            }
            let i = r.lowerBound(k).index
            path.append((r, i))
        }
        return finish(try skipEmptyLeaves(forward: true, reader))
    }

    /// If the leaf position is past its end (or before its start), moves to the next (previous)
    /// leaf that has entries. Returns false at the end of the table.
    private func skipEmptyLeaves(forward: Bool, _ reader: PageReader) throws -> Bool {
        while let (leaf, i) = path.last, forward ? i >= leaf.count : i < 0 {
            path.removeLast()
            // Climb to a level that has a sibling in the wanted direction.
            while let (ref, ci) = path.last {
                let next = forward ? ci + 1 : ci - 1
                if next >= 0 && next < ref.count {
                    path[path.count - 1].1 = next
                    try descend(from: try child(of: ref, next, reader), toLast: !forward, reader)
                    break
                }
                path.removeLast()
            }
            if path.isEmpty { return false }
        }
        return !path.isEmpty
    }

    /// Re-finds the current key after the write transaction changed the table. Returns the
    /// key it was at (the cursor is now at that key, or the next one if it was deleted).
    @discardableResult private func refreshIfStale() throws -> [UInt8]? {
        guard isValid, positionedAt != modificationCount else { return nil }
        let k = savedKey
        _ = try seek(atLeast: k)
        return k
    }

    /// Moves to the next key.
    @discardableResult public func next() throws -> Bool {
        guard isValid else { return false }
        let reader = try self.reader
        if let k = try refreshIfStale() {
            if !isValid { return false }
            if compareBytes(try currentKey(), k) > 0 { return true }
        }
        if !movingForward { movingForward = true; entered = 0 }
        path[path.count - 1].1 += 1
        return finish(try skipEmptyLeaves(forward: true, reader))
    }

    /// Moves to the previous key.
    @discardableResult public func previous() throws -> Bool {
        guard isValid else { return false }
        let reader = try self.reader
        if try refreshIfStale() != nil {
            if !isValid { return try last() }
        }
        if movingForward { movingForward = false; entered = 0 }
        path[path.count - 1].1 -= 1
        return finish(try skipEmptyLeaves(forward: false, reader))
    }

    /// The key under the path, without any check for staleness.
    private func currentKey() throws -> [UInt8] {
        guard isValid, let (leaf, i) = path.last, i >= 0, i < leaf.count else { throw StoreError.transactionClosed }
        return leaf.keyBytes(i)
    }

    /// Makes the path current; false if the cursor cannot be read (closed or off the end).
    private func readable() -> Bool {
        guard isTransactionOpen else { return false }
        if positionedAt != modificationCount { _ = try? refreshIfStale() }
        return isValid
    }

    /// The key at the cursor (empty when the cursor is not valid or its transaction ended).
    public var key: [UInt8] {
        guard readable() else { return [] }
        return (try? currentKey()) ?? []
    }

    /// The value at the cursor, copied.
    /// - Throws: `.transactionClosed` when the cursor is not on a key or its transaction ended.
    public func value() throws -> [UInt8] {
        let reader = try self.reader
        guard readable(), let (leaf, i) = path.last, i >= 0, i < leaf.count else { throw StoreError.transactionClosed }
        return try reader.value(leaf, i)
    }

    /// Whether the key at the cursor starts with `prefix`.
    public func keyHasPrefix(_ prefix: [UInt8]) -> Bool {
        guard readable(), let (leaf, i) = path.last, i >= 0, i < leaf.count else { return false }
        let (ptr, n) = leaf.key(i)
        guard n >= prefix.count else { return false }
        return prefix.withUnsafeBytes { pr in compareBytes(ptr, prefix.count, pr) == 0 }
    }

    /// Compares the key at the cursor with `other` (negative, zero, positive).
    func compareKey(_ other: [UInt8]) -> Int {
        guard readable(), let (leaf, i) = path.last, i >= 0, i < leaf.count else { return 1 }
        let (ptr, n) = leaf.key(i)
        return other.withUnsafeBytes { compareBytes(ptr, n, $0) }
    }
}
