// Tables: named B+trees. `Table` reads a table in a snapshot; `MutableTable` reads and writes a
// table inside a write transaction (reads see the transaction's own writes). Both offer the
// same read operations through `TableReading`.

/// Read operations shared by `Table` and `MutableTable`.
public protocol TableReading {
    /// The table's name.
    var name: String { get }
    /// Number of entries.
    var count: Int { get }
    /// The value stored under `key`, copied; nil if absent.
    /// - Throws: `StoreError.corruptPage` naming a damaged page; `.transactionClosed`.
    func get(_ key: [UInt8]) throws -> [UInt8]?
    /// Calls `body` with the value's bytes without copying them (inline values are read in
    /// place from the map); returns nil if the key is absent. The span is valid only in `body`.
    func withValue<R>(forKey key: [UInt8], _ body: (RawSpan) throws -> R) throws -> R?
    /// A cursor over the table, unpositioned.
    func makeCursor() throws -> Cursor
    /// Calls `body` with each key and value, in ascending order from the first key >= `start`,
    /// until it returns false. The spans are valid only inside `body`; in a read transaction they
    /// point straight into the map (nothing is copied except overflow values).
    func scan(from start: [UInt8], _ body: (RawSpan, RawSpan) throws -> Bool) throws
}

extension TableReading {
    /// Whether `key` is present.
    public func contains(_ key: [UInt8]) throws -> Bool {
        try withValue(forKey: key) { _ in true } ?? false
    }

    /// Pairs with `begin <= key < end` in ascending order (descending when `reverse`), at most
    /// `limit` (0 or less: no limit). An empty `end` means "to the end of the table".
    public func range(from begin: [UInt8], to end: [UInt8], limit: Int = 0, reverse: Bool = false) throws -> [(
        key: [UInt8], value: [UInt8]
    )] {
        var out: [(key: [UInt8], value: [UInt8])] = []
        let c = try makeCursor()
        let unbounded = end.isEmpty
        if !reverse {
            var ok = try c.seek(atLeast: begin)
            while ok && (unbounded || c.compareKey(end) < 0) {
                out.append((c.key, try c.value()))
                if limit > 0 && out.count >= limit { break }
                ok = try c.next()
            }
        } else {
            var ok = unbounded ? try c.last() : try c.seek(atLeast: end)
            if !unbounded {
                ok = ok ? try c.previous() : try c.last()
            }
            while ok && c.compareKey(begin) >= 0 {
                out.append((c.key, try c.value()))
                if limit > 0 && out.count >= limit { break }
                ok = try c.previous()
            }
        }
        return out
    }

    /// Calls `body` for each pair whose key starts with `prefix`, in order, until it returns false.
    public func forEach(prefix: [UInt8], _ body: ([UInt8], [UInt8]) throws -> Bool) throws {
        let c = try makeCursor()
        var ok = try c.seek(atLeast: prefix)
        while ok && c.keyHasPrefix(prefix) {
            if try !body(c.key, c.value()) { return }
            ok = try c.next()
        }
    }
}

/// A table as seen by a read transaction.
public struct Table: TableReading {
    let transaction: ReadTransaction
    public let name: String
    let root: PageNumber
    let id: UInt32
    public let count: Int

    init(transaction: ReadTransaction, name: String, entry: CatalogEntry) {
        self.transaction = transaction
        self.name = name
        self.root = entry.root
        self.id = entry.id
        self.count = Int(clamping: entry.count)
    }

    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        try transaction.checkOpen()
        let r = transaction.reader
        guard let (leaf, i) = try key.withUnsafeBytes({ try r.find($0, root: root) }) else { return nil }
        return try r.value(leaf, i)
    }

    public func withValue<R>(forKey key: [UInt8], _ body: (RawSpan) throws -> R) throws -> R? {
        try transaction.checkOpen()
        let r = transaction.reader
        guard let (leaf, i) = try key.withUnsafeBytes({ try r.find($0, root: root) }) else { return nil }
        return try r.withValue(leaf, i, body)
    }

    public func makeCursor() throws -> Cursor {
        try transaction.checkOpen()
        return Cursor(source: .snapshot(transaction, root: root))
    }

    public func scan(from start: [UInt8], _ body: (RawSpan, RawSpan) throws -> Bool) throws {
        try transaction.checkOpen()
        guard root != 0 else { return }
        let r = transaction.reader
        // The path from the root: (branch page, child index taken). One allocation per scan.
        var stack: [(PageView, Int)] = []
        stack.reserveCapacity(8)
        // A scan enters each page of a sound tree once. Entering more pages than the snapshot
        // has means links that loop back (the depth bound alone would allow ~2^48 visits).
        var entered = 1
        func enter(_ p: PageNumber) throws -> PageView {
            entered += 1
            if UInt64(entered) > r.limit {
                throw StoreError.corruptPage(page: p, reason: "tree reaches more pages than the database has (its links loop)")
            }
            return try r.treePage(p)
        }
        var leaf = try r.treePage(root)
        var i = 0
        try start.withUnsafeBytes { k in
            while !leaf.isLeaf {
                guard stack.count < PageReader.maxDepth else { throw StoreError.corruptPage(page: root, reason: "tree too deep") }
                let c = start.isEmpty ? 0 : leaf.childIndex(for: k)
                stack.append((leaf, c))
                leaf = try enter(leaf.child(c))
            }
            i = start.isEmpty ? 0 : leaf.lowerBound(k).index
        }
        // Prefetch: a scan is bound by memory latency, one cache miss per cell (each cell is
        // ~200 bytes from the last, on a fresh line), with the caller's body between two misses
        // so that they do not overlap. So the cell `cellsAhead` ahead is asked for as each cell
        // is read, and the next two leaves under the same parent when a leaf is entered at its
        // first cell (every leaf after the first; the first too when the scan starts there, so
        // a short range read from the middle of a leaf asks for nothing it will not reach).
        // Full scan at 1,000,000 products (Benchmarks/README.md, session 6): 0.79x LMDB's rows/s
        // without, 0.87x with the cells ahead, 1.17x with the next leaf too, 1.9x with two.
        let cellsAhead = 4
        while true {
            if i == 0, let (parent, c) = stack.last, c + 1 < parent.count {
                r.prefetchPage(parent.child(c + 1))
                if c + 2 < parent.count { r.prefetchPage(parent.child(c + 2)) }
            }
            while i < leaf.count {
                if i + cellsAhead < leaf.count { leaf.prefetchCell(i + cellsAhead) }
                let (keyPointer, keyLength) = leaf.key(i)
                let key = UnsafeRawBufferPointer(start: keyPointer, count: keyLength)
                let v = leaf.value(i)
                let more: Bool
                if v.overflow {
                    let bytes = try r.readOverflow(first: leaf.overflowStart(i), length: v.length)
                    more = try bytes.withUnsafeBytes { try body(key.bytes, $0.bytes) }
                } else {
                    more = try body(key.bytes, UnsafeRawBufferPointer(start: v.pointer, count: v.length).bytes)
                }
                if !more { return }
                i += 1
            }
            // Climb to the nearest branch with a child to the right, then down its left edge.
            var next: PageView? = nil
            while let (branch, c) = stack.popLast() {
                if c + 1 < branch.count {
                    stack.append((branch, c + 1))
                    var p = try enter(branch.child(c + 1))
                    while !p.isLeaf {
                        guard stack.count < PageReader.maxDepth else { throw StoreError.corruptPage(page: root, reason: "tree too deep") }
                        stack.append((p, 0))
                        p = try enter(p.child(0))
                    }
                    next = p
                    break
                }
            }
            guard let n = next else { return }
            leaf = n
            i = 0
        }
    }
}

/// A table inside a write transaction.
public struct MutableTable: TableReading {
    let transaction: WriteTransaction
    let state: TableState

    public var name: String { state.name }
    public var count: Int { Int(clamping: state.count) }

    public func get(_ key: [UInt8]) throws -> [UInt8]? {
        try transaction.checkOpen(state)
        guard let (leaf, i) = try transaction.find(key, in: state.root) else { return nil }
        return try transaction.reader.value(leaf, i)
    }

    public func withValue<R>(forKey key: [UInt8], _ body: (RawSpan) throws -> R) throws -> R? {
        try transaction.checkOpen(state)
        guard let (leaf, i) = try transaction.find(key, in: state.root) else { return nil }
        return try transaction.reader.withValue(leaf, i, body)
    }

    public func makeCursor() throws -> Cursor {
        try transaction.checkOpen(state)
        return Cursor(source: .transaction(transaction, state))
    }

    public func scan(from start: [UInt8], _ body: (RawSpan, RawSpan) throws -> Bool) throws {
        let c = try makeCursor()
        var ok = start.isEmpty ? try c.first() : try c.seek(atLeast: start)
        while ok {
            let key = c.key
            let value = try c.value()
            let more = try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try body(k.bytes, v.bytes) } }
            if !more { return }
            ok = try c.next()
        }
    }

    /// Inserts `value` under `key`, replacing any value there.
    /// - Throws: `.keyTooLong`, `.valueTooLarge`, `.corruptPage`, `.io` (writing overflow pages).
    public func put(_ key: [UInt8], _ value: [UInt8]) throws {
        try transaction.put(key, value, in: state, logged: true)
    }

    /// Removes `key`; returns whether it was present.
    @discardableResult public func delete(_ key: [UInt8]) throws -> Bool {
        try transaction.delete(key, in: state, logged: true)
    }

    /// Removes every key with `begin <= key < end` (empty `end`: to the end of the table);
    /// returns how many were removed.
    @discardableResult public func deleteRange(from begin: [UInt8], to end: [UInt8]) throws -> Int {
        try transaction.deleteRange(from: begin, to: end, in: state, logged: true)
    }
}
