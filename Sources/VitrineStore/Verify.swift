// verify(): walks the whole file and checks every invariant the format promises:
//   - every reachable page passes its checksum and structural check (read afresh, not from the
//     verified-page cache);
//   - keys ascend strictly within each page and lie within the bounds their parent's
//     separators give; all leaves of a tree are at the same depth; branch pages are not empty;
//   - overflow chains have the length their value needs and only overflow pages;
//   - every table's entry count matches the catalog;
//   - every page in [2, pageCount) is exactly one of: reachable, free, or part of the last
//     checkpoint's free-list chain. Nothing leaks, nothing is free twice or both used and free.

/// What `Database.verify()` found.
public struct VerificationReport: Sendable, CustomStringConvertible {
    /// One broken invariant.
    public struct Problem: Sendable, CustomStringConvertible, Equatable {
        /// The page concerned, when there is one.
        public var page: UInt64?
        /// The table concerned, when there is one.
        public var table: String?
        /// What is wrong.
        public var message: String

        public var description: String {
            var parts: [String] = []
            if let table { parts.append("table '\(table)'") }
            if let page { parts.append("page \(page)") }
            return (parts.isEmpty ? "" : parts.joined(separator: ", ") + ": ") + message
        }
    }

    /// Every problem found; empty when the file is sound.
    public internal(set) var problems: [Problem] = []
    /// Pages read and checked.
    public internal(set) var pagesChecked = 0
    /// Tables walked.
    public internal(set) var tablesChecked = 0
    /// Whether no problem was found.
    public var isClean: Bool { problems.isEmpty }

    public var description: String {
        isClean
            ? "ok: \(pagesChecked) pages, \(tablesChecked) tables"
            : problems.map(\.description).joined(separator: "\n")
    }
}

/// Shape and size of one table (for `inspect`).
public struct TableStatistics: Sendable {
    /// The table's name.
    public var name: String
    /// Key-value pairs in it.
    public var entries: Int
    /// Levels of its tree (1: the root is a leaf).
    public var depth: Int
    /// Branch pages.
    public var branchPages: Int
    /// Leaf pages.
    public var leafPages: Int
    /// Overflow pages of its large values.
    public var overflowPages: Int
    /// Used bytes of branch and leaf pages over their capacity.
    public var fillFactor: Double
}

/// Sizes and counts for the whole database (for `inspect`).
public struct DatabaseStatistics: Sendable {
    /// Bytes per page.
    public var pageSize: Int
    /// Pages in the data file.
    public var pageCount: UInt64
    /// The data file's size in bytes.
    public var fileBytes: Int64
    /// The write-ahead log's size in bytes.
    public var logBytes: Int64
    /// Pages free for reuse.
    public var freePages: Int
    /// The id of the last committed transaction.
    public var lastTransactionId: UInt64
    /// How many checkpoints the file has had.
    public var checkpointSequence: UInt64
    /// Pages of the catalog tree.
    public var catalogPages: Int
    /// Each table's shape.
    public var tables: [TableStatistics]
    /// How log records reach the disk.
    public var logWrites: LogWriteMode = .buffered
    /// What this session's open did with the log it found.
    public var recovery = RecoveryReport(method: .none, records: 0)
}

/// What an open did with the log it found (`DatabaseStatistics.recovery`).
public struct RecoveryReport: Sendable, Equatable {
    /// How the log's records were brought back.
    public enum Method: String, Sendable {
        /// No record to recover: the last session closed cleanly, or the log was empty.
        case none
        /// The records' state was already in the data file (a process crash in this boot):
        /// taken over from their page summaries, nothing re-executed.
        case adopted
        /// The records were re-executed on top of the checkpoint (after a reboot or power
        /// loss, a copied file, or records without page summaries).
        case replayed
    }
    /// How.
    public var method: Method
    /// How many records.
    public var records: Int

    /// A report.
    public init(method: Method, records: Int) {
        self.method = method
        self.records = records
    }
}

/// How the write-ahead log reaches the disk (`DatabaseStatistics.logWrites`).
public enum LogWriteMode: String, Sendable {
    /// Aligned writes through an O_DIRECT | O_DSYNC descriptor: durable when the write returns
    /// (`.full` and `.grouped`, where the file system allows it).
    case direct
    /// Writes through the page cache, made durable by fdatasync (`.relaxed`, or a file system
    /// that refuses O_DIRECT at open).
    case buffered
    /// The file system accepted O_DIRECT at open but refused a direct write (EINVAL): writes went
    /// back to the page cache + fdatasync, until the database is reopened.
    case bufferedAfterDirectRefused
}

/// Walks trees page by page, recording problems instead of stopping at the first.
struct TreeWalker {
    let pager: Pager
    let mapping: Mapping
    let limit: UInt64
    var marks: [UInt8]
    var report = VerificationReport()
    var table: String? = nil
    var used = 0
    var branchPages = 0
    var leafPages = 0
    var overflowPages = 0
    var entries = 0
    var leafDepth: Int? = nil
    /// verify() re-reads every checksum; statistics() trusts pages already verified.
    let freshChecks: Bool
    /// pageMap() only: what each page reached holds (PageMap.swift), by page number, and the
    /// labels of the tables' pages.
    var pageUses: [PageMap.Page]? = nil
    var labeller: PageLabeller? = nil
    /// verify(progress:): told the pages checked so far, every 4096 pages.
    var progress: ((Int) -> Void)? = nil

    init(pager: Pager, mapping: Mapping, limit: UInt64, freshChecks: Bool = true) {
        self.pager = pager
        self.mapping = mapping
        self.limit = limit
        self.freshChecks = freshChecks
        marks = [UInt8](repeating: 0, count: Int(limit))
        if limit > 0 { marks[0] = 1 }
        if limit > 1 { marks[1] = 1 }
    }

    /// Why the page fails its checks, or nil.
    func check(_ page: PageNumber) -> String? {
        if freshChecks { return pager.validateFresh(page, in: mapping, limit: limit) }
        do {
            _ = try pager.page(page, in: mapping, limit: limit)
            return nil
        } catch {
            return "\(error)"
        }
    }

    mutating func problem(_ page: UInt64?, _ message: String) {
        if report.problems.count < 10_000 { report.problems.append(.init(page: page, table: table, message: message)) }
    }

    /// Marks a page used; false (with a problem) if out of range or already used.
    mutating func mark(_ p: PageNumber, as what: String) -> Bool {
        guard p >= 2 && p < limit else { problem(p, "\(what) page number out of range"); return false }
        if marks[Int(p)] != 0 { problem(p, "\(what) page is referenced twice"); return false }
        marks[Int(p)] = 1
        report.pagesChecked += 1
        if report.pagesChecked & 4095 == 0 { progress?(report.pagesChecked) }
        return true
    }

    mutating func startTree(_ name: String?) {
        table = name
        used = 0; branchPages = 0; leafPages = 0; overflowPages = 0; entries = 0; leafDepth = nil
    }

    /// Walks the tree under `page`; keys must lie in [lower, upper) (nil: unbounded).
    mutating func walk(_ page: PageNumber, lower: [UInt8]?, upper: [UInt8]?, depth: Int) {
        guard depth <= PageReader.maxDepth else { problem(page, "tree deeper than \(PageReader.maxDepth)"); return }
        guard mark(page, as: "tree") else { return }
        if let reason = check(page) { problem(page, reason); return }
        let view = PageView(base: mapping.base + Int(page) * PageLayout.size)
        guard view.kindByte == PageKind.leaf.rawValue || view.kindByte == PageKind.branch.rawValue else {
            problem(page, "expected a tree page, found kind \(view.kindByte)"); return
        }
        let n = view.count
        let usedBefore = used
        used += 2 * n
        var previous: [UInt8]? = nil
        for i in 0..<n {
            let key = view.keyBytes(i)
            used += (view.isLeaf ? PageLayout.leafCellHeader : PageLayout.branchCellHeader) + key.count
            if view.isLeaf || i > 0 {
                if let previous, compareBytes(previous, key) >= 0 { problem(page, "keys out of order at cell \(i)") }
                if let lower, compareBytes(key, lower) < 0 { problem(page, "cell \(i) key below its parent's bound") }
                if let upper, compareBytes(key, upper) >= 0 { problem(page, "cell \(i) key not below its parent's bound") }
                previous = key
            }
        }
        if view.isLeaf {
            leafPages += 1
            entries += n
            defer { recordTreePage(page, view, bytes: used - usedBefore) }
            if let d = leafDepth, d != depth { problem(page, "leaf at depth \(depth), others at \(d)") }
            leafDepth = leafDepth ?? depth
            for i in 0..<n {
                let v = view.value(i)
                if v.overflow {
                    used += 8
                    walkOverflow(view.overflowStart(i), length: v.length, key: pageUses == nil ? nil : view.keyBytes(i))
                } else {
                    used += v.length
                }
            }
        } else {
            branchPages += 1
            if n == 0 { problem(page, "empty branch page") }
            recordTreePage(page, view, bytes: used - usedBefore)
            for i in 0..<n {
                let lo = i == 0 ? lower : view.keyBytes(i)
                let hi = i + 1 < n ? view.keyBytes(i + 1) : upper
                walk(view.child(i), lower: lo, upper: hi, depth: depth + 1)
            }
        }
    }

    mutating func walkOverflow(_ first: PageNumber, length: Int, key: [UInt8]? = nil) {
        var p = first
        let pages = PageLayout.overflowPageCount(valueLength: length)
        for k in 0..<pages {
            guard mark(p, as: "overflow") else { return }
            if let reason = check(p) { problem(p, reason); return }
            let view = PageView(base: mapping.base + Int(p) * PageLayout.size)
            guard view.kindByte == PageKind.overflow.rawValue else {
                problem(p, "expected an overflow page, found kind \(view.kindByte)"); return
            }
            overflowPages += 1
            if pageUses != nil {
                let bytes = min(PageLayout.overflowPayload, length - k * PageLayout.overflowPayload)
                let label = labeller?.index(tree: table, key: key)
                pageUses?[Int(p)] = .init(kind: .overflow, table: label, fill: Double(bytes) / Double(PageLayout.overflowPayload))
            }
            let next = view.next
            if k + 1 < pages && next == 0 { problem(p, "overflow chain ends early"); return }
            if k + 1 == pages && next != 0 { problem(p, "overflow chain longer than its value") }
            p = next
        }
    }

    /// pageMap(): a tree page's kind, label and fill. A leaf is labelled by its first key; a
    /// branch by its separators when the first and the last have the same label, otherwise (it
    /// spans several) as the whole table (key nil).
    private mutating func recordTreePage(_ page: PageNumber, _ view: PageView, bytes: Int) {
        guard pageUses != nil, let labeller else { return }
        let fill = Double(bytes) / Double(PageLayout.capacity)
        guard table != nil else { pageUses?[Int(page)] = .init(kind: .catalog, table: nil, fill: fill); return }
        let label: Int
        if view.isLeaf {
            label = labeller.index(tree: table, key: view.count > 0 ? view.keyBytes(0) : nil)
        } else if view.count > 1 {
            let first = labeller.index(tree: table, key: view.keyBytes(1))
            let last = labeller.index(tree: table, key: view.keyBytes(view.count - 1))
            label = first == last ? first : labeller.index(tree: table, key: nil)
        } else {
            label = labeller.index(tree: table, key: nil)
        }
        pageUses?[Int(page)] = .init(kind: view.isLeaf ? .leaf : .branch, table: label, fill: fill)
    }

    var fillFactor: Double {
        let pages = branchPages + leafPages
        return pages == 0 ? 0 : Double(used) / Double(pages * PageLayout.capacity)
    }

    /// Walks the catalog and every table in it.
    mutating func walkAll(catalogRoot: PageNumber) -> (catalogPages: Int, tables: [TableStatistics]) {
        var tables: [TableStatistics] = []
        var catalog: [(String, CatalogEntry)] = []
        startTree(nil)
        if catalogRoot != 0 {
            walk(catalogRoot, lower: nil, upper: nil, depth: 1)
            // Read the entries through a page reader (pages were just validated).
            let reader = PageReader(pager: pager, mapping: mapping, limit: limit)
            var visited = Set<PageNumber>()
            collectCatalog(catalogRoot, reader: reader, into: &catalog, visited: &visited, depth: 0)
        }
        let catalogPages = branchPages + leafPages
        for (name, entry) in catalog {
            startTree(name)
            if entry.root != 0 { walk(entry.root, lower: nil, upper: nil, depth: 1) }
            if UInt64(entries) != entry.count { problem(nil, "catalog counts \(entry.count) entries, tree holds \(entries)") }
            tables.append(
                TableStatistics(
                    name: name, entries: entries, depth: leafDepth ?? 0, branchPages: branchPages,
                    leafPages: leafPages, overflowPages: overflowPages, fillFactor: fillFactor))
            report.tablesChecked += 1
        }
        table = nil
        return (catalogPages, tables)
    }

    /// Each page is read once (`visited`): links that loop back, already reported by `walk`,
    /// would otherwise make this ~2^48 visits within the depth bound.
    private mutating func collectCatalog(
        _ page: PageNumber, reader: PageReader, into out: inout [(String, CatalogEntry)],
        visited: inout Set<PageNumber>, depth: Int
    ) {
        guard depth <= PageReader.maxDepth, visited.insert(page).inserted, let view = try? reader.treePage(page) else { return }
        if view.isLeaf {
            for i in 0..<view.count {
                let name = String(decoding: view.keyBytes(i), as: UTF8.self)
                do {
                    out.append((name, try CatalogEntry.decode(try reader.value(view, i), page: page)))
                } catch {
                    problem(page, "catalog entry for '\(name)': \(error)")
                }
            }
        } else {
            for i in 0..<view.count { collectCatalog(view.child(i), reader: reader, into: &out, visited: &visited, depth: depth + 1) }
        }
    }
}

extension Database {
    /// Walks the whole file and reports every problem found (see Verify.swift for the list).
    /// Holds the writer lock while it runs; readers continue.
    /// - Parameter progress: called now and then (every 4096 pages) with the pages checked so
    ///   far and the pages of the file, on the calling thread.
    /// - Throws: `.closed`, `.nestedWriteTransaction`.
    public func verify(progress: (_ pagesChecked: Int, _ pageCount: Int) -> Void = { _, _ in }) throws -> VerificationReport {
        try withoutActuallyEscaping(progress) { try verify(reporting: $0) }
    }

    private func verify(reporting progress: @escaping (Int, Int) -> Void) throws -> VerificationReport {
        if writer.isHeldByCurrentThread { throw StoreError.nestedWriteTransaction }
        defer { closeIfRequested() } // close() from the progress callback
        writer.lock()
        defer { writer.unlock() }
        if snapshots.isClosed { throw StoreError.closed }
        // The free pages it checks are the writer's, whole once no checkpoint is in flight.
        do { try finishBackgroundCheckpoint(waiting: true) } catch { throw StoreError.needsReopen(cause: "\(error)") }
        try settlePages() // it reads the file itself
        let state = latest
        var walker = TreeWalker(pager: pager, mapping: writerMapping, limit: allocator.pageCount)
        let pageCount = Int(allocator.pageCount)
        walker.progress = { progress($0, pageCount) }
        defer { walker.progress = nil }
        _ = walker.walkAll(catalogRoot: state.catalogRoot)
        walker.table = nil
        do {
            try loadFreeListIfNeeded()
        } catch {
            // A damaged free list is a finding like any other; without it, which pages are free
            // is unknown, so there is no leak check.
            if case .corruptPage(let page, let reason)? = error as? StoreError {
                walker.problem(page, "free list: \(reason)")
            } else {
                walker.problem(meta.freeListHead, "free list: \(error)")
            }
            return walker.report
        }
        for p in allocator.allFree() {
            if p < 2 || p >= allocator.pageCount { walker.problem(p, "free page number out of range"); continue }
            if walker.marks[Int(p)] != 0 { walker.problem(p, "page is both in use and free (or free twice)"); continue }
            walker.marks[Int(p)] = 2
        }
        for p in allocator.checkpointChain {
            guard walker.mark(p, as: "free-list") else { continue }
            if let reason = pager.validateFresh(p, in: writerMapping, limit: allocator.pageCount) { walker.problem(p, reason) }
        }
        var leaked: [UInt64] = []
        for p in 2..<Int(allocator.pageCount) where walker.marks[p] == 0 { leaked.append(UInt64(p)) }
        if !leaked.isEmpty {
            let shown = leaked.prefix(20).map(String.init).joined(separator: ", ")
            walker.problem(leaked[0], "\(leaked.count) page(s) neither used nor free: \(shown)\(leaked.count > 20 ? ", ..." : "")")
        }
        return walker.report
    }

    /// Page counts, tree shapes and sizes. The trees are walked in a read snapshot, so writers
    /// are held up only for the moment it takes to copy the counters.
    public func statistics() throws -> DatabaseStatistics {
        if writer.isHeldByCurrentThread { throw StoreError.nestedWriteTransaction }
        writer.lock()
        let closed = snapshots.isClosed
        do {
            if !closed { try loadFreeListIfNeeded() }
        } catch {
            writer.unlock()
            throw error
        }
        let counters = (
            pageCount: allocator.pageCount, logBytes: log.logBytes,
            freePages: allocator.freeCount + allocator.checkpointChain.count
                + (checkpointInFlight.map { $0.frozenBefore.count + $0.chain.count } ?? 0),
            checkpointSequence: meta.checkpointSequence
        )
        writer.unlock()
        if closed { throw StoreError.closed }
        return try read { tx in
            var walker = TreeWalker(pager: pager, mapping: tx.snapshot.mapping, limit: tx.snapshot.pageCount, freshChecks: false)
            let (catalogPages, tables) = walker.walkAll(catalogRoot: tx.snapshot.catalogRoot)
            return DatabaseStatistics(
                pageSize: PageLayout.size, pageCount: counters.pageCount,
                fileBytes: (try? dataFile.size()) ?? 0, logBytes: counters.logBytes,
                freePages: counters.freePages, lastTransactionId: tx.snapshot.txid,
                checkpointSequence: counters.checkpointSequence,
                catalogPages: catalogPages, tables: tables,
                logWrites: log.file.directWritesRefused
                    ? .bufferedAfterDirectRefused
                    : log.file.usesDirectWrites ? .direct : .buffered,
                recovery: recoveryReport)
        }
    }
}
