// Reading trees through the map: the search path shared by read and write transactions.
// No allocation on the point-read path: keys are compared in place with memcmp.

/// Whatever hands out verified tree pages by number: the map (`PageReader`), or a write
/// transaction (its own dirty pages first, then the map).
protocol TreePages {
    func treePage(_ p: PageNumber) throws -> PageView
}

extension TreePages {
    /// Finds `key` in the tree rooted at `root`: the leaf and cell index, or nil.
    func find(_ key: UnsafeRawBufferPointer, root: PageNumber) throws -> (PageView, Int)? {
        if root == 0 { return nil }
        var p = try treePage(root)
        var depth = 0
        while !p.isLeaf {
            depth += 1
            if depth > PageReader.maxDepth {
                throw StoreError.corruptPage(page: root, reason: "tree deeper than \(PageReader.maxDepth) levels")
            }
            p = try treePage(p.child(p.childIndex(for: key)))
        }
        let (i, exact) = p.lowerBound(key)
        return exact ? (p, i) : nil
    }
}

/// What a transaction reads pages with: the pager, one map, and the page-count limit of its
/// snapshot (a page number at or beyond it is corruption, never a wild read).
///
/// Its references are unowned(unsafe): a reader is made for one transaction (or one walk) and
/// never outlives the database that owns the pager and the unwritten pages, while a strong
/// reference cost a retain and a release of each at every page read (`perf`: 3% of a relaxed
/// commit's thread, for a reader made at each step of a descent).
struct PageReader: TreePages {
    unowned(unsafe) let pager: Pager
    let mapping: Mapping
    let limit: UInt64
    /// The writer's: pages of commits not written yet, read in place of the file's
    /// (PageWriter.swift). Readers start only on written commits and have none.
    unowned(unsafe) var unwritten: UnwrittenPages? = nil

    /// Deepest tree we will descend; deeper means a cycle in a corrupt file.
    static let maxDepth = 48

    @inline(__always) func page(_ p: PageNumber) throws -> PageView {
        if let unwritten, let d = unwritten.page(p) { return d.view }
        return try pager.page(p, in: mapping, limit: limit)
    }

    /// Asks the CPU for page `p`'s cache lines ahead of a read (a hint: a page number beyond
    /// the snapshot is ignored, and nothing is verified or read).
    @inline(__always) func prefetchPage(_ p: PageNumber) {
        if p < limit { pager.prefetch(p, in: mapping) }
    }

    /// A page that must be a branch or a leaf (a tree page).
    @inline(__always) func treePage(_ p: PageNumber) throws -> PageView {
        let v = try page(p)
        let k = v.kindByte
        guard k == PageKind.leaf.rawValue || k == PageKind.branch.rawValue else {
            throw StoreError.corruptPage(page: p, reason: "expected a tree page, found kind \(k)")
        }
        return v
    }

    /// The value of cell `i` of leaf `leaf`, copied (reading overflow pages when needed).
    func value(_ leaf: PageView, _ i: Int) throws -> [UInt8] {
        let v = leaf.value(i)
        if !v.overflow { return [UInt8](UnsafeRawBufferPointer(start: v.pointer, count: v.length)) }
        return try readOverflow(first: leaf.overflowStart(i), length: v.length)
    }

    /// Lends the value of cell `i` of `leaf` to `body`: in place for an inline value, from a
    /// copy for one on overflow pages.
    func withValue<R>(_ leaf: PageView, _ i: Int, _ body: (RawSpan) throws -> R) throws -> R {
        let v = leaf.value(i)
        if v.overflow {
            let bytes = try readOverflow(first: leaf.overflowStart(i), length: v.length)
            return try bytes.withUnsafeBytes { try body($0.bytes) }
        }
        return try body(UnsafeRawBufferPointer(start: v.pointer, count: v.length).bytes)
    }

    /// Reads a value stored on an overflow chain.
    func readOverflow(first: PageNumber, length: Int) throws -> [UInt8] {
        try checkChainFits(first: first, length: length)
        // Uninitialized, not zeroed: every byte is copied from the chain, and a chain that
        // ends early throws (the array is dropped with what was copied). Zeroing first was
        // ~3% of a 16 KiB value's read (bench workload 14).
        return try [UInt8](unsafeUninitializedCapacity: length) { dst, initialized in
            var p = first
            for _ in 0..<PageLayout.overflowPageCount(valueLength: length) {
                let view = try page(p)
                guard view.kindByte == PageKind.overflow.rawValue else {
                    throw StoreError.corruptPage(page: p, reason: "expected an overflow page, found kind \(view.kindByte)")
                }
                let n = min(PageLayout.overflowPayload, length - initialized)
                if n > 0, let d = dst.baseAddress {
                    UnsafeMutableRawPointer(d + initialized).copyMemory(from: view.base + PageLayout.headerSize, byteCount: n)
                }
                initialized += n
                p = view.next
                if initialized < length && p == 0 {
                    throw StoreError.corruptPage(page: view.pageNumber, reason: "overflow chain ends early")
                }
            }
            // Never fails while every page copies min(payload, rest) over `overflowPageCount`
            // pages; it is what keeps an uninitialized tail from ever being returned.
            guard initialized == length else {
                throw StoreError.corruptPage(page: first, reason: "overflow chain holds \(initialized) of \(length) bytes")
            }
        }
    }

    /// A value longer than the file's pages could hold is refused before its buffer is
    /// allocated (a hostile length of 256 MiB on a small file costs nothing).
    private func checkChainFits(first: PageNumber, length: Int) throws {
        guard UInt64(PageLayout.overflowPageCount(valueLength: length)) <= limit else {
            throw StoreError.corruptPage(
                page: first, reason: "value of \(length) bytes needs more overflow pages than the database has (\(limit))")
        }
    }

    /// The pages of an overflow chain (to free them).
    func overflowPages(first: PageNumber, length: Int) throws -> [PageNumber] {
        try checkChainFits(first: first, length: length)
        var pages: [PageNumber] = []
        var p = first
        for _ in 0..<PageLayout.overflowPageCount(valueLength: length) {
            let view = try page(p)
            guard view.kindByte == PageKind.overflow.rawValue else {
                throw StoreError.corruptPage(page: p, reason: "expected an overflow page, found kind \(view.kindByte)")
            }
            pages.append(p)
            p = view.next
        }
        return pages
    }
}
