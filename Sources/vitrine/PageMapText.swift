// `vitrine inspect --text-map`: the page map for a terminal, one character per page or per run
// of pages (then the run's most common kind), 64 to a line, each line led by its first page:
//
//   #  meta        @  catalog      +  branch       ~  overflow
//   =  free-list   .  free         !  frozen       ?  unaccounted
//   a-z  a leaf of the table with that letter (in catalog order); upper case when the page (or
//        the run's leaves of that table) is at least 70% full, lower case when emptier.

import VitrineStore

struct PageMapText {
    static let columns = 64
    static let maxRows = 32

    let map: PageMap

    static let symbols: [PageMap.Kind: Character] = [
        .meta: "#", .catalog: "@", .branch: "+", .overflow: "~", .freeList: "=", .free: ".", .frozen: "!", .unaccounted: "?",
    ]

    var runs: PageRuns { PageRuns(map, maxCells: Self.columns * Self.maxRows) }

    /// The table's letter: a...z in catalog order, "&" beyond.
    static func letter(_ table: Int?) -> Character {
        guard let t = table, t < 26, let scalar = Unicode.Scalar(97 + t) else { return "&" }
        return Character(scalar)
    }

    static func character(_ part: (category: PageCategory, pages: Int, fill: Double)) -> Character {
        guard part.category.kind == .leaf else { return symbols[part.category.kind] ?? "?" }
        let letter = letter(part.category.table)
        return part.fill >= 0.7 ? Character(letter.uppercased()) : letter
    }

    /// The map's rows, each "first page" and its characters.
    func rows() -> (pagesPerCharacter: Int, rows: [(first: Int, text: String)]) {
        let runs = self.runs
        var rows: [(first: Int, text: String)] = []
        var start = 0
        while start < runs.runs.count {
            let slice = runs.runs[start..<min(runs.runs.count, start + Self.columns)]
            rows.append((slice.first?.first ?? 0, String(slice.map { Self.character($0.dominant) })))
            start += Self.columns
        }
        return (runs.pagesPerRun, rows)
    }

    /// The lines to print.
    func lines() -> [String] {
        let (per, rows) = rows()
        let n = map.pages.count
        var out = [
            per == 1
                ? "page map: \(n) pages, one character per page, in file order"
                : "page map: \(n) pages, one character per run of \(per) pages (the run's most common kind), in file order"
        ]
        let width = String(n).count
        for row in rows { out.append(String(repeating: " ", count: max(0, width - String(row.first).count)) + "\(row.first)  \(row.text)") }
        out.append("")
        out.append("# meta  @ catalog  + branch  ~ overflow  = free-list  . free  ! frozen until the next checkpoint  ? unaccounted")
        out.append("leaves by table (upper case: at least 70% full; lower case: emptier):")
        var line = " "
        for (t, name) in map.tables.enumerated() {
            let item = " \(Self.letter(t)) \(name)"
            if line.count + item.count > 100 { out.append(line); line = " " }
            line += item
        }
        if line != " " { out.append(line) }
        return out
    }
}
