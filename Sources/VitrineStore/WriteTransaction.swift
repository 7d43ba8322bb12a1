// A write transaction: the only writer. It copies the pages it changes into dirty pages (see
// DirtyPage.swift; the tree algorithms are in TreeEdit.swift), records each change in the log
// record it will commit, and at commit writes the catalog entries of the tables it changed, then
// every dirty page, giving the new snapshot.
//
// Overflow pages of large values are written as soon as the value is put (to pages no snapshot
// can reach); if the transaction rolls back they are simply free again.

/// A table's state inside a write transaction.
final class TableState {
    let id: UInt32
    let name: String
    /// Root page (0: empty table); a dirty page once the transaction changed the tree.
    @exclusivity(unchecked) var root: PageNumber
    @exclusivity(unchecked) var count: UInt64
    /// Changed by this transaction: the catalog entry must be rewritten at commit.
    var dirty = false
    /// Dropped in this transaction.
    var dropped = false
    /// In the catalog before this transaction began.
    let existedBefore: Bool

    init(id: UInt32, name: String, root: PageNumber, count: UInt64, existedBefore: Bool) {
        self.id = id
        self.name = name
        self.root = root
        self.count = count
        self.existedBefore = existedBefore
    }
}

/// A serializable read-write transaction, valid only inside the `Database.write` closure.
public final class WriteTransaction: TreePages {
    /// Unowned(unsafe): the transaction lives inside `Database.write`, and every public entry
    /// point checks `isOpen` first, so it never reaches a database that is gone. (Plain
    /// `unowned` costs an atomic retain/release per access: ~6% of a commit in perf.)
    unowned(unsafe) let database: Database
    /// The transaction's id; in a replay batch, that of the last record applied.
    private(set) var txid: UInt64
    /// Log records this transaction re-executed (recovery batches several).
    private(set) var replayedRecords = 0
    @exclusivity(unchecked) var catalog: TableState
    @exclusivity(unchecked) var tables: [String: TableState] = [:]
    var tablesById: [UInt32: TableState]? = nil
    @exclusivity(unchecked) var log = LogRecordBuilder()
    /// Pages of the committed state this transaction stopped using.
    @exclusivity(unchecked) private(set) var freed: [PageNumber] = []
    /// Pages this transaction allocated (to undo on rollback).
    @exclusivity(unchecked) private(set) var allocated: [PageNumber] = []
    @exclusivity(unchecked) private var allocatedHere = PageNumberSet()
    /// Pages this transaction allocated and still uses (written by the commit): the log
    /// record's page summary.
    var allocatedPages: [PageNumber] { allocatedHere.members() }

    /// The page digest of `pages` (its `allocatedPages`; Format/LogRecord.swift), once the dirty
    /// pages are sealed: each is a dirty page or an overflow page this transaction wrote.
    func pageDigest(of pages: [PageNumber]) -> UInt64 {
        var digest: UInt64 = 0
        for p in pages {
            let checksum = dirty[p]?.view.storedChecksum ?? overflowChecksums[p] ?? 0
            digest &+= PageSummary.digestTerm(page: p, checksum: checksum)
        }
        return digest
    }

    /// Pages this transaction allocated and gave up again: reused first.
    @exclusivity(unchecked) private var recycledHere: [PageNumber] = []
    /// The stored checksum of each overflow page this transaction wrote (for the page digest).
    @exclusivity(unchecked) private var overflowChecksums = PageNumberTable<UInt32>()
    /// The tree pages this transaction is changing, by their (new) page number.
    @exclusivity(unchecked) var dirty = PageNumberTable<DirtyPage>()
    /// Dirty pages given up again; kept until the transaction ends so that a cursor still
    /// holding a view of one reads valid memory before it notices the change and re-seeks.
    @exclusivity(unchecked) private var retired: [DirtyPage] = []
    /// Dirty-page buffers to reuse: the database's pool, held by the transaction while it runs
    /// (`recyclePages` returns it). Popped from here rather than through `database`: each
    /// access through it retains and releases the database (when it still had a side table,
    /// LentReference.swift, ~5% of a relaxed commit's thread in `perf`).
    @exclusivity(unchecked) private var sparePages: [DirtyPage]
    /// Reused by every change for its path from the root (TreeEdit.swift).
    @exclusivity(unchecked) var pathBuffer: [PathStep] = []
    var nextTableId: UInt64
    @exclusivity(unchecked) var modificationCount = 0
    private(set) var isOpen = true
    /// Set when a change failed halfway: the transaction can then only roll back, even if the
    /// caller caught the error (its log and its trees might disagree).
    var failure: Error? = nil
    /// Set once the log record passes `largeTransactionBytes`: the record is dropped and the
    /// transaction commits by checkpoint, so huge transactions never sit twice in memory.
    private(set) var commitsByCheckpoint = false
    /// Begun inside `bulkLoad(.unlogged)`: builds no log record (BulkLoad.swift).
    let unlogged: Bool
    /// Set by a commit that handed its dirty pages to the page writer: they are not reused.
    var pagesHandedOver = false
    let savepoint: PageAllocator.Savepoint
    /// Savepoints (Savepoint.swift): how many are open, and the inverse of each change made
    /// inside them, oldest first. Empty (and never filled) outside a savepoint.
    var savepointDepth = 0
    @exclusivity(unchecked) var undo: [UndoStep] = []
    var journaling: Bool { savepointDepth > 0 }
    var usedSavepoints = false

    init(database: Database, base: Snapshot) {
        self.database = database
        self.txid = base.txid + 1
        self.nextTableId = base.nextTableId
        self.catalog = TableState(
            id: 0, name: "", root: base.catalogRoot,
            count: 0, existedBefore: true)
        self.savepoint = database.allocator.savepoint()
        self.unlogged = database.unloggedLoadDepth > 0
        self.sparePages = []
        swap(&sparePages, &database.sparePages)
        if database.spareRecordBuffer.capacity > 0 {
            var buffer: [UInt8] = []
            swap(&buffer, &database.spareRecordBuffer)
            log = LogRecordBuilder(reusing: buffer)
        }
    }

    var reader: PageReader {
        PageReader(
            pager: database.pager, mapping: database.writerMapping, limit: database.allocator.pageCount,
            unwritten: database.unwrittenPages.isEmpty ? nil : database.unwrittenPages)
    }

    var hasChanges: Bool {
        // After savepoints that all rolled back, pages were touched (catalog.dirty) but the
        // logical contents are the base's again: only the log record tells. Unlogged, no record
        // tells: such a transaction commits the same contents again.
        usedSavepoints && !unlogged ? hasLoggedChanges : (!log.isEmpty || catalog.dirty || commitsByCheckpoint)
    }

    /// Whether the transaction's log record holds a change (or it commits by checkpoint).
    var hasLoggedChanges: Bool { !log.isEmpty || commitsByCheckpoint }

    /// Runs one change; a throw after the change began poisons the transaction.
    private func changing<T>(_ body: () throws -> T) throws -> T {
        do {
            let r = try body()
            // The page summary counts too (8 bytes per page allocated or freed): dropping a
            // large table logs one operation but frees every page of it.
            let summaryBytes = PageSummary.fixedSize + PageSummary.digestSize + 8 * (freed.count + allocatedHere.count)
            if logging && log.byteCount + summaryBytes > min(database.options.largeTransactionBytes, 1 << 30) {
                commitsByCheckpoint = true
                log = LogRecordBuilder()
            }
            return r
        } catch {
            if failure == nil { failure = error }
            throw error
        }
    }

    private var logging: Bool { !commitsByCheckpoint && !unlogged }

    /// Commits this transaction by checkpoint, with no log record: for a change of pages only,
    /// with nothing to re-execute (moving pages: Shrink.swift).
    func commitByCheckpoint() {
        commitsByCheckpoint = true
        log = LogRecordBuilder()
    }

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
        guard let (leaf, i) = try find(Array(name.utf8), in: catalog.root) else { return nil }
        let entry = try CatalogEntry.decode(try reader.value(leaf, i), page: 0)
        let s = TableState(
            id: entry.id, name: name, root: entry.root,
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
            let s = TableState(id: tableId, name: name, root: 0, count: 0, existedBefore: previous?.existedBefore ?? false)
            if logged && journaling { undo.append(.tableCreated(s, previous: previous)) }
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
        let entries = logged && journaling ? try entries(of: s) : []
        try changing {
            if logged && journaling { undo.append(.tableDropped(s, entries: entries)) }
            var seen = Set<PageNumber>()
            try freeTree(s.root, depth: 0, seen: &seen)
            s.root = 0
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
    func release(_ p: PageNumber) {
        if let d = dirty.removeValue(forKey: p) { retired.append(d) }
        if allocatedHere.remove(p) {
            recycledHere.append(p)
        } else {
            freed.append(p)
        }
    }

    /// A new, empty dirty tree page.
    /// - Throws: `.corruptPage` when the page handed out is one this transaction uses already.
    func newPage(kind: PageKind) throws -> DirtyPage {
        let number = allocatePage()
        try checkUnused(number, copying: nil)
        let d = sparePages.popLast() ?? DirtyPage()
        d.reset(kind: kind, number: number)
        dirty[number] = d
        return d
    }

    /// The page to change for page `p`: this transaction's copy, made on first touch under a
    /// new page number (copy-on-write). The caller points the parent (or root) at `number`.
    func touch(_ p: PageNumber) throws -> DirtyPage {
        if let d = dirty[p] { return d }
        let view = try reader.treePage(p)
        let number = allocatePage()
        try checkUnused(number, copying: p)
        let d = sparePages.popLast() ?? DirtyPage()
        d.load(view, number: number)
        dirty[number] = d
        release(p)
        return d
    }

    /// A page number just handed out must be one nothing in this transaction uses: not a page
    /// it is changing, nor the page being copied. The allocator only hands out free pages, so
    /// this fails only when a damaged file's free list names a page that is in use (a tree page
    /// of the file, which this transaction then also reached or copied). Without the check the
    /// two uses would share one number: a dirty page replaced in `dirty` while a change still
    /// held it (its path keeps unowned references) was a use after free.
    @inline(__always) private func checkUnused(_ number: PageNumber, copying p: PageNumber?) throws {
        guard number != p, dirty[number] == nil else {
            throw StoreError.corruptPage(page: number, reason: "a page listed as free is in use")
        }
    }

    /// Tree page `p` as this transaction sees it.
    @inline(__always) func treePage(_ p: PageNumber) throws -> PageView {
        if let d = dirty[p] { return d.view }
        return try reader.treePage(p)
    }

    /// Dirty-page buffers kept for the next transactions.
    static let sparePagesKept = 256
    /// The same during a bulk load (BulkLoad.swift), whose transactions each copy thousands of
    /// pages: 16,384 buffers, 64 MiB, given back when the load ends. With 256, a random-order
    /// load allocated and freed ~9,000 buffers a transaction (malloc, free and the page faults
    /// of memory glibc had given back: ~10% of its samples).
    static let sparePagesKeptInBulkLoad = 16_384

    /// At the end of the transaction (committed or not): dirty pages go back to the pool.
    func recyclePages() {
        // The pool back, with what the page writer returned meanwhile (reclaimWrittenPages).
        var pool: [DirtyPage] = []
        swap(&pool, &sparePages)
        let kept = database.sparePagesKept
        pool.append(contentsOf: database.sparePages.prefix(max(0, kept - pool.count)))
        if !pagesHandedOver { pool.append(contentsOf: dirty.allValues().prefix(max(0, kept - pool.count))) }
        pool.append(contentsOf: retired.prefix(max(0, kept - pool.count)))
        database.sparePages = pool
        // The log record's storage too, up to a size: a bulk load's 10,000-product records
        // (2.2 MB) grew theirs by doubling from 512 bytes, each time from fresh memory the kernel
        // faulted in, and gave it back at the end (page faults: ~2% of a random-order load).
        let record = log.takeBuffer()
        if record.capacity <= database.spareRecordBytesKept { database.spareRecordBuffer = record }
        // Emptied, not replaced: a new table would be an allocation more per transaction.
        dirty.removeAll()
        retired = []
    }

    func writeOverflow(_ value: [UInt8]) throws -> PageNumber {
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
            if start < end {
                b.bytes.replaceSubrange(PageLayout.headerSize..<(PageLayout.headerSize + end - start), with: value[start..<end])
            }
            images.append((pages[k], b.finish()))
            overflowChecksums[pages[k]] = b.checksum
            if images.count == 256 { try database.pager.write(images); images.removeAll(keepingCapacity: true) }
        }
        if !images.isEmpty { try database.pager.write(images) }
        return pages[0]
    }

    /// Gives up the pages of an overflow chain.
    func releaseOverflow(first: PageNumber, length: Int) throws {
        for p in try reader.overflowPages(first: first, length: length) { release(p) }
    }

    /// Frees every page of a tree (dropping a table). A page reached twice is corruption: freeing
    /// it twice would list it twice, and links that loop back would make ~2^48 visits within the
    /// depth bound.
    private func freeTree(_ root: PageNumber, depth: Int, seen: inout Set<PageNumber>) throws {
        guard root != 0 else { return }
        guard depth <= PageReader.maxDepth else {
            throw StoreError.corruptPage(page: 0, reason: "tree deeper than \(PageReader.maxDepth) levels")
        }
        guard seen.insert(root).inserted else { throw StoreError.corruptPage(page: root, reason: "tree page reached twice") }
        let view = try treePage(root)
        if view.isLeaf {
            for i in 0..<view.count where view.value(i).overflow {
                // A damaged or crafted leaf may share a chain between cells: freeing it twice
                // would hand the same page out twice later.
                let pages = try reader.overflowPages(first: view.overflowStart(i), length: view.value(i).length)
                for p in pages where !seen.insert(p).inserted {
                    throw StoreError.corruptPage(page: p, reason: "overflow page reached twice")
                }
                for p in pages { release(p) }
            }
        } else {
            for i in 0..<view.count { try freeTree(view.child(i), depth: depth + 1, seen: &seen) }
        }
        release(root)
    }

    // MARK: - Changes

    /// Finds `key` in a table's tree as this transaction sees it: the leaf and the cell index.
    func find(_ key: [UInt8], in root: PageNumber) throws -> (PageView, Int)? {
        try key.withUnsafeBytes { try find($0, root: root) }
    }

    func put(_ key: [UInt8], _ value: [UInt8], in table: TableState, logged: Bool) throws {
        try checkOpen(table)
        guard key.count <= Limits.maxKeyLength else { throw StoreError.keyTooLong(length: key.count, limit: Limits.maxKeyLength) }
        guard value.count <= Limits.maxValueLength else {
            throw StoreError.valueTooLarge(length: value.count, limit: Limits.maxValueLength)
        }
        let previous = logged && journaling ? try currentValue(key, in: table) : nil
        try changing {
            if logged && journaling { undo.append(.restore(table, key: key, value: previous)) }
            table.dirty = true
            catalog.dirty = true
            modificationCount += 1
            let stored: LeafValue =
                PageLayout.storesInline(keyLength: key.count, valueLength: value.count)
                ? .inline(value) : .overflow(try writeOverflow(value), value.count)
            if try insert(key, stored, into: &table.root) { table.count += 1 }
            if logged && logging { log.put(table: table.id, key: key, value: value) }
        }
    }

    @discardableResult
    func delete(_ key: [UInt8], in table: TableState, logged: Bool) throws -> Bool {
        try checkOpen(table)
        guard key.count <= Limits.maxKeyLength, let (leaf, i) = try find(key, in: table.root) else { return false }
        let previous = logged && journaling ? try reader.value(leaf, i) : nil
        return try changing {
            if let previous { undo.append(.restore(table, key: key, value: previous)) }
            table.dirty = true
            catalog.dirty = true
            modificationCount += 1
            guard try remove(key, from: &table.root) else { return false }
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
        var values: [[UInt8]] = []
        let keepValues = logged && journaling
        let c = Cursor(source: .transaction(self, table))
        var ok = try c.seek(atLeast: begin)
        while ok && (end.isEmpty || c.compareKey(end) < 0) {
            keys.append(c.key)
            if keepValues { values.append(try c.value()) }
            ok = try c.next()
        }
        if keys.isEmpty { return 0 }
        return try changing {
            if keepValues {
                for (k, v) in zip(keys, values) { undo.append(.restore(table, key: k, value: v)) }
            }
            for k in keys { _ = try delete(k, in: table, logged: false) }
            if logged && logging { log.deleteRange(table: table.id, begin: begin, end: end) }
            return keys.count
        }
    }

    // MARK: - Commit

    struct Prepared {
        /// Every dirty page, sealed, ready to write.
        var pages: [DirtyPage]
        var catalogRoot: PageNumber
    }

    /// Writes the catalog entries of changed tables, then seals every dirty page.
    func prepare() throws -> Prepared {
        for s in tables.values.sorted(by: { $0.id < $1.id }) where s.dirty {
            let key = Array(s.name.utf8)
            if s.dropped {
                _ = try remove(key, from: &catalog.root)
                continue
            }
            let entry = CatalogEntry(id: s.id, root: s.root, count: s.count).encode()
            _ = try insert(key, .inline(entry), into: &catalog.root)
        }
        let pages = dirty.allValues()
        for d in pages {
            // Not `used`: measuring each page only for this check cost a tenth of a small commit.
            guard d.fitsPage else {
                throw StoreError.corruptPage(page: d.number, reason: "internal error: page of \(d.used) bytes does not fit")
            }
            // Sealed first: the checksum streams the page in order, which the prefetcher follows,
            // so the layout check after it finds the cells in the cache. The other way round the
            // check's scattered reads of a page touched long ago missed one line after another
            // (a random-order load: 8% of its samples in the check; 0.3% after, and the checksum
            // 6.4 -> 7.8%).
            d.seal(txid: txid)
            // The pager marks the pages it writes verified, so no reader in this process checks
            // them again: a page laid out wrong must stop here. Only a damaged file gets one (a
            // free list naming a page in use made a page its own sibling: CraftedFreeListTests).
            if let reason = PageView.validateLayout(UnsafeRawPointer(d.base), pageNumber: d.number) {
                throw StoreError.corruptPage(page: d.number, reason: "a page laid out wrong (a damaged file?): \(reason)")
            }
        }
        return Prepared(pages: pages, catalogRoot: catalog.root)
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

    /// Recovery: the operations of the record with id `txid` are applied; the transaction now
    /// stands for everything up to it.
    func finishReplayedRecord(txid: UInt64) {
        self.txid = txid
        replayedRecords += 1
    }

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
