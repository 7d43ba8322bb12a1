// B+tree changes inside a write transaction: insert (with splits), remove (with merges), on dirty
// pages edited in place (DirtyPage.swift).
//
// A change first copies the path from the root to the leaf (touch), then edits the leaf. Pages
// never exceed one page: an insert that does not fit gathers the leaf's cells plus the new one
// and lays them out again: evenly over the leaf and its right sibling when the two fill at most
// 15/8 of a page, else over the leaf, a new page and the sibling (a two-to-three split), so
// random-order inserts leave pages about 4/5 full rather than 1/2 to 2/3; or, with no such
// sibling, over the leaf and a new page. Each new page's separator goes into the parent, which
// may split in turn. Keys arriving in
// ascending order at the right edge of the tree ("appending") leave the left page full, so
// in-order loads pack pages densely. A remove that leaves a page under 1/4 full merges it with
// a sibling when both fit one page; an emptied page is cut out of its parent; a root branch
// with one child is replaced by that child.

/// One branch on the path of a change: the dirty page and the child index taken in it.
///
/// Unowned(unsafe): the transaction holds every dirty page until it ends (in `dirty`, or in
/// `retired` once given up), and a path lives for one change only. A strong reference cost a
/// retain and a release per level and per copy of the path.
struct PathStep {
    unowned(unsafe) let page: DirtyPage
    let index: Int
}

/// A leaf's right sibling under the same parent (`rightSiblingLeaf`).
struct RightSibling {
    unowned(unsafe) let parent: DirtyPage
    /// The leaf's index in `parent`; the sibling is at `index + 1`.
    let index: Int
    let number: PageNumber
    /// The sibling as it is now: this transaction's copy if it has one, else the mapped page.
    let view: PageView
}

extension WriteTransaction {
    typealias Path = [PathStep]

    /// The transaction's path buffer, emptied, for one change (hand it back with `endChange`):
    /// no allocation per put.
    private func beginChange() -> Path {
        var path: Path = []
        swap(&path, &pathBuffer)
        path.removeAll(keepingCapacity: true)
        return path
    }

    private func endChange(_ path: Path) { pathBuffer = path }

    /// Touches the path from `root` to the leaf that holds (or would hold) `key`; returns the
    /// leaf, with the branches above it and the child index taken in each in `path`.
    private func descendForChange(_ key: [UInt8], root: inout PageNumber, path: inout Path) throws -> DirtyPage {
        var page = try touch(root)
        root = page.number
        while !page.isLeaf {
            guard path.count < PageReader.maxDepth else {
                throw StoreError.corruptPage(page: root, reason: "tree deeper than \(PageReader.maxDepth) levels")
            }
            let i = key.withUnsafeBytes { page.view.childIndex(for: $0) }
            let child = try touchChild(of: page, i)
            path.append(PathStep(page: page, index: i))
            page = child
        }
        return page
    }

    /// Touches child `i` of a dirty branch and points the branch at the copy.
    private func touchChild(of parent: DirtyPage, _ i: Int) throws -> DirtyPage {
        let old = parent.view.child(i)
        let child = try touch(old)
        if child.number != old { parent.setChild(i, child.number) }
        return child
    }

    /// Inserts or replaces; returns true when the key is new.
    func insert(_ key: [UInt8], _ value: LeafValue, into root: inout PageNumber) throws -> Bool {
        if root == 0 { root = try newPage(kind: .leaf).number }
        var path = beginChange()
        defer { endChange(path) }
        let leaf = try descendForChange(key, root: &root, path: &path)
        let (i, exact) = key.withUnsafeBytes { leaf.view.lowerBound($0) }
        if exact {
            if leaf.overwriteValue(at: i, with: value) { return false }
            let old = leaf.view.value(i)
            if old.overflow { try releaseOverflow(first: leaf.view.overflowStart(i), length: old.length) }
            leaf.remove(at: i)
        }
        if leaf.insertLeafCell(at: i, key: key, value: value) { return !exact }

        let appending = !exact && i == leaf.count && path.allSatisfy { $0.index == $0.page.count - 1 }
        var cells: [CellSource] = []
        cells.reserveCapacity(leaf.count + 1)
        leaf.appendCells(0..<i, to: &cells)
        cells.append(.leaf(key: key, value: value))
        leaf.appendCells(i..<leaf.count, to: &cells)
        if !appending, let sibling = try rightSiblingLeaf(path) {
            if try shiftIntoRightSibling(leaf, cells, sibling, path: path, root: &root) { return !exact }
            if try splitWithRightSibling(leaf, cells, sibling, path: path, root: &root) { return !exact }
        }
        try split(leaf, cells, appending: appending, path: path, level: path.count, root: &root)
        return !exact
    }

    /// Where to cut `cells` in two: the left part gets half the bytes, or (appending) all but
    /// the last cell. Both parts fit a page because no cell exceeds `PageLayout.maxCellSize`.
    private func splitPoint(_ cells: [CellSource], appending: Bool) -> Int {
        let n = cells.count
        var m: Int
        if appending {
            m = n - 1
        } else {
            let total = cells.reduce(0) { $0 + $1.size }
            var acc = 0
            m = 0
            while m < n - 1 {
                acc += cells[m].size
                m += 1
                if acc >= total / 2 { break }
            }
        }
        return min(max(m, 1), n - 1)
    }

    /// Lays `cells` (the contents of `page`, one page too many) out over `page` and a new right
    /// sibling, then inserts the separator into the parent at `path[level - 1]`.
    private func split(
        _ page: DirtyPage, _ cells: [CellSource], appending: Bool, path: Path, level: Int,
        root: inout PageNumber
    ) throws {
        let m = splitPoint(cells, appending: appending)
        let right = try newPage(kind: page.isLeaf ? .leaf : .branch)
        // The separator is read before any page is laid out again: cells point into `page`.
        let separator: [UInt8]
        if page.isLeaf {
            separator = Self.shortestSeparator(after: cells[m - 1].key, upTo: cells[m].key)
            try right.lay(cells[m...])
        } else {
            // A branch's first cell has no key: the key of cell m moves up as the separator.
            separator = cells[m].key
            var rightCells: [CellSource] = [.branch(key: [], child: cells[m].child)]
            rightCells.append(contentsOf: cells[(m + 1)...])
            try right.lay(rightCells[...])
        }
        try page.lay(cells[..<m])
        try insertSeparator(
            separator, child: right.number, left: page.number, appending: appending,
            path: path, level: level, root: &root)
    }

    /// Inserts (separator, child) after the child taken at `path[level - 1]`; at level 0 a new
    /// root gets `left` and `child`.
    private func insertSeparator(
        _ separator: [UInt8], child: PageNumber, left: PageNumber, appending: Bool,
        path: Path, level: Int, root: inout PageNumber
    ) throws {
        if level == 0 {
            let top = try newPage(kind: .branch)
            _ = top.insertBranchCell(at: 0, key: [], child: left)
            _ = top.insertBranchCell(at: 1, key: separator, child: child)
            root = top.number
            return
        }
        let parent = path[level - 1].page
        let index = path[level - 1].index
        if parent.insertBranchCell(at: index + 1, key: separator, child: child) { return }
        var cells: [CellSource] = []
        cells.reserveCapacity(parent.count + 1)
        parent.appendCells(0..<(index + 1), to: &cells)
        cells.append(.branch(key: separator, child: child))
        parent.appendCells((index + 1)..<parent.count, to: &cells)
        try split(parent, cells, appending: appending, path: path, level: level - 1, root: &root)
    }

    /// The right sibling of the leaf `path` leads to, under the same parent, if it is a leaf: the
    /// parent, the leaf's index in it, and the sibling's page as it is (read, not copied).
    /// - Throws: `.corruptPage` when the sibling is the leaf itself: a free list that named a
    ///   live page handed it out as the leaf's copy, and laying the "sibling" out would overwrite
    ///   the cells the leaf is laid out from.
    private func rightSiblingLeaf(_ path: Path) throws -> RightSibling? {
        guard let last = path.last, last.index + 1 < last.page.count else { return nil }
        let number = last.page.view.child(last.index + 1)
        guard number != last.page.view.child(last.index) else {
            throw StoreError.corruptPage(page: number, reason: "a page is its own right sibling")
        }
        let view = try treePage(number)
        guard view.isLeaf else { return nil }
        return RightSibling(parent: last.page, index: last.index, number: number, view: view)
    }

    /// Moves the tail of `cells` (an over-full leaf's contents) into the leaf's right sibling,
    /// so that each holds about half of their bytes, if together they fill at most 15/8 of a
    /// page, and updates the separator. Returns false (changing nothing) when the sibling has
    /// no room. (Moving only what overflowed, as before, left the leaf full:
    /// the next insert into it moved a cell again. Even halves made a random-order load 7%
    /// faster; `splitWithRightSibling` takes the pairs this refuses.)
    private func shiftIntoRightSibling(
        _ leaf: DirtyPage, _ cells: [CellSource], _ right: RightSibling, path: Path,
        root: inout PageNumber
    ) throws -> Bool {
        let (parent, index) = (right.parent, right.index)
        let total = cells.reduce(0) { $0 + $1.size }
        // Size the sibling from its page first: no copy-on-write if it is too full.
        let siblingUsed = dirty[right.number]?.used ?? DirtyPage.usedBytes(right.view)
        let combined = total + siblingUsed
        guard combined <= PageLayout.capacity * 15 / 8 else { return false }
        var n = 0
        var bytes = 0
        while n < cells.count - 1 {
            let next = cells[cells.count - n - 1].size
            if total - bytes <= PageLayout.capacity && total - bytes - next < combined / 2 { break }
            n += 1
            bytes += next
        }
        guard n > 0, siblingUsed + bytes <= PageLayout.capacity else { return false }
        let sibling = try touchChild(of: parent, index + 1)
        let keep = cells.count - n
        let separator = Self.shortestSeparator(after: cells[keep - 1].key, upTo: cells[keep].key)
        var moved = Array(cells[keep...])
        sibling.appendCells(0..<sibling.count, to: &moved)
        try sibling.lay(moved[...])
        try leaf.lay(cells[..<keep])
        parent.remove(at: index + 1) // index + 1 >= 1: not the keyless first cell
        try insertSeparator(
            separator, child: sibling.number, left: leaf.number, appending: false,
            path: path, level: path.count, root: &root)
        return true
    }

    /// When an over-full leaf's right sibling is nearly full too: lays the cells of both out
    /// over three pages (the leaf, a new page, the sibling), about two thirds full each, where
    /// splitting the leaf alone would leave two half-full pages beside a full one (a B*-tree's
    /// two-to-three split). Returns false (changing nothing) when no cut in three gives parts
    /// that fit a page (cells near the largest size): the leaf then splits alone.
    private func splitWithRightSibling(
        _ leaf: DirtyPage, _ cells: [CellSource], _ right: RightSibling, path: Path,
        root: inout PageNumber
    ) throws -> Bool {
        let (parent, index) = (right.parent, right.index)
        // The sibling's cells from the page as it is (mapped pages do not change during a
        // transaction): it is copied only once the cut is known to work.
        var all = cells
        all.reserveCapacity(cells.count + right.view.count)
        DirtyPage.appendCells(of: right.view, 0..<right.view.count, to: &all)
        guard all.count >= 3 else { return false }
        // Cut at a third and two thirds of the bytes (no part empty). With cells near
        // `PageLayout.maxCellSize` a part can still exceed a page: then the leaf splits alone.
        let total = all.reduce(0) { $0 + $1.size }
        var cuts: [Int] = []
        var acc = 0
        for (k, cell) in all.enumerated() where cuts.count < 2 {
            if acc >= total * (cuts.count + 1) / 3, k > (cuts.last ?? 0) { cuts.append(k) }
            acc += cell.size
        }
        guard cuts.count == 2 else { return false }
        let (a, b) = (cuts[0], cuts[1])
        let parts = [all[..<a], all[a..<b], all[b...]].map { $0.reduce(0) { $0 + $1.size } }
        guard parts.allSatisfy({ $0 <= PageLayout.capacity }) else { return false }
        let sibling = try touchChild(of: parent, index + 1)
        // Separators first, pages laid out after (cells point into the leaf and the sibling);
        // the middle page, which may point into both, before either is laid out again.
        let first = Self.shortestSeparator(after: all[a - 1].key, upTo: all[a].key)
        let second = Self.shortestSeparator(after: all[b - 1].key, upTo: all[b].key)
        let middle = try newPage(kind: .leaf)
        try middle.lay(all[a..<b])
        try sibling.lay(all[b...])
        try leaf.lay(all[..<a])
        // The sibling's separator changes: take its cell out and put it back with the new key
        // (which may split the parent), then find the leaf's parent again for the middle page.
        parent.remove(at: index + 1) // index + 1 >= 1: not the keyless first cell
        try insertSeparator(
            second, child: sibling.number, left: leaf.number, appending: false,
            path: path, level: path.count, root: &root)
        var again = beginChange()
        defer { endChange(again) }
        guard try descendForChange(first, root: &root, path: &again) === leaf else {
            throw StoreError.corruptPage(page: leaf.number, reason: "internal error: a split leaf is not where its keys lead")
        }
        try insertSeparator(
            first, child: middle.number, left: leaf.number, appending: false,
            path: again, level: again.count, root: &root)
        return true
    }

    /// Removes `key`; returns whether it was there.
    func remove(_ key: [UInt8], from root: inout PageNumber) throws -> Bool {
        guard root != 0 else { return false }
        var path = beginChange()
        defer { endChange(path) }
        let leaf = try descendForChange(key, root: &root, path: &path)
        let (i, exact) = key.withUnsafeBytes { leaf.view.lowerBound($0) }
        guard exact else { return false }
        let old = leaf.view.value(i)
        if old.overflow { try releaseOverflow(first: leaf.view.overflowStart(i), length: old.length) }
        leaf.remove(at: i)

        var current = leaf
        var level = path.count
        while level > 0 {
            let parent = path[level - 1].page
            let index = path[level - 1].index
            if current.count == 0 {
                // An empty page is cut out of its parent rather than merged (a parent left with
                // one child may not be able to merge, and must not keep an empty leaf).
                release(current.number)
                parent.removeBranchCell(at: index)
                current = parent
                level -= 1
                continue
            }
            if !current.isUnderfull { break }
            if parent.count >= 2, try !merge(in: parent, at: index > 0 ? index - 1 : index) { break }
            current = parent
            level -= 1
        }
        // Shorten the tree while the root is a branch with one child.
        while root != 0 {
            let view = try treePage(root)
            if view.isLeaf {
                if view.count == 0 {
                    release(root)
                    root = 0
                }
                break
            }
            if view.count > 1 { break }
            let only = view.count == 1 ? view.child(0) : 0
            release(root)
            root = only
        }
        return true
    }

    /// Merges children `left` and `left + 1` of `parent` into the left one when their cells fit
    /// one page; returns false (changing nothing) otherwise.
    private func merge(in parent: DirtyPage, at left: Int) throws -> Bool {
        let leftNumber = parent.view.child(left)
        let rightNumber = parent.view.child(left + 1)
        let leftView = try treePage(leftNumber)
        let rightView = try treePage(rightNumber)
        guard leftView.isLeaf == rightView.isLeaf else {
            throw StoreError.corruptPage(page: rightNumber, reason: "siblings of different kinds")
        }
        let separator = parent.view.keyBytes(left + 1)
        var combined =
            (dirty[leftNumber]?.used ?? DirtyPage.usedBytes(leftView))
            + (dirty[rightNumber]?.used ?? DirtyPage.usedBytes(rightView))
        if !leftView.isLeaf { combined += separator.count } // the right page's first key
        guard combined <= PageLayout.capacity else { return false }
        let page = try touchChild(of: parent, left)
        // The right page's cells are read where they are (its own page, or the map): it is
        // given up, not changed.
        var cells: [CellSource] = []
        cells.reserveCapacity(page.count + rightView.count)
        page.appendCells(0..<page.count, to: &cells)
        if rightView.isLeaf {
            DirtyPage.appendCells(of: rightView, 0..<rightView.count, to: &cells)
        } else {
            cells.append(.branch(key: separator, child: rightView.child(0)))
            DirtyPage.appendCells(of: rightView, 1..<rightView.count, to: &cells)
        }
        try page.lay(cells[...])
        release(rightNumber)
        parent.removeBranchCell(at: left + 1)
        return true
    }

    /// The shortest prefix of `high` that is still greater than `low` (low < high).
    static func shortestSeparator(after low: [UInt8], upTo high: [UInt8]) -> [UInt8] {
        var i = 0
        while i < low.count && i < high.count && low[i] == high[i] { i += 1 }
        return i < high.count ? Array(high[0...i]) : high
    }
}
