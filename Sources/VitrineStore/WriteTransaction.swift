// A write transaction: the only writer. It materializes the pages it changes into nodes (see
// Node.swift), records each change in the log record it will commit, and at commit writes every
// changed node to a new page (copy-on-write), then the catalog, giving the new snapshot.
//
// Overflow pages of large values are written as soon as the value is put (to pages no snapshot
// can reach); if the transaction rolls back they are simply free again.

/// A table's state inside a write transaction.
final class TableState {
    let id: UInt32
    let name: String
    @exclusivity(unchecked) var root: Child?
    @exclusivity(unchecked) var count: UInt64
    /// Changed by this transaction: the catalog entry must be rewritten at commit.
    var dirty = false
    /// Dropped in this transaction.
    var dropped = false
    /// In the catalog before this transaction began.
    let existedBefore: Bool

    init(id: UInt32, name: String, root: Child?, count: UInt64, existedBefore: Bool) {
        self.id = id
        self.name = name
        self.root = root
        self.count = count
        self.existedBefore = existedBefore
    }
}

/// A serializable read-write transaction, valid only inside the `Database.write` closure.
public final class WriteTransaction {
    unowned let database: Database
    let txid: UInt64
    private var catalog: TableState
    @exclusivity(unchecked) private var tables: [String: TableState] = [:]
    private var tablesById: [UInt32: TableState]? = nil
    @exclusivity(unchecked) var log = LogRecordBuilder()
    /// Pages of the committed state this transaction stopped using.
    @exclusivity(unchecked) private(set) var freed: [PageNumber] = []
    /// Pages this transaction allocated (to undo on rollback).
    @exclusivity(unchecked) private(set) var allocated: [PageNumber] = []
    @exclusivity(unchecked) private var allocatedHere: Set<PageNumber> = []
    /// Pages this transaction allocated and gave up again: reused first.
    @exclusivity(unchecked) private var recycledHere: [PageNumber] = []
    private(set) var nextTableId: UInt64
    @exclusivity(unchecked) private(set) var modificationCount = 0
    private(set) var isOpen = true
    /// Set when a change failed halfway: the transaction can then only roll back, even if the
    /// caller caught the error (its log and its trees might disagree).
    private(set) var failure: Error? = nil
    /// Set once the log record passes `largeTransactionBytes`: the record is dropped and the
    /// transaction commits by checkpoint, so huge transactions never sit twice in memory.
    private(set) var commitsByCheckpoint = false
    let savepoint: PageAllocator.Savepoint

    init(database: Database, base: Snapshot) {
        self.database = database
        self.txid = base.txid + 1
        self.nextTableId = base.nextTableId
        self.catalog = TableState(id: 0, name: "", root: base.catalogRoot == 0 ? nil : .page(base.catalogRoot),
                                  count: 0, existedBefore: true)
        self.savepoint = database.allocator.savepoint()
    }

    var reader: PageReader {
        PageReader(pager: database.pager, mapping: database.writerMapping, limit: database.allocator.pageCount)
    }

    var hasChanges: Bool { !log.isEmpty || catalog.dirty || commitsByCheckpoint }

    /// Runs one change; a throw after the change began poisons the transaction.
    private func changing<T>(_ body: () throws -> T) throws -> T {
        do {
            let r = try body()
            if !commitsByCheckpoint && log.byteCount > min(database.options.largeTransactionBytes, 1 << 30) {
                commitsByCheckpoint = true
                log = LogRecordBuilder()
            }
            return r
        } catch {
            if failure == nil { failure = error }
            throw error
        }
    }

    private var logging: Bool { !commitsByCheckpoint }

    func close() { isOpen = false }

    @inline(__always) func checkOpen() throws {
        if !isOpen { throw StoreError.transactionClosed }
    }

    func checkOpen(_ table: TableState) throws {
        try checkOpen()
        if table.dropped { throw StoreError.noSuchTable(table.name) }
    }

    // MARK: - Tables

    /// The table named `name`, or nil.
    public func table(_ name: String) throws -> MutableTable? {
        try checkOpen()
        guard let s = try tableState(name) else { return nil }
        return MutableTable(transaction: self, state: s)
    }

    /// The table named `name`, created (empty) if it does not exist.
    /// - Throws: `.invalidTableName` for an empty name or one over `Limits.maxTableNameLength` bytes.
    public func createTable(_ name: String) throws -> MutableTable {
        try checkOpen()
        if let s = try tableState(name) { return MutableTable(transaction: self, state: s) }
        let s = try createTableState(name, id: nil, logged: true)
        return MutableTable(transaction: self, state: s)
    }

    /// Removes the table and all its entries.
    /// - Throws: `.noSuchTable`.
    public func dropTable(_ name: String) throws {
        try checkOpen()
        guard let s = try tableState(name) else { throw StoreError.noSuchTable(name) }
        try dropTableState(s, logged: true)
    }

    /// Names of all tables, in byte order.
    public func tableNames() throws -> [String] {
        try checkOpen()
        var names = Set<String>()
        let c = Cursor(source: .transaction(self, catalog))
        var ok = try c.first()
        while ok {
            names.insert(String(decoding: c.key, as: UTF8.self))
            ok = try c.next()
        }
        for (name, s) in tables {
            if s.dropped { names.remove(name) } else { names.insert(name) }
        }
        return names.sorted { compareBytes(Array($0.utf8), Array($1.utf8)) < 0 }
    }

    private func tableState(_ name: String) throws -> TableState? {
        if let s = tables[name] { return s.dropped ? nil : s }
        guard let v = try find(Array(name.utf8), in: catalog.root) else { return nil }
        let entry = try CatalogEntry.decode(try Self.bytes(of: v, reader), page: 0)
        let s = TableState(id: entry.id, name: name, root: entry.root == 0 ? nil : .page(entry.root),
                           count: entry.count, existedBefore: true)
        tables[name] = s
        tablesById?[s.id] = s
        return s
    }

    func createTableState(_ name: String, id: UInt32?, logged: Bool) throws -> TableState {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= Limits.maxTableNameLength else { throw StoreError.invalidTableName(name) }
        let tableId: UInt32
        if let id {
            tableId = id
        } else {
            guard nextTableId < UInt64(UInt32.max) else { throw StoreError.invalidTableName(name) }
            tableId = UInt32(nextTableId)
        }
        nextTableId = max(nextTableId, UInt64(tableId) + 1)
        return try changing {
        let previous = tables[name]
        let s = TableState(id: tableId, name: name, root: nil, count: 0, existedBefore: previous?.existedBefore ?? false)
        s.dirty = true
        tables[name] = s
        tablesById?[tableId] = s
        catalog.dirty = true
        if logged && logging { log.createTable(table: tableId, name: name) }
        modificationCount += 1
        return s
        }
    }

    func dropTableState(_ s: TableState, logged: Bool) throws {
        try changing {
        try freeTree(s.root, depth: 0)
        s.root = nil
        s.count = 0
        s.dropped = true
        s.dirty = true
        catalog.dirty = true
        tablesById?[s.id] = nil
        if logged && logging { log.dropTable(table: s.id) }
        modificationCount += 1
        }
    }

    /// Looks a table up by id (log replay).
    func tableState(id: UInt32) throws -> TableState? {
        if tablesById == nil {
            var map: [UInt32: TableState] = [:]
            let c = Cursor(source: .transaction(self, catalog))
            var ok = try c.first()
            while ok {
                let name = String(decoding: c.key, as: UTF8.self)
                if let s = try tableState(name) { map[s.id] = s }
                ok = try c.next()
            }
            for s in tables.values where !s.dropped { map[s.id] = s }
            tablesById = map
        }
        return tablesById?[id]
    }

    // MARK: - Pages

    private func allocatePage() -> PageNumber {
        let p: PageNumber
        if let r = recycledHere.popLast() {
            p = r
        } else {
            p = database.allocator.allocate()
            allocated.append(p)
        }
        allocatedHere.insert(p)
        return p
    }

    /// Gives up a page: one this transaction allocated is reusable at once (no snapshot can
    /// see it); one from the committed state is freed at commit.
    private func release(_ p: PageNumber) {
        if allocatedHere.remove(p) != nil {
            recycledHere.append(p)
        } else {
            freed.append(p)
        }
    }

    private func materialize(_ child: inout Child) throws -> Node {
        switch child {
        case .node(let n):
            return n
        case .page(let p):
            let n = Node(page: try reader.treePage(p))
            child = .node(n)
            release(p)
            return n
        }
    }

    private func writeOverflow(_ value: [UInt8]) throws -> PageNumber {
        let n = PageLayout.overflowPageCount(valueLength: value.count)
        var pages: [PageNumber] = []
        pages.reserveCapacity(n)
        for _ in 0..<n { pages.append(allocatePage()) }
        try database.ensureWriterMapping()
        var images: [(PageNumber, [UInt8])] = []
        images.reserveCapacity(min(n, 256))
        for k in 0..<n {
            var b = PageBuilder(kind: .overflow, pageNumber: pages[k], txid: txid)
            b.setU64(k + 1 < n ? pages[k + 1] : 0, at: 24)
            let start = k * PageLayout.overflowPayload
            let end = min(value.count, start + PageLayout.overflowPayload)
            if start < end { b.bytes.replaceSubrange(PageLayout.headerSize..<(PageLayout.headerSize + end - start), with: value[start..<end]) }
            images.append((pages[k], b.finish()))
            if images.count == 256 { try database.pager.write(images); images.removeAll(keepingCapacity: true) }
        }
        if !images.isEmpty { try database.pager.write(images) }
        return pages[0]
    }

    private func releaseValue(_ v: LeafValue) throws {
        if case .overflow(let first, let length) = v {
            for p in try reader.overflowPages(first: first, length: length) { release(p) }
        }
    }

    /// Frees every page of a tree (dropping a table).
    private func freeTree(_ root: Child?, depth: Int) throws {
        guard let root else { return }
        guard depth <= PageReader.maxDepth else { throw StoreError.corruptPage(page: 0, reason: "tree deeper than \(PageReader.maxDepth) levels") }
        switch root {
        case .node(let n):
            if n.isLeaf { for v in n.values { try releaseValue(v) } } else { for c in n.children { try freeTree(c, depth: depth + 1) } }
        case .page(let p):
            let view = try reader.treePage(p)
            if view.isLeaf {
                for i in 0..<view.count where view.value(i).overflow {
                    try releaseValue(.overflow(view.overflowStart(i), view.value(i).length))
                }
            } else {
                for i in 0..<view.count { try freeTree(.page(view.child(i)), depth: depth + 1) }
            }
            release(p)
        }
    }

    static func bytes(of value: LeafValue, _ reader: PageReader) throws -> [UInt8] {
        switch value {
        case .inline(let b): return b
        case .overflow(let first, let length): return try reader.readOverflow(first: first, length: length)
        }
    }

    // MARK: - Tree operations

    /// Finds `key` in a tree that may contain changed nodes.
    func find(_ key: [UInt8], in root: Child?) throws -> LeafValue? {
        var c = root
        var depth = 0
        while let current = c {
            depth += 1
            if depth > PageReader.maxDepth { throw StoreError.corruptPage(page: 0, reason: "tree too deep") }
            switch current {
            case .node(let n):
                if n.isLeaf {
                    let (i, exact) = n.lowerBound(key)
                    return exact ? n.values[i] : nil
                }
                c = n.children[n.childIndex(for: key)]
            case .page(let p):
                let r = reader
                guard let (leaf, i) = try key.withUnsafeBytes({ try r.find($0, root: p) }) else { return nil }
                let v = leaf.value(i)
                return v.overflow ? .overflow(leaf.overflowStart(i), v.length)
                                  : .inline([UInt8](UnsafeRawBufferPointer(start: v.pointer, count: v.length)))
            }
        }
        return nil
    }

    func put(_ key: [UInt8], _ value: [UInt8], in table: TableState, logged: Bool) throws {
        try checkOpen(table)
        guard key.count <= Limits.maxKeyLength else { throw StoreError.keyTooLong(length: key.count, limit: Limits.maxKeyLength) }
        guard value.count <= Limits.maxValueLength else { throw StoreError.valueTooLarge(length: value.count, limit: Limits.maxValueLength) }
        try changing {
            table.dirty = true
            catalog.dirty = true
            modificationCount += 1
            let stored: LeafValue = PageLayout.storesInline(keyLength: key.count, valueLength: value.count)
                ? .inline(value) : .overflow(try writeOverflow(value), value.count)
            if try insert(key, stored, into: &table.root) { table.count += 1 }
            if logged && logging { log.put(table: table.id, key: key, value: value) }
        }
    }

    @discardableResult
    func delete(_ key: [UInt8], in table: TableState, logged: Bool) throws -> Bool {
        try checkOpen(table)
        guard key.count <= Limits.maxKeyLength, try find(key, in: table.root) != nil else { return false }
        return try changing {
            table.dirty = true
            catalog.dirty = true
            modificationCount += 1
            guard let old = try remove(key, from: &table.root) else { return false }
            try releaseValue(old)
            table.count = table.count > 0 ? table.count - 1 : 0
            if logged && logging { log.delete(table: table.id, key: key) }
            return true
        }
    }

    func deleteRange(from begin: [UInt8], to end: [UInt8], in table: TableState, logged: Bool) throws -> Int {
        try checkOpen(table)
        for bound in [begin, end] where bound.count > Limits.maxKeyLength {
            throw StoreError.keyTooLong(length: bound.count, limit: Limits.maxKeyLength)
        }
        var keys: [[UInt8]] = []
        let c = Cursor(source: .transaction(self, table))
        var ok = try c.seek(atLeast: begin)
        while ok && (end.isEmpty || c.compareKey(end) < 0) {
            keys.append(c.key)
            ok = try c.next()
        }
        if keys.isEmpty { return 0 }
        return try changing {
            for k in keys { _ = try delete(k, in: table, logged: false) }
            if logged && logging { log.deleteRange(table: table.id, begin: begin, end: end) }
            return keys.count
        }
    }

    /// Materializes the path from `root` to the leaf that holds (or would hold) `key`; returns
    /// the leaf and the path above it as (branch, child index taken).
    private func descendForChange(_ key: [UInt8], from root: inout Child) throws -> (Node, [(Node, Int)]) {
        var node = try materialize(&root)
        var path: [(Node, Int)] = []
        while !node.isLeaf {
            guard path.count < PageReader.maxDepth else { throw StoreError.corruptPage(page: 0, reason: "tree deeper than \(PageReader.maxDepth) levels") }
            let i = node.childIndex(for: key)
            let child = try materialize(&node.children[i])
            path.append((node, i))
            node = child
        }
        return (node, path)
    }

    /// Inserts or replaces; returns true when the key is new.
    private func insert(_ key: [UInt8], _ value: LeafValue, into root: inout Child?) throws -> Bool {
        var top = root ?? .node(Node())
        let (node, path) = try descendForChange(key, from: &top)
        root = top
        let (i, exact) = node.lowerBound(key)
        if exact {
            let old = node.values[i]
            node.replaceLeafValue(at: i, with: value)
            try releaseValue(old)
        } else {
            node.insertLeaf(key, value, at: i)
        }
        if node.isOverfull {
            let appending = !exact && i == node.count - 1 && path.allSatisfy { $0.1 == $0.0.count - 1 }
            var current = node
            var level = path.count
            // Before splitting a leaf, move its overflow into the right sibling when that one has
            // room to spare: random-order inserts then leave pages ~3/4 full rather than ~1/2.
            if !appending, let (parent, index) = path.last, index + 1 < parent.count,
               try shiftIntoRightSibling(node, parent: parent, index: index) {
                current = parent
                level = path.count - 1
            }
            while current.isOverfull {
                let (right, separator) = current.split(appending: appending)
                if level == 0 {
                    root = .node(Node(branchKeys: [[], separator], children: [.node(current), .node(right)]))
                    break
                }
                let (parent, index) = path[level - 1]
                parent.insertChild(.node(right), separator: separator, at: index + 1)
                current = parent
                level -= 1
            }
        }
        return !exact
    }

    /// Moves the tail of an over-full leaf into its right sibling if the sibling stays at most
    /// 7/8 full; updates the separator. Returns false (changing nothing) when it does not fit.
    private func shiftIntoRightSibling(_ node: Node, parent: Node, index: Int) throws -> Bool {
        let (n, bytes) = node.overflowTail()
        guard n > 0 else { return false }
        // Size the sibling from its page before copying it (no copy-on-write if it is too full).
        let siblingSize: Int
        switch parent.children[index + 1] {
        case .node(let s):
            guard s.isLeaf else { return false }
            siblingSize = s.size
        case .page(let p):
            let view = try reader.treePage(p)
            guard view.isLeaf else { return false }
            siblingSize = PageLayout.size - (0..<view.count).reduce(PageLayout.size) { min($0, view.cellOffset($1)) } + 2 * view.count
        }
        guard siblingSize + bytes <= PageLayout.capacity * 7 / 8 else { return false }
        let right = try materialize(&parent.children[index + 1])
        guard right.isLeaf, right.size + bytes <= PageLayout.capacity else { return false }
        node.shiftLast(n, to: right)
        parent.setSeparator(Node.shortestSeparator(after: node.keys[node.keys.count - 1], upTo: right.keys[0]), at: index + 1)
        return true
    }

    /// Removes `key` (which must be present); returns its old value. Merges under-full nodes
    /// with a sibling on the way up, and shortens the tree when the root has one child.
    private func remove(_ key: [UInt8], from root: inout Child?) throws -> LeafValue? {
        guard var top = root else { return nil }
        let (node, path) = try descendForChange(key, from: &top)
        root = top
        let (i, exact) = node.lowerBound(key)
        guard exact else { return nil }
        let old = node.values[i]
        node.removeLeaf(at: i)

        var current = node
        var level = path.count
        while level > 0 {
            let (parent, index) = path[level - 1]
            if current.count == 0 {
                // An empty node is cut out of its parent rather than merged (a parent left with
                // one child may not be able to merge, and must not keep an empty leaf).
                parent.removeChild(at: index)
                current = parent
                level -= 1
                continue
            }
            if !current.isUnderfull { break }
            if parent.count >= 2 {
                let leftIndex = index > 0 ? index - 1 : index
                let left = try materialize(&parent.children[leftIndex])
                let right = try materialize(&parent.children[leftIndex + 1])
                let separator = parent.keys[leftIndex + 1]
                guard left.sizeAfterAbsorbing(right, separator: separator) <= PageLayout.capacity else { break }
                left.absorb(right, separator: separator)
                parent.removeChild(at: leftIndex + 1)
            }
            current = parent
            level -= 1
        }
        while case .node(let r)? = root, !r.isLeaf, r.count <= 1 { root = r.count == 1 ? r.children[0] : nil }
        if case .node(let r)? = root, r.isLeaf, r.count == 0 { root = nil }
        return old
    }

    // MARK: - Commit

    /// Writes every changed node to new pages, bottom-up; returns the root page.
    private func spill(_ child: Child, into pages: inout [(PageNumber, [UInt8])]) throws -> PageNumber {
        switch child {
        case .page(let p):
            return p
        case .node(let n):
            if !n.isLeaf {
                for i in 0..<n.children.count {
                    n.children[i] = .page(try spill(n.children[i], into: &pages))
                }
            }
            guard !n.isOverfull else {
                throw StoreError.corruptPage(page: 0, reason: "internal error: node of \(n.size) bytes does not fit a page")
            }
            let p = allocatePage()
            pages.append((p, n.encode(pageNumber: p, txid: txid)))
            return p
        }
    }

    struct Prepared {
        var pages: [(PageNumber, [UInt8])]
        var catalogRoot: PageNumber
    }

    /// Writes the changed trees and the catalog to page images (not yet to the file).
    func prepare() throws -> Prepared {
        var pages: [(PageNumber, [UInt8])] = []
        for s in tables.values.sorted(by: { $0.id < $1.id }) where s.dirty {
            let key = Array(s.name.utf8)
            if s.dropped {
                if try find(key, in: catalog.root) != nil { _ = try remove(key, from: &catalog.root) }
                continue
            }
            var root: PageNumber = 0
            if let r = s.root { root = try spill(r, into: &pages) }
            s.root = root == 0 ? nil : .page(root)
            let entry = CatalogEntry(id: s.id, root: root, count: s.count).encode()
            _ = try insert(key, .inline(entry), into: &catalog.root)
        }
        var catalogRoot: PageNumber = 0
        if let r = catalog.root { catalogRoot = try spill(r, into: &pages) }
        return Prepared(pages: pages, catalogRoot: catalogRoot)
    }

    /// Undoes page allocation after the body threw.
    func rollback() {
        for p in allocated {
            if p < savepoint.pageCount {
                database.allocator.reusable.append(p)
            } else {
                database.allocator.allocatedSinceCheckpoint.remove(p)
            }
        }
        database.allocator.pageCount = savepoint.pageCount
    }

    /// After commit: pages allocated and given up again in this transaction are free now.
    func returnRecycledPages() {
        database.allocator.reusable.append(contentsOf: recycledHere)
        recycledHere = []
    }

    // MARK: - Replay

    func apply(_ op: LogOperation) throws {
        func table(_ id: UInt32) throws -> TableState {
            guard let s = try tableState(id: id) else {
                throw StoreError.corruptLog(offset: 0, reason: "operation on unknown table id \(id) in txid \(txid)")
            }
            return s
        }
        switch op {
        case .put(let id, let key, let value): try put(key, value, in: try table(id), logged: false)
        case .delete(let id, let key): _ = try delete(key, in: try table(id), logged: false)
        case .deleteRange(let id, let b, let e): _ = try deleteRange(from: b, to: e, in: try table(id), logged: false)
        case .createTable(let id, let name):
            if let existing = try tableState(name) { try dropTableState(existing, logged: false) }
            _ = try createTableState(name, id: id, logged: false)
        case .dropTable(let id): try dropTableState(try table(id), logged: false)
        }
    }
}
