// A hash map keyed by page number, for the writer's page sets (a transaction's dirty pages, the
// pages it allocated, the pages allocated since the last checkpoint).
//
// Why not Dictionary and Set: they hash every key with seeded SipHash, and a write touches
// these sets several times per tree level; in callgrind that hashing was ~9% of small relaxed
// commits and ~5% of a random-order load. Page numbers are small integers handed out by the
// allocator, so a multiplicative (Fibonacci) hash spreads them well.
//
// Open addressing with linear probing, at most half full; removal shifts the following entries
// of the cluster back (no tombstones), so lookups stay short however many removals happen. The
// key `empty` (UInt64.max) marks a free slot: page numbers stay far below it (the map's limit
// is 2^48 pages). Looking `empty` up finds nothing; inserting it is refused by a precondition
// only a bug could reach (only page numbers the allocator handed out are inserted).

struct PageNumberTable<Value> {
    private static var empty: PageNumber { .max }
    private var keys: [PageNumber]
    private var values: [Value?]
    private var shift: UInt64
    private(set) var count = 0

    /// An empty table with room for `capacity` entries before it grows.
    init(capacity: Int = 8) {
        var slots = 16
        while slots < 2 * capacity { slots *= 2 }
        keys = [PageNumber](repeating: Self.empty, count: slots)
        values = [Value?](repeating: nil, count: slots)
        shift = UInt64(64 - slots.trailingZeroBitCount)
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always) private func home(_ key: PageNumber) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// The slot holding `key`, or nil.
    @inline(__always) private func slot(of key: PageNumber) -> Int? {
        // A page number read from a damaged page may be anything: never mistake it for a slot.
        if key == Self.empty { return nil }
        let mask = keys.count - 1
        var i = home(key)
        while true {
            let k = keys[i]
            if k == key { return i }
            if k == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }

    subscript(key: PageNumber) -> Value? {
        @inline(__always) get {
            guard let i = slot(of: key) else { return nil }
            return values[i]
        }
        set {
            if let newValue { updateValue(newValue, forKey: key) } else { removeValue(forKey: key) }
        }
    }

    func contains(_ key: PageNumber) -> Bool { slot(of: key) != nil }

    /// Sets the value for `key`; returns whether the key is new.
    @discardableResult
    mutating func updateValue(_ value: Value, forKey key: PageNumber) -> Bool {
        precondition(key != Self.empty, "page number out of range")
        if 2 * (count + 1) > keys.count { grow() }
        let mask = keys.count - 1
        var i = home(key)
        while true {
            let k = keys[i]
            if k == key {
                values[i] = value
                return false
            }
            if k == Self.empty {
                keys[i] = key
                values[i] = value
                count += 1
                return true
            }
            i = (i + 1) & mask
        }
    }

    /// Removes `key`; returns its value, or nil if it was absent.
    @discardableResult
    mutating func removeValue(forKey key: PageNumber) -> Value? {
        guard var hole = slot(of: key) else { return nil }
        let removed = values[hole]
        let mask = keys.count - 1
        // Backward-shift deletion: an entry after the hole moves into it unless its home lies
        // cyclically in (hole, j], where it is still reachable without the hole.
        var j = hole
        while true {
            j = (j + 1) & mask
            let k = keys[j]
            if k == Self.empty { break }
            let h = home(k)
            let reachable = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j)
            if reachable { continue }
            keys[hole] = k
            values[hole] = values[j]
            hole = j
        }
        keys[hole] = Self.empty
        values[hole] = nil
        count -= 1
        return removed
    }

    /// Empties the table, keeping its slots.
    mutating func removeAll() {
        guard count > 0 else { return }
        for i in 0..<keys.count where keys[i] != Self.empty {
            keys[i] = Self.empty
            values[i] = nil
        }
        count = 0
    }

    /// Every value, in no particular order.
    func allValues() -> [Value] {
        var out: [Value] = []
        out.reserveCapacity(count)
        for i in 0..<keys.count where keys[i] != Self.empty {
            if let v = values[i] { out.append(v) }
        }
        return out
    }

    /// Every key, in no particular order.
    func allKeys() -> [PageNumber] {
        var out: [PageNumber] = []
        out.reserveCapacity(count)
        for k in keys where k != Self.empty { out.append(k) }
        return out
    }

    private mutating func grow() {
        var oldKeys: [PageNumber] = []
        var oldValues: [Value?] = []
        swap(&oldKeys, &keys)
        swap(&oldValues, &values)
        let slots = 2 * oldKeys.count
        keys = [PageNumber](repeating: Self.empty, count: slots)
        values = [Value?](repeating: nil, count: slots)
        shift = UInt64(64 - slots.trailingZeroBitCount)
        let mask = slots - 1
        for j in 0..<oldKeys.count where oldKeys[j] != Self.empty {
            // Moved, not copied: a copy retained each value here and released it again when
            // the old storage went (a dirty-page table grows to ~9,000 pages in a random-order
            // load's transaction: 2% of its samples).
            guard let v = oldValues[j].take() else {
                count -= 1
                continue
            }
            var i = home(oldKeys[j])
            while keys[i] != Self.empty { i = (i + 1) & mask }
            keys[i] = oldKeys[j]
            values[i] = consume v
        }
    }
}

/// A set of page numbers on the same table.
struct PageNumberSet {
    private var table: PageNumberTable<Void>

    init(capacity: Int = 8) { table = PageNumberTable(capacity: capacity) }

    var count: Int { table.count }
    var isEmpty: Bool { table.isEmpty }
    func contains(_ p: PageNumber) -> Bool { table.contains(p) }
    /// Returns whether `p` was not in the set.
    @discardableResult mutating func insert(_ p: PageNumber) -> Bool { table.updateValue((), forKey: p) }
    /// Returns whether `p` was in the set.
    @discardableResult mutating func remove(_ p: PageNumber) -> Bool { table.removeValue(forKey: p) != nil }
    mutating func removeAll() { table.removeAll() }
    /// Every member, in no particular order.
    func members() -> [PageNumber] { table.allKeys() }
}
