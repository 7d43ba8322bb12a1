// `vitrine inspect --map FILE.svg`: the data file drawn as plain SVG, one cell per page in file
// order (left to right, top to bottom), or one cell per run of pages when pages outnumber the
// cells (the picture says so, and a cell of mixed pages is striped by what the run holds).
//
// Colours: a hue per table for its leaf and branch pages (leaves lighter the emptier they are,
// branches dark); overflow, catalog, meta, free-list, free and frozen pages each their own
// colour, frozen a strong red so copy-on-write copies waiting for a checkpoint stand out.
// The legend carries each kind's page count as `data-kind`/`data-pages` attributes too, which
// the tests compare with `inspect --json`.

import Foundation
import VitrineStore

struct PageMapPicture {
    let map: PageMap
    let title: String
    /// The lines `vitrine inspect` prints, shown under the map.
    let figures: [String]

    /// Cells at most: beyond, pages are aggregated into runs.
    static let maxColumns = 128
    static let maxRows = 224

    // MARK: Colours

    static let tableHues: [Double] = [210, 120, 275, 180, 325, 85, 240, 195, 300, 150, 225, 105]

    /// Table index -> hue, the largest tables getting the first (most distinct) hues.
    let hues: [Int: Double]
    /// Table indexes, most pages first (the legend's order).
    let tablesBySize: [Int]
    /// Cells per row and their size in pixels.
    let columns: Int
    let cell: Int
    /// The cells.
    let runs: PageRuns

    var pagesPerCell: Int { runs.pagesPerRun }
    var cells: Int { runs.runs.count }

    init(map: PageMap, title: String, figures: [String]) {
        self.map = map
        self.title = title
        self.figures = figures
        var pages = [Int](repeating: 0, count: map.tables.count)
        for p in map.pages { if let t = p.table, t < pages.count { pages[t] += 1 } }
        let order = pages.indices.sorted { pages[$0] != pages[$1] ? pages[$0] > pages[$1] : $0 < $1 }
        var hues: [Int: Double] = [:]
        for (rank, t) in order.enumerated() {
            let base = Self.tableHues[rank % Self.tableHues.count]
            hues[t] = (base + Double(rank / Self.tableHues.count) * 12).truncatingRemainder(dividingBy: 360)
        }
        self.hues = hues
        tablesBySize = order
        let n = map.pages.count
        (columns, cell) = n <= 1024 ? (32, 20) : n <= 8192 ? (64, 12) : (Self.maxColumns, 7)
        runs = PageRuns(map, maxCells: columns * Self.maxRows)
    }

    /// Fill rounded to tenths, so neighbouring cells of about the same fill share a colour.
    static func quantized(_ fill: Double) -> Double { (min(1, max(0, fill)) * 10).rounded() / 10 }

    func color(_ c: PageCategory, fill: Double) -> String {
        let f = Self.quantized(fill)
        let hue = c.table.flatMap { hues[$0] } ?? 210
        switch c.kind {
        case .meta: return "#5a5a5a"
        case .catalog: return hsl(35, 0.65, 0.75 - 0.35 * f)
        case .leaf: return hsl(hue, 0.65, 0.88 - 0.48 * f)
        case .branch: return hsl(hue, 0.75, 0.36 - 0.18 * f)
        case .overflow: return hsl(45, 0.30, 0.80 - 0.40 * f)
        case .freeList: return "#111111"
        case .free: return "#e4e4e4"
        case .frozen: return "#e31a1c"
        case .unaccounted: return "#ff00ff"
        }
    }

    // MARK: Drawing

    func svg() -> String {
        let n = map.pages.count
        let aggregated = runs.pagesPerRun > 1
        let gap = cell >= 12 ? 1 : 0
        let rows = max(1, (runs.runs.count + columns - 1) / columns)
        let margin = 24, axis = 72
        let mapX = margin + axis, mapY = 92
        let mapWidth = columns * cell, mapHeight = rows * cell
        let legendX = mapX + mapWidth + 36
        let legendWidth = 500

        var body = ""
        // Row labels: the first page of every few rows.
        let labelEvery = max(1, 16 / cell * 2)
        for row in stride(from: 0, to: rows, by: labelEvery) {
            let first = row * columns * runs.pagesPerRun
            body += text(x: mapX - 8, y: mapY + row * cell + min(cell, 12) - 1, "\(first)", size: 11, anchor: "end", fill: "#666")
        }
        // Cells, a row at a time; in aggregated maps neighbours that look the same are one rect.
        for row in 0..<rows {
            var column = 0
            while column < columns {
                let index = row * columns + column
                guard index < runs.runs.count else { break }
                let run = runs.runs[index]
                let segments = self.segments(run, height: cell - gap)
                var span = 1
                if gap == 0 {
                    while column + span < columns, index + span < runs.runs.count,
                        self.segments(runs.runs[index + span], height: cell) == segments
                    { span += 1 }
                }
                let x = mapX + column * cell, y = mapY + row * cell
                let tip = aggregated ? nil : tooltip(run)
                for s in segments {
                    body += "<rect x=\"\(x)\" y=\"\(y + s.y)\" width=\"\(span * cell - gap)\" height=\"\(s.height)\" fill=\"\(s.color)\""
                    body += tip.map { "><title>\(escape($0))</title></rect>\n" } ?? "/>\n"
                }
                column += span
            }
        }
        body +=
            "<rect x=\"\(mapX - 1)\" y=\"\(mapY - 1)\" width=\"\(mapWidth + 1)\" height=\"\(mapHeight + 1)\" fill=\"none\" stroke=\"#bbb\"/>\n"

        let (legend, legendHeight) = self.legend(x: legendX, y: mapY)
        body += legend

        var y = mapY + max(mapHeight, legendHeight) + 36
        body += text(x: margin, y: y, "What vitrine inspect says", size: 14, weight: "bold")
        y += 8
        for line in figures {
            y += 16
            body += text(x: margin, y: y, line, size: 12, family: "DejaVu Sans Mono, Menlo, monospace", space: true)
        }
        let figuresWidth = (figures.map(\.count).max() ?? 0) * 8 + 2 * margin
        let width = max(legendX + legendWidth, figuresWidth)
        let height = y + margin

        let scale =
            aggregated
            ? "\(n) pages of \(PageLayoutSize.bytes) bytes in \(runs.runs.count) cells: each cell is a run of \(runs.pagesPerRun) pages, "
                + "striped by what the run holds"
            : "\(n) pages of \(PageLayoutSize.bytes) bytes, one cell per page"
        var head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        head += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" "
        head += "data-pages=\"\(n)\" data-cells=\"\(runs.runs.count)\" data-pages-per-cell=\"\(runs.pagesPerRun)\" "
        head += "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"
        head += "<title>\(escape(title))</title>\n"
        head += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        head += text(x: margin, y: 34, title, size: 18, weight: "bold")
        head += text(x: margin, y: 58, scale + "; file order left to right, top to bottom.", size: 13)
        head += text(x: margin, y: 76, "Page numbers on the left are each row's first page.", size: 12, fill: "#666")
        return head + body + "</svg>\n"
    }

    struct Segment: Equatable {
        var y: Int
        var height: Int
        var color: String
    }

    /// The horizontal stripes of a cell: one per category of its run, in proportion to pages.
    func segments(_ run: PageRun, height: Int) -> [Segment] {
        var out: [Segment] = []
        var done = 0
        var top = 0
        for part in run.parts {
            done += part.pages
            let bottom = Int((Double(done) / Double(run.pages) * Double(height)).rounded())
            guard bottom > top else { continue }
            let color = color(part.category, fill: part.fill)
            if let last = out.last, last.color == color {
                out[out.count - 1].height += bottom - top
            } else {
                out.append(Segment(y: top, height: bottom - top, color: color))
            }
            top = bottom
        }
        return out
    }

    func tableName(_ t: Int?) -> String {
        guard let t, t < map.tables.count else { return "?" }
        return map.tables[t]
    }

    func tooltip(_ run: PageRun) -> String {
        let part = run.dominant
        var s = "page \(run.first): \(part.category.kind.rawValue)"
        if part.category.table != nil { s += " of \(tableName(part.category.table))" }
        switch part.category.kind {
        case .catalog, .branch, .leaf, .overflow, .freeList: s += ", \(Int((part.fill * 100).rounded()))% full"
        default: break
        }
        return s
    }

    // MARK: Legend

    static let kindNotes: [PageMap.Kind: String] = [
        .meta: "the two meta pages",
        .catalog: "the tree naming the tables",
        .branch: "inner tree pages: the table's hue, dark",
        .leaf: "tree leaves: the table's hue, lighter when emptier",
        .overflow: "long values",
        .freeList: "the last checkpoint's free list",
        .free: "free, reusable",
        .frozen: "freed, kept until the next checkpoint",
        .unaccounted: "neither used nor free (vitrine check)",
    ]

    func legend(x: Int, y startY: Int) -> (String, Int) {
        var out = "<g id=\"legend\">\n"
        var y = startY + 12
        out += text(x: x, y: y, "Pages by kind", size: 14, weight: "bold")
        y += 10
        // A sample table for the branch and leaf swatches: the largest.
        let sampleTable = tablesBySize.first
        for kind in PageMap.Kind.allCases {
            let count = map.count(kind)
            let swatch = color(PageCategory(kind: kind, table: sampleTable), fill: kind == .leaf ? 0.7 : 1)
            out += "<g data-kind=\"\(kind.rawValue)\" data-pages=\"\(count)\">"
            out += "<rect x=\"\(x)\" y=\"\(y + 4)\" width=\"14\" height=\"14\" fill=\"\(swatch)\" stroke=\"#999\" stroke-width=\"0.5\"/>"
            out += text(x: x + 22, y: y + 16, "\(kind.rawValue) \(count)", size: 13, weight: "bold", newline: false)
            out += text(x: x + 150, y: y + 16, Self.kindNotes[kind] ?? "", size: 11, fill: "#555", newline: false)
            out += "</g>\n"
            y += 20
        }
        y += 30
        out += text(x: x, y: y, "How full (leaves)", size: 14, weight: "bold")
        y += 8
        for step in 0...10 {
            let swatch = color(PageCategory(kind: .leaf, table: sampleTable), fill: Double(step) / 10)
            out += "<rect x=\"\(x + step * 24)\" y=\"\(y)\" width=\"24\" height=\"14\" fill=\"\(swatch)\"/>\n"
        }
        y += 28
        out += text(x: x, y: y, "empty", size: 11, fill: "#555")
        out += text(x: x + 11 * 24, y: y, "full", size: 11, anchor: "end", fill: "#555")
        y += 28
        out += text(x: x, y: y, "Tables: pages, and how full their tree pages are", size: 14, weight: "bold")
        y += 8
        var counts = [(leaf: Int, branch: Int, overflow: Int, fill: Double)](repeating: (0, 0, 0, 0), count: map.tables.count)
        for p in map.pages {
            guard let t = p.table, t < counts.count else { continue }
            switch p.kind {
            case .leaf: counts[t].leaf += 1; counts[t].fill += p.fill
            case .branch: counts[t].branch += 1; counts[t].fill += p.fill
            case .overflow: counts[t].overflow += 1
            default: break
            }
        }
        for t in tablesBySize {
            let c = counts[t]
            let treePages = c.leaf + c.branch
            var what = "\(map.tables[t]): \(c.leaf) leaf, \(c.branch) branch"
            if c.overflow > 0 { what += ", \(c.overflow) overflow" }
            if treePages > 0 { what += String(format: ", %.0f%% full", c.fill / Double(treePages) * 100) }
            out += "<g data-table=\"\(escape(map.tables[t]))\" data-pages=\"\(c.leaf + c.branch + c.overflow)\">"
            out +=
                "<rect x=\"\(x)\" y=\"\(y + 4)\" width=\"14\" height=\"14\" fill=\"\(color(PageCategory(kind: .leaf, table: t), fill: 0.7))\"/>"
            out +=
                "<rect x=\"\(x + 16)\" y=\"\(y + 4)\" width=\"6\" height=\"14\" fill=\"\(color(PageCategory(kind: .branch, table: t), fill: 1))\"/>"
            out += text(x: x + 30, y: y + 16, what, size: 12, newline: false)
            out += "</g>\n"
            y += 18
        }
        out += "</g>\n"
        return (out, y - startY)
    }

    // MARK: SVG text

    func text(
        x: Int, y: Int, _ s: String, size: Int, weight: String? = nil, anchor: String? = nil, fill: String? = nil,
        family: String? = nil, space: Bool = false, newline: Bool = true
    ) -> String {
        var attributes = "x=\"\(x)\" y=\"\(y)\" font-size=\"\(size)\""
        if let weight { attributes += " font-weight=\"\(weight)\"" }
        if let anchor { attributes += " text-anchor=\"\(anchor)\"" }
        if let fill { attributes += " fill=\"\(fill)\"" }
        if let family { attributes += " font-family=\"\(family)\"" }
        if space { attributes += " xml:space=\"preserve\"" }
        return "<text \(attributes)>\(escape(s))</text>" + (newline ? "\n" : "")
    }
}

/// The page size the engine writes (formats/data-file.md), for the picture's caption.
enum PageLayoutSize {
    static let bytes = 4096
}

/// Text for XML element content and attribute values.
func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        // Characters XML 1.0 does not allow at all (a table name is bytes from the file).
        case _ where ch.value < 0x20 && ch != "\t" && ch != "\n" && ch != "\r": out += "\u{FFFD}"
        case _ where ch.value == 0xFFFE || ch.value == 0xFFFF: out += "\u{FFFD}"
        default: out.unicodeScalars.append(ch)
        }
    }
    return out
}

/// "#rrggbb" for a hue in degrees and saturation and lightness in 0...1.
func hsl(_ h: Double, _ s: Double, _ l: Double) -> String {
    let c = (1 - abs(2 * l - 1)) * s
    let hp = h.truncatingRemainder(dividingBy: 360) / 60
    let x = c * (1 - abs(hp.truncatingRemainder(dividingBy: 2) - 1))
    let (r, g, b): (Double, Double, Double) =
        hp < 1 ? (c, x, 0) : hp < 2 ? (x, c, 0) : hp < 3 ? (0, c, x) : hp < 4 ? (0, x, c) : hp < 5 ? (x, 0, c) : (c, 0, x)
    let m = l - c / 2
    func byte(_ v: Double) -> String {
        let n = Int((min(1, max(0, v + m)) * 255).rounded())
        return (n < 16 ? "0" : "") + String(n, radix: 16)
    }
    return "#" + byte(r) + byte(g) + byte(b)
}
