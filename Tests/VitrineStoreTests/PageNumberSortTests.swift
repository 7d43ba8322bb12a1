import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// The radix sort of page numbers (PageNumberSort.swift) orders exactly as the standard library
/// does, both ways, at every size around its threshold and for numbers of every width; the
/// free list written at a checkpoint and the allocator's stack depend on it.
@Suite struct PageNumberSortTests {
    @Test(arguments: [0, 1, 2, 1023, 1024, 1025, 5000, 100_000])
    func sortsAsTheStandardLibraryDoes(count: Int) {
        var rng = SeededRandom(seed: envSeed(default: 5) &+ UInt64(count))
        // Narrow numbers (one pass), wide ones (several), and a few duplicates.
        // 64 bits: numbers at and above 2^63, as a hostile free list could hold (six passes).
        for bits in [8, 11, 12, 22, 23, 40, 63, 64] {
            let limit: UInt64 = bits == 64 ? UInt64.max : (1 << UInt64(bits)) - 1
            var pages = (0..<count).map { _ in UInt64.random(in: 0...limit, using: &rng) }
            if count > 10 { pages[count / 2] = pages[count / 3] }
            var up = pages, down = pages
            PageNumberSort.sort(&up)
            PageNumberSort.sort(&down, descending: true)
            #expect(up == pages.sorted(), "ascending, \(count) numbers of \(bits) bits")
            #expect(down == pages.sorted(by: >), "descending, \(count) numbers of \(bits) bits")
        }
    }

    @Test func removingTakesOutExactlyThoseListed() {
        var rng = SeededRandom(seed: envSeed(default: 6))
        // Duplicates on both sides: every copy of a removed page goes.
        var sorted = Array(Set((0..<5000).map { _ in UInt64.random(in: 0..<1_000_000, using: &rng) })).sorted()
        sorted = (sorted + sorted.prefix(300)).sorted()
        let removed = (0..<40).map { _ in sorted[Int.random(in: 0..<600, using: &rng)] } + [sorted[0], sorted[0], 1_000_001]
        let kept = PageNumberSort.removing(removed, from: sorted)
        #expect(kept == sorted.filter { !removed.contains($0) })
        #expect(PageNumberSort.removing([], from: sorted) == sorted)
    }
}
