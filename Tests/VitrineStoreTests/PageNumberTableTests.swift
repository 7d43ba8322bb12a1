import Testing
@_spi(Testing) import VitrineTestSupport

@testable import VitrineStore

/// The writer's page-number hash table against Dictionary as a model: inserts, overwrites and
/// removals (whose backward shift must keep every other key reachable), growth, and clearing.
@Suite struct PageNumberTableTests {
    @Test func agreesWithDictionary() {
        var rng = SeededRandom(seed: 11)
        var table = PageNumberTable<Int>()
        var set = PageNumberSet()
        var model: [PageNumber: Int] = [:]
        for step in 0..<60_000 {
            // Few distinct keys in clusters (consecutive pages, like the allocator's), so that
            // probes collide and removals shift entries back.
            let key = PageNumber.random(in: 2..<3_000, using: &rng) &* (step % 3 == 0 ? 1 : 1 << 12)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                #expect(table.updateValue(step, forKey: key) == (model.updateValue(step, forKey: key) == nil))
                set.insert(key)
            case 5..<9:
                #expect(table.removeValue(forKey: key) == model.removeValue(forKey: key))
                set.remove(key)
            default:
                #expect(table[key] == model[key])
                #expect(set.contains(key) == (model[key] != nil))
            }
            if step % 20_000 == 19_999 {
                for (k, v) in model { #expect(table[k] == v) }
                #expect(table.count == model.count && set.count == model.count)
                #expect(table.allValues().sorted() == model.values.sorted())
            }
            if step == 45_000 {
                table.removeAll()
                set.removeAll()
                model.removeAll()
                #expect(table.isEmpty && set.isEmpty && table[key] == nil)
            }
        }
        // A page number read from a damaged page may be anything, the free-slot marker included.
        #expect(table[.max] == nil && !set.contains(.max) && table.removeValue(forKey: .max) == nil)
    }

    final class Page {}

    /// Growth moves the values instead of copying them: every value stays alive exactly as long
    /// as the table holds it (an extra release would free one early, a missing one leak it).
    @Test func growthKeepsEachValueAliveExactlyWhileHeld() {
        var weakPages: [Weak] = []
        var table: PageNumberTable<Page>? = PageNumberTable()
        for p in 0..<5_000 {
            let page = Page()
            weakPages.append(Weak(page))
            table?[PageNumber(p) * 7 + 2] = page
        }
        for p in stride(from: 0, to: 5_000, by: 3) { table?.removeValue(forKey: PageNumber(p) * 7 + 2) }
        #expect(table?.count == 5_000 - 1_667)
        for (p, w) in weakPages.enumerated() {
            let held = p % 3 != 0
            #expect((w.page != nil) == held, "page \(p)")
            if held { #expect(table?[PageNumber(p) * 7 + 2] === w.page) }
        }
        table = nil
        #expect(weakPages.allSatisfy { $0.page == nil })
    }

    struct Weak {
        weak var page: Page?
        init(_ page: Page) { self.page = page }
    }
}
