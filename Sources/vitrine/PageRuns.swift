// The page map cut into cells for drawing: one cell per page when there are few enough pages,
// otherwise each cell a run of consecutive pages, described by what the run holds (shares of
// each kind-and-table) so that a cell of mixed pages still shows the mix.

import VitrineStore

/// What a page is, as far as a picture tells pages apart: its kind, and the table for pages
/// that belong to one.
struct PageCategory: Hashable, Comparable {
    var kind: PageMap.Kind
    var table: Int?

    static func < (a: PageCategory, b: PageCategory) -> Bool {
        let ak = PageMap.Kind.allCases.firstIndex(of: a.kind) ?? 0, bk = PageMap.Kind.allCases.firstIndex(of: b.kind) ?? 0
        return ak != bk ? ak < bk : (a.table ?? -1) < (b.table ?? -1)
    }
}

/// One cell: a run of `pages` consecutive pages starting at `first`.
struct PageRun {
    var first: Int
    var pages: Int
    /// Categories present, most pages first, with their page count and mean fill.
    var parts: [(category: PageCategory, pages: Int, fill: Double)]

    var dominant: (category: PageCategory, pages: Int, fill: Double) { parts[0] }
}

/// The page map in at most `maxCells` runs of equal length (the last may be shorter).
struct PageRuns {
    let pagesPerRun: Int
    let runs: [PageRun]

    init(_ map: PageMap, maxCells: Int) {
        let n = map.pages.count
        let per = max(1, (n + maxCells - 1) / max(1, maxCells))
        pagesPerRun = per
        var runs: [PageRun] = []
        runs.reserveCapacity((n + per - 1) / per)
        var start = 0
        while start < n {
            let end = min(n, start + per)
            var totals: [PageCategory: (pages: Int, fill: Double)] = [:]
            for page in map.pages[start..<end] {
                let c = PageCategory(kind: page.kind, table: page.table)
                let t = totals[c] ?? (0, 0)
                totals[c] = (t.pages + 1, t.fill + page.fill)
            }
            let parts = totals.map { (category: $0.key, pages: $0.value.pages, fill: $0.value.fill / Double($0.value.pages)) }
                .sorted { $0.pages != $1.pages ? $0.pages > $1.pages : $0.category < $1.category }
            runs.append(PageRun(first: start, pages: end - start, parts: parts))
            start = end
        }
        self.runs = runs
    }
}
