// pageMap(): what every page of the data file holds, in file order, for pictures of the file
// (`vitrine inspect --map`). Each page in [0, pageCount) is exactly one of:
//
//   meta         pages 0 and 1
//   catalog      a branch or leaf page of the catalog tree
//   branch/leaf  a page of a table's tree (with the table)
//   overflow     a page of a long value's chain (with the table)
//   free-list    a page of the last checkpoint's free-list chain (free once the next
//                checkpoint is durable)
//   free         free: reusable now, or once no snapshot can still reach it
//   frozen       free, but reachable from the last durable checkpoint, so it may not be
//                rewritten before the next checkpoint (PageAllocator.swift, rule 1)
//   unaccounted  none of the above: a leak, which `verify()` reports
//
// Pages of a table carry a label: by default the table's name; the caller may name them by a
// representative key instead (a leaf's first key, a branch's first separator, the key whose value
// an overflow page holds), e.g. the domain's record table, which is a key prefix.
//
// The walk is the one `verify()` and `statistics()` make (TreeWalker), under the writer lock,
// because which pages are free or frozen is the writer's state.

/// What each page of the data file holds, in file order (`Database.pageMap()`).
public struct PageMap: Sendable {
    /// What a page holds.
    public enum Kind: String, Sendable, CaseIterable {
        /// One of the two meta pages.
        case meta
        /// A page of the catalog tree (the tables' roots and counts).
        case catalog
        /// A B+tree branch page.
        case branch
        /// A B+tree leaf page.
        case leaf
        /// A page of a large value's overflow chain.
        case overflow
        /// A page of the free list written at the last checkpoint.
        case freeList = "free-list"
        /// A free page, reusable now.
        case free
        /// Free but still part of the last durable checkpoint: not reusable until the next one.
        case frozen
        /// Neither reachable nor free (a leak; `Database.verify()` reports it).
        case unaccounted
    }

    /// One page.
    public struct Page: Sendable, Equatable {
        /// What the page holds.
        public var kind: Kind
        /// The index in ``PageMap/tables`` of the label of a branch, leaf or overflow page; nil
        /// for every other kind.
        public var table: Int?
        /// How full the page is, 0...1: used bytes of a tree page over its capacity, value
        /// bytes of an overflow page, entries of a free-list page; 0 for free pages.
        public var fill: Double

        /// A page of `kind`, of table `table`, `fill` full.
        public init(kind: Kind, table: Int?, fill: Double) {
            self.kind = kind
            self.table = table
            self.fill = fill
        }
    }

    /// The labels of the tables' pages, sorted.
    public var tables: [String]
    /// Page `n` of the file is `pages[n]`.
    public var pages: [Page]
    /// The last committed transaction when the map was taken.
    public var lastTransactionId: UInt64
    /// The checkpoint the file's meta page holds.
    public var checkpointSequence: UInt64

    /// How many pages are of `kind`.
    public func count(_ kind: Kind) -> Int { pages.reduce(0) { $0 + ($1.kind == kind ? 1 : 0) } }
}

extension Database {
    /// Classifies every page of the data file (see PageMap.swift). Holds the writer lock while
    /// it walks the trees (writers wait; readers continue), like `verify()`.
    /// - Parameter label: names the pages of a table: called with the table's name and a
    ///   representative key of the page (nil for a branch with one child); by default the
    ///   table's name.
    /// - Throws: `.closed`, `.nestedWriteTransaction`; `.corruptPage` when the free list cannot
    ///   be read. Damaged tree pages are not thrown: their pages stay `unaccounted`.
    public func pageMap(label: (_ table: String, _ key: [UInt8]?) -> String = { table, _ in table }) throws -> PageMap {
        try withoutActuallyEscaping(label) { try pageMap(labeller: PageLabeller(label: $0)) }
    }

    private func pageMap(labeller: PageLabeller) throws -> PageMap {
        if writer.isHeldByCurrentThread { throw StoreError.nestedWriteTransaction }
        defer { closeIfRequested() } // close() from the label callback
        writer.lock()
        defer { writer.unlock() }
        if snapshots.isClosed { throw StoreError.closed }
        try loadFreeListIfNeeded()
        // Which pages are free or frozen is whole once no checkpoint is in flight.
        do { try finishBackgroundCheckpoint(waiting: true) } catch { throw StoreError.needsReopen(cause: "\(error)") }
        try settlePages() // it reads the file itself
        let limit = allocator.pageCount
        var walker = TreeWalker(pager: pager, mapping: writerMapping, limit: limit, freshChecks: false)
        var uses = [PageMap.Page](repeating: .init(kind: .unaccounted, table: nil, fill: 0), count: Int(limit))
        for p in 0..<min(2, uses.count) { uses[p] = .init(kind: .meta, table: nil, fill: 1) }
        walker.pageUses = uses
        walker.labeller = labeller
        uses = []
        _ = walker.walkAll(catalogRoot: latest.catalogRoot)
        uses = walker.pageUses ?? []
        walker.pageUses = nil
        // Out-of-range numbers are verify()'s findings; here they are only skipped.
        for p in allocator.allFree() where p >= 2 && p < limit { uses[Int(p)] = .init(kind: .free, table: nil, fill: 0) }
        for p in allocator.frozen where p >= 2 && p < limit { uses[Int(p)] = .init(kind: .frozen, table: nil, fill: 0) }
        for p in allocator.checkpointChain where p >= 2 && p < limit {
            let entries = (try? pager.page(p, in: writerMapping, limit: limit))?.count ?? 0
            uses[Int(p)] = .init(kind: .freeList, table: nil, fill: min(1, Double(entries) / Double(PageLayout.freeListEntries)))
        }
        // Labels in sorted order, not in the order the walk met them.
        let names = walker.labeller?.names ?? []
        let sorted = names.indices.sorted { names[$0] < names[$1] }
        var position = [Int](repeating: 0, count: names.count)
        for (i, old) in sorted.enumerated() { position[old] = i }
        for i in uses.indices { if let t = uses[i].table { uses[i].table = position[t] } }
        return PageMap(
            tables: sorted.map { names[$0] }, pages: uses, lastTransactionId: latest.txid,
            checkpointSequence: meta.checkpointSequence)
    }
}

/// Labels of pages as indexes into a list of names, for the walk (a class: the walker copies
/// are not wanted, one list is).
final class PageLabeller {
    let label: (String, [UInt8]?) -> String
    private(set) var names: [String] = []
    private var indexes: [String: Int] = [:]

    init(label: @escaping (String, [UInt8]?) -> String) { self.label = label }

    func index(tree: String?, key: [UInt8]?) -> Int {
        let name = label(tree ?? "", key)
        if let i = indexes[name] { return i }
        names.append(name)
        indexes[name] = names.count - 1
        return names.count - 1
    }
}
