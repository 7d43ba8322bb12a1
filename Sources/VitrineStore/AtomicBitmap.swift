// A fixed-size bitmap that any thread may test and set, in anonymous memory the kernel backs
// lazily: a bitmap for 2^28 pages reserves 32 MiB of address space and uses a page of memory per
// 32,768 bits that were ever set. The pager keeps its verified pages in one, the read-ahead its
// windows. If the memory cannot be reserved, the bitmap holds nothing: every test says no and
// every insert fails, which costs speed only (pages verified again, no read-ahead).

import Synchronization

struct AtomicBitmap: @unchecked Sendable {
    private let words: UnsafeMutablePointer<Atomic<UInt64>>?
    /// How many bits it holds (a multiple of 64).
    let capacity: UInt64

    init(capacity bits: UInt64) {
        let wordCount = Int((bits + 63) / 64)
        capacity = UInt64(wordCount) * 64
        words = Syscalls.mapAnonymous(length: wordCount * 8)?.bindMemory(to: Atomic<UInt64>.self, capacity: wordCount)
    }

    /// Returns the memory (once, when nothing uses the bitmap any more).
    func deallocate() {
        if let words { Syscalls.unmap(UnsafeRawPointer(words), length: Int(capacity / 8)) }
    }

    @inline(__always) func contains(_ bit: UInt64) -> Bool {
        guard bit < capacity, let words else { return false }
        return words[Int(bit >> 6)].load(ordering: .relaxed) & (1 << (bit & 63)) != 0
    }

    /// Sets `bit`; says whether it was clear (false if it was set, out of range, or no memory).
    @discardableResult @inline(__always)
    func insert(_ bit: UInt64) -> Bool {
        guard bit < capacity, let words else { return false }
        let mask: UInt64 = 1 << (bit & 63)
        return words[Int(bit >> 6)].bitwiseOr(mask, ordering: .relaxed).oldValue & mask == 0
    }

    /// Clears `bit`; says whether it was set.
    @discardableResult @inline(__always)
    func remove(_ bit: UInt64) -> Bool {
        guard bit < capacity, let words else { return false }
        let mask: UInt64 = 1 << (bit & 63)
        return words[Int(bit >> 6)].bitwiseAnd(~mask, ordering: .relaxed).oldValue & mask != 0
    }
}
