// A B+tree node being changed by a write transaction. Pages are immutable; a write transaction
// decodes each page it must change into a `Node` ("materializes" it), edits the node in memory,
// and at commit writes every node to a freshly allocated page (copy-on-write), bottom-up.
//
// Nodes are kept at most one page in size after every operation (an insert that overfills one
// splits it at once, up the path), so commit never has to split.

/// A branch's reference to a child: an unchanged page, or a node this transaction changed.
enum Child {
    case page(PageNumber)
    case node(Node)
}

/// A leaf value: inline bytes, or the first page and length of an overflow chain.
enum LeafValue {
    case inline([UInt8])
    case overflow(PageNumber, Int)

    var length: Int {
        switch self {
        case .inline(let b): return b.count
        case .overflow(_, let n): return n
        }
    }

    var inlineLength: Int? {
        if case .inline(let b) = self { return b.count }
        return nil
    }
}

// Hot stored properties below are `@exclusivity(unchecked)`: they are touched only by the one
// writer thread, and the dynamic exclusivity checks cost ~12% of a commit (perf). The same
// applies to the write transaction's, the database's writer-only and the cursor's properties.
final class Node {
    let isLeaf: Bool
    @exclusivity(unchecked) var keys: [[UInt8]]
    @exclusivity(unchecked) var values: [LeafValue]   // leaves only
    @exclusivity(unchecked) var children: [Child]     // branches only
    /// Bytes the node occupies in a page beyond the header: cell pointers plus cells.
    @exclusivity(unchecked) private(set) var size: Int

    init(leafKeys: [[UInt8]] = [], values: [LeafValue] = []) {
        isLeaf = true
        keys = leafKeys
        self.values = values
        children = []
        size = 0
        recomputeSize()
    }

    init(branchKeys: [[UInt8]], children: [Child]) {
        isLeaf = false
        keys = branchKeys
        values = []
        self.children = children
        size = 0
        recomputeSize()
    }

    /// Decodes a verified page.
    init(page: PageView) {
        let n = page.count
        isLeaf = page.isLeaf
        keys = []
        keys.reserveCapacity(n)
        values = []
        children = []
        size = 0
        if isLeaf {
            values.reserveCapacity(n)
            for i in 0..<n {
                keys.append(page.keyBytes(i))
                let v = page.value(i)
                if v.overflow {
                    values.append(.overflow(page.overflowStart(i), v.length))
                } else {
                    values.append(.inline([UInt8](UnsafeRawBufferPointer(start: v.pointer, count: v.length))))
                }
            }
        } else {
            children.reserveCapacity(n)
            for i in 0..<n {
                keys.append(i == 0 ? [] : page.keyBytes(i))
                children.append(.page(page.child(i)))
            }
        }
        recomputeSize()
    }

    var count: Int { keys.count }

    func cellSize(_ i: Int) -> Int {
        isLeaf ? PageLayout.leafCellSize(keyLength: keys[i].count, inlineValueLength: values[i].inlineLength)
               : PageLayout.branchCellSize(keyLength: keys[i].count)
    }

    func recomputeSize() {
        var s = 0
        for i in 0..<keys.count { s += cellSize(i) }
        size = s
    }

    var isOverfull: Bool { size > PageLayout.capacity }
    var isUnderfull: Bool { size < PageLayout.capacity / 4 || (!isLeaf && keys.count < 2) }

    /// First index with key >= `key`, and whether it is equal.
    func lowerBound(_ key: [UInt8]) -> (index: Int, exact: Bool) {
        var lo = 0
        var hi = keys.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let c = compareBytes(keys[mid], key)
            if c < 0 { lo = mid + 1 } else if c > 0 { hi = mid } else { return (mid, true) }
        }
        return (lo, false)
    }

    /// Branch: the child to descend into for `key`.
    func childIndex(for key: [UInt8]) -> Int {
        var lo = 1
        var hi = keys.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if compareBytes(keys[mid], key) <= 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo - 1
    }

    // MARK: - Edits (each keeps `size` exact)

    func insertLeaf(_ key: [UInt8], _ value: LeafValue, at i: Int) {
        keys.insert(key, at: i)
        values.insert(value, at: i)
        size += cellSize(i)
    }

    func replaceLeafValue(at i: Int, with value: LeafValue) {
        size -= cellSize(i)
        values[i] = value
        size += cellSize(i)
    }

    func removeLeaf(at i: Int) {
        size -= cellSize(i)
        keys.remove(at: i)
        values.remove(at: i)
    }

    func insertChild(_ child: Child, separator: [UInt8], at i: Int) {
        keys.insert(separator, at: i)
        children.insert(child, at: i)
        size += cellSize(i)
    }

    func removeChild(at i: Int) {
        size -= cellSize(i)
        keys.remove(at: i)
        children.remove(at: i)
        if !keys.isEmpty && !keys[0].isEmpty {
            size -= cellSize(0)
            keys[0] = []
            size += cellSize(0)
        }
    }

    /// Splits an over-full node in two; `self` keeps the left part. Returns the new right node
    /// and the separator to insert in the parent. `appending` (keys arriving in ascending order
    /// at the right edge) leaves the left node full, so in-order loads pack pages densely.
    func split(appending: Bool) -> (right: Node, separator: [UInt8]) {
        let n = keys.count
        var m: Int
        if appending {
            m = n - 1
        } else {
            // First index where the left part reaches half the bytes.
            var acc = 0
            m = 0
            while m < n - 1 {
                acc += cellSize(m)
                m += 1
                if acc >= size / 2 { break }
            }
        }
        m = min(max(m, 1), n - 1)
        if isLeaf {
            let right = Node(leafKeys: Array(keys[m...]), values: Array(values[m...]))
            keys.removeSubrange(m...)
            values.removeSubrange(m...)
            recomputeSize()
            let separator = Node.shortestSeparator(after: keys[keys.count - 1], upTo: right.keys[0])
            return (right, separator)
        } else {
            let separator = keys[m]
            var rightKeys = Array(keys[m...])
            rightKeys[0] = []
            let right = Node(branchKeys: rightKeys, children: Array(children[m...]))
            keys.removeSubrange(m...)
            children.removeSubrange(m...)
            recomputeSize()
            return (right, separator)
        }
    }

    /// Replaces branch key `i` (a separator), keeping `size` exact.
    func setSeparator(_ key: [UInt8], at i: Int) {
        size -= cellSize(i)
        keys[i] = key
        size += cellSize(i)
    }

    /// Leaf: moves the last `n` entries to the front of `right` (its right sibling).
    func shiftLast(_ n: Int, to right: Node) {
        let start = keys.count - n
        right.keys.insert(contentsOf: keys[start...], at: 0)
        right.values.insert(contentsOf: values[start...], at: 0)
        keys.removeSubrange(start...)
        values.removeSubrange(start...)
        recomputeSize()
        right.recomputeSize()
    }

    /// Leaf: how many entries from the end must leave for the node to fit a page, and their size.
    func overflowTail() -> (count: Int, bytes: Int) {
        var n = 0
        var bytes = 0
        while size - bytes > PageLayout.capacity && n < keys.count - 1 {
            n += 1
            bytes += cellSize(keys.count - n)
        }
        return (n, bytes)
    }

    /// The shortest prefix of `high` that is still greater than `low` (low < high).
    static func shortestSeparator(after low: [UInt8], upTo high: [UInt8]) -> [UInt8] {
        var i = 0
        while i < low.count && i < high.count && low[i] == high[i] { i += 1 }
        return i < high.count ? Array(high[0...i]) : high
    }

    /// Appends every entry of `right` (its right sibling); for branches `separator` is the
    /// parent's key between the two.
    func absorb(_ right: Node, separator: [UInt8]) {
        if isLeaf {
            keys.append(contentsOf: right.keys)
            values.append(contentsOf: right.values)
        } else {
            keys.append(separator)
            keys.append(contentsOf: right.keys.dropFirst())
            children.append(contentsOf: right.children)
        }
        recomputeSize()
    }

    /// The size `absorb` would produce.
    func sizeAfterAbsorbing(_ right: Node, separator: [UInt8]) -> Int {
        if isLeaf { return size + right.size }
        return size + right.size - PageLayout.branchCellSize(keyLength: 0) + PageLayout.branchCellSize(keyLength: separator.count)
    }

    /// Writes the node as a page image. Children must all be pages by now.
    func encode(pageNumber: PageNumber, txid: UInt64) -> [UInt8] {
        var b = PageBuilder(kind: isLeaf ? .leaf : .branch, pageNumber: pageNumber, txid: txid)
        b.setU16(keys.count, at: 6)
        var top = PageLayout.size
        for i in 0..<keys.count {
            let key = keys[i]
            if isLeaf {
                let v = values[i]
                let cellLength = PageLayout.leafCellHeader + key.count + (v.inlineLength ?? 8)
                top -= cellLength
                b.setU16(key.count, at: top)
                switch v {
                case .inline(let bytes):
                    b.setU32(UInt32(bytes.count), at: top + 2)
                    b.setBytes(key, at: top + 6)
                    b.setBytes(bytes, at: top + 6 + key.count)
                case .overflow(let first, let length):
                    b.setU32(UInt32(length) | PageLayout.overflowFlag, at: top + 2)
                    b.setBytes(key, at: top + 6)
                    b.setU64(first, at: top + 6 + key.count)
                }
            } else {
                guard case .page(let child) = children[i] else { continue }
                top -= PageLayout.branchCellHeader + key.count
                b.setU16(key.count, at: top)
                b.setU64(child, at: top + 2)
                b.setBytes(key, at: top + 10)
            }
            b.setU16(top, at: PageLayout.headerSize + 2 * i)
        }
        return b.finish()
    }
}
