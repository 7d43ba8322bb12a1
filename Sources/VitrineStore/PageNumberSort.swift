// Sorting page numbers: the free list, ascending at every checkpoint (Checkpoint.swift,
// `writeFreeList`), and the allocator's stack of reusable pages, descending after a large release
// and at the first write (PageAllocator.swift).
//
// Why not the standard library's sort: beside a long reader no freed page can be reused, so the
// free list grows with every commit and each checkpoint sorted all of it again. In bench workload
// 12 (a relaxed checkout beside a reader holding one snapshot) the checkpoint's free list was
// 17.5% of the committing thread's samples, two thirds of it the generic merge sort and the
// hashing of a set of the chain's pages (Benchmarks/README.md, session 16). Page numbers are
// integers below the page count: a least-significant-digit radix sort orders them in a few
// linear passes (11-bit digits, as many as the largest number needs: two below 4 M pages).

enum PageNumberSort {
    /// Below this many the standard library's sort is as fast, and the buckets cost more.
    static let radixThreshold = 1024
    static let digitBits = 11

    /// Sorts `pages` ascending, or descending.
    static func sort(_ pages: inout [PageNumber], descending: Bool = false) {
        guard pages.count >= radixThreshold else {
            if descending { pages.sort(by: >) } else { pages.sort() }
            return
        }
        var largest: PageNumber = 0
        for p in pages where p > largest { largest = p }
        let bits = PageNumber.bitWidth - largest.leadingZeroBitCount
        let passes = max(1, (bits + digitBits - 1) / digitBits)
        let buckets = 1 << digitBits
        let mask = PageNumber(buckets - 1)
        var source = pages
        // `source` alone holds the storage, so the passes write it in place: while `pages`
        // shared it, the second pass's write copied the whole array (found by review).
        pages = []
        var target = [PageNumber](repeating: 0, count: source.count)
        var next = [Int](repeating: 0, count: buckets)
        for pass in 0..<passes {
            let shift = PageNumber(pass * digitBits)
            for d in 0..<buckets { next[d] = 0 }
            for p in source { next[Int((p >> shift) & mask)] += 1 }
            // Where each digit's run starts: digits in order, or in reverse for descending. A
            // pass keeps the order of equal digits (stable), which is what makes it LSD.
            var start = 0
            if descending {
                for d in stride(from: buckets - 1, through: 0, by: -1) {
                    let n = next[d]
                    next[d] = start
                    start += n
                }
            } else {
                for d in 0..<buckets {
                    let n = next[d]
                    next[d] = start
                    start += n
                }
            }
            for p in source {
                let d = Int((p >> shift) & mask)
                target[next[d]] = p
                next[d] += 1
            }
            swap(&source, &target)
        }
        pages = source
    }

    /// `sorted` (ascending) without the pages of `removed` (any order, few).
    static func removing(_ removed: [PageNumber], from sorted: [PageNumber]) -> [PageNumber] {
        guard !removed.isEmpty else { return sorted }
        let gone = removed.sorted()
        var kept: [PageNumber] = []
        kept.reserveCapacity(sorted.count)
        var k = 0
        for p in sorted {
            while k < gone.count && gone[k] < p { k += 1 }
            if k < gone.count && gone[k] == p { continue }
            kept.append(p)
        }
        return kept
    }
}
