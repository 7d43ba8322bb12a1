// Giving the file's free space back: pages move out of the file's tail into free pages nearer
// its start, and the tail is cut off.
//
// Why: copy-on-write leaves free pages wherever the last transactions' pages used to be. After a
// load of 1,000,000 products in random order, 13% of the file is the last transaction's old
// copies, scattered through it; SQLite, which updates in place, leaves none. A file never gives
// anything back by itself unless its free pages happen to sit at its end.
//
// Two parts:
//   - Every checkpoint cuts a free tail (PageAllocator rule 4): the run of reusable pages that
//     ends the file, when it is at least 1/64 of the file (`tailCutMinimum`), or any at all
//     when `shrink` asks. The meta page of that checkpoint names the shorter file; the file
//     itself is cut once the meta page is durable, and only when no registered reader can hold
//     a snapshot from before the cut (below), else at a later checkpoint.
//   - `shrink()` makes the tail free first: a transaction copies every tree page at or beyond
//     a boundary, and every overflow chain with a page there, into free pages below it (the
//     allocator hands out its lowest free pages first), then commits by checkpoint. Nothing
//     logical changes, so nothing is logged: the checkpoint makes the moved pages the new
//     base. Their old pages are then free once no snapshot sees them, and the next checkpoint
//     cuts them off.
//
// Crash safety: the cut happens after the meta page that no longer uses the tail is durable.
// Until then the previous meta page and everything it uses are intact (the moved pages went to
// pages it does not use), so a crash at any point opens one of the two. (After that, the older
// slot names a longer file; it is only ever read if the newer one is damaged, and then opening
// refuses it as `.truncatedFile` rather than reading past the end.)
//
// Readers: a cut page is one no snapshot reaches, but a reader's snapshot also says how many
// pages the file has, and the pager trusts pages below that count to be in the file. So the
// checkpoint publishes the shorter state first, and cuts only when every registered reader holds
// a txid newer than the cut's (`cutFileTailIfUnread`): every reader that starts later gets the
// shorter state (SnapshotRegistry checks that nothing was published between reading and
// registering), and a group-commit leader never republishes the longer copy of the same txid
// (`publish(onlyIfNewer:)`).

extension Database {
    /// How large a free tail an ordinary checkpoint cuts off: 1/64 of the file, at least 16
    /// pages. A smaller tail stays: a file that grows and shrinks by a few pages around a
    /// checkpoint would pay for extending the file again each time.
    func tailCutMinimum() -> Int { max(16, Int(clamping: allocator.pageCount / 64)) }

    /// Moves the pages at the end of the data file into free pages nearer its start and cuts
    /// the file after the last page in use, as far as free space allows. The database stays
    /// open for reads meanwhile; writers wait.
    ///
    /// A read transaction that started before the move keeps the pages it can reach: those
    /// are cut by the first checkpoint after it ends. The file itself is cut once every running
    /// reader started after the cut (at once when none runs), else by a later checkpoint.
    /// - Returns: the pages before and after.
    /// - Throws: `.nestedWriteTransaction` inside a write transaction; `.closed`; `.needsReopen`;
    ///   `.corruptPage` if a tree is damaged (nothing is changed then); `.io` (the database then
    ///   refuses writes until reopened).
    @discardableResult
    public func shrink() throws -> (pagesBefore: UInt64, pagesAfter: UInt64) {
        if writer.isHeldByCurrentThread || batch.isBatchThread { throw StoreError.nestedWriteTransaction }
        defer { closeIfRequested() }
        writer.lock()
        defer { writer.unlock() }
        try checkWritable()
        return try shrinkLocked()
    }

    /// `shrink` with the writer lock held.
    func shrinkLocked() throws -> (pagesBefore: UInt64, pagesAfter: UInt64) {
        try loadFreeListIfNeeded()
        try ensureMetaPageDurable()
        try finishBackgroundCheckpoint(waiting: true)
        try settlePages() // the move reads the file through the map
        let before = allocator.pageCount
        // Pages of the last checkpoint freed since become reusable only through another one.
        // (Pages both allocated and freed since it need none: after a bulk load, this leaves
        // the checkpoint to the move's commit, which syncs the load's pages and the moved ones
        // in one go.)
        if !allocator.frozen.isEmpty { try checkpointLocked() }
        // The transaction first: beginning one releases the pages no snapshot sees any more, and
        // may checkpoint (after a recovery), which can cut pages the boundary would otherwise
        // count.
        let tx = try beginWriteTransaction()
        defer { tx.recyclePages() }
        if let boundary = allocator.shrinkBoundary() {
            let end = allocator.pageCount
            // Lowest free pages first.
            allocator.reusable.sort(by: >)
            do {
                try tx.movePages(from: boundary)
            } catch {
                tx.close()
                tx.rollback()
                throw error
            }
            tx.close()
            // A move that took pages from the end of the file would make it longer, not
            // shorter: an overflow value that reaches past the boundary is rewritten whole, and
            // the boundary counted only its pages beyond it. Then nothing moves.
            if tx.freed.isEmpty || allocator.pageCount > end {
                tx.rollback()
            } else {
                tx.commitByCheckpoint()
                _ = try commit(tx)
            }
        } else {
            tx.close()
            tx.rollback()
        }
        // The checkpoint releases the moved pages' old copies (step 0) before it cuts.
        try checkpointLocked(tailCutMinimum: 1)
        // The previous checkpoint's free-list pages are reusable only now: when they ended the
        // file (a checkpoint with no reusable page puts its list there), they held the cut back.
        allocator.release(upTo: oldestSnapshot())
        if allocator.hasReusableTail { try checkpointLocked(tailCutMinimum: 1) }
        return (before, allocator.pageCount)
    }

    /// Cuts the data file to the allocator's page count when it is longer and no registered
    /// reader can hold a snapshot from before the page count dropped (writer lock held, after a
    /// checkpoint published its state). Left for a later checkpoint otherwise.
    ///
    /// Which readers are safe: one on a txid newer than the cut's started on a snapshot
    /// published after it, so its page count is at most the allocator's (only the cut lowers
    /// that). One on the cut's own txid may hold the longer copy of that txid, published before
    /// it. (A reader still registering now gets the shorter one: the registry makes it retry if
    /// anything was published since it read the snapshot.) So readers that never stop do not
    /// keep the file long: once a commit is published they move past the cut.
    func cutFileTailIfUnread() throws {
        guard fileTailMayBeCut else { return }
        if let oldest = snapshots.oldestReader(), oldest <= fileTailCutTxid { return }
        let pages = allocator.pageCount
        if try dataFile.size() > Int64(pages) * Int64(PageLayout.size) {
            try pager.truncate(toPages: pages)
        }
        fileTailMayBeCut = false
    }
}

extension PageAllocator {
    /// Where `shrink` should move pages from: the lowest page number such that the reusable
    /// pages below it can hold every page in use at or beyond it, with room to spare for the
    /// branches above moved pages (copied too); nil when nothing would move or be cut.
    func shrinkBoundary() -> PageNumber? {
        guard pageCount > 2, !reusable.isEmpty else { return nil }
        let free = reusable.sorted()
        // Pages in use at or beyond t (not reusable: in a tree, a free-list page, or free but
        // not yet reusable) against reusable pages below t. Rises with t: binary search.
        func fits(_ t: UInt64) -> Bool {
            var lo = 0
            var hi = free.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if free[mid] < t { lo = mid + 1 } else { hi = mid }
            }
            let below = lo
            let inUseFromT = Int(pageCount - t) - (free.count - below)
            // Branches: about one per 100-200 leaves (353 over 68,775 leaves for 1,000,000
            // products), most of them copied when many leaves move.
            let spare = max(4, Int(pageCount / 128))
            return below >= inUseFromT + spare || inUseFromT == 0
        }
        var lo: UInt64 = 2
        var hi = pageCount
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if fits(mid) { hi = mid } else { lo = mid + 1 }
        }
        return lo < pageCount ? lo : nil
    }
}

extension WriteTransaction {
    /// Copies every page of every tree (the catalog's and each table's) at or beyond `boundary`,
    /// and every overflow chain with a page there, to newly allocated pages; the trees point at
    /// the copies. Nothing logical changes.
    func movePages(from boundary: PageNumber) throws {
        // One set for every tree: a page reached twice (in one tree or two) is corruption, and
        // moving it twice would free it twice.
        var seen = PageNumberSet()
        // Leaves below the boundary need reading only for their overflow chains: skip them when
        // no page at or beyond it is an overflow page (the move of 1,000,000 products' tail: 40 -> 12-14 ms).
        let readEveryLeaf = try overflowPageInUse(from: boundary)
        for name in try tableNames() {
            guard let state = try table(name)?.state else { continue }
            let leafDepth = readEveryLeaf ? nil : try self.leafDepth(state.root)
            let root = try movePages(of: state.root, from: boundary, leafDepth, depth: 0, seen: &seen)
            if root != state.root {
                state.root = root
                state.dirty = true
                catalog.dirty = true
            }
        }
        // The catalog last: the entries of moved tables are rewritten at commit on its own copied
        // path (same size: in place).
        catalog.root = try movePages(of: catalog.root, from: boundary, nil, depth: 0, seen: &seen)
    }

    /// How many branches lie above the leaves of the tree at `root` (along its first children;
    /// in a damaged tree whose leaves are not all that deep, some pages are just not moved).
    private func leafDepth(_ root: PageNumber) throws -> Int {
        var depth = 0
        var page = root
        while page != 0 {
            let view = try treePage(page)
            if view.isLeaf { break }
            guard depth < PageReader.maxDepth, view.count > 0 else {
                throw StoreError.corruptPage(page: page, reason: "tree deeper than \(PageReader.maxDepth) levels")
            }
            depth += 1
            page = view.child(0)
        }
        return depth
    }

    /// Whether a page at or beyond `boundary` that is not free is an overflow page. (A page
    /// that does not read as a valid page is none.)
    private func overflowPageInUse(from boundary: PageNumber) throws -> Bool {
        var free = PageNumberSet()
        for p in database.allocator.reusable where p >= boundary { free.insert(p) }
        var p = boundary
        while p < database.allocator.pageCount {
            if !free.contains(p), let view = try? reader.page(p), view.kindByte == PageKind.overflow.rawValue { return true }
            p += 1
        }
        return false
    }

    /// Moves the subtree at `page` (see `movePages(from:)`); returns its new page number (the
    /// same when nothing in it moved). Leaves below the boundary at `skippedLeafDepth` are not
    /// read (nil: every leaf is).
    private func movePages(
        of page: PageNumber, from boundary: PageNumber, _ skippedLeafDepth: Int?, depth: Int, seen: inout PageNumberSet
    ) throws -> PageNumber {
        guard page != 0 else { return 0 }
        guard depth <= PageReader.maxDepth else {
            throw StoreError.corruptPage(page: page, reason: "tree deeper than \(PageReader.maxDepth) levels")
        }
        // The committed page: touching copies it and leaves it as it is. (Read before the page
        // number goes into `seen`: reading refuses a number beyond the file.)
        let view = try treePage(page)
        guard seen.insert(page) else { throw StoreError.corruptPage(page: page, reason: "tree page reached twice") }
        var copy = page >= boundary ? try touch(page) : nil
        if view.isLeaf {
            // Read from the page before anything is written: an overflow page written below
            // may land on this very page (a free list naming it), under its mapped view.
            let values = (0..<view.count).compactMap { i in
                view.value(i).overflow ? (i, view.overflowStart(i), view.value(i).length) : nil
            }
            for (i, first, length) in values {
                let chain = try reader.overflowPages(first: first, length: length)
                for p in chain where !seen.insert(p) {
                    throw StoreError.corruptPage(page: p, reason: "overflow page reached twice")
                }
                guard chain.contains(where: { $0 >= boundary }) else { continue }
                let value = try reader.readOverflow(first: first, length: length)
                for p in chain { release(p) }
                let moved = try copy ?? touch(page)
                copy = moved
                moved.setOverflowStart(i, try writeOverflow(value))
            }
        } else {
            // The children first, for the same reason: a chain rewritten below may land here.
            let children = (0..<view.count).map { view.child($0) }
            for (i, child) in children.enumerated() {
                if child < boundary && depth + 1 == skippedLeafDepth {
                    // Below the boundary, so a number the allocator could have handed out.
                    guard seen.insert(child) else { throw StoreError.corruptPage(page: child, reason: "tree page reached twice") }
                    continue
                }
                let moved = try movePages(of: child, from: boundary, skippedLeafDepth, depth: depth + 1, seen: &seen)
                if moved != child {
                    let branch = try copy ?? touch(page)
                    copy = branch
                    branch.setChild(i, moved)
                }
            }
        }
        return copy?.number ?? page
    }
}
