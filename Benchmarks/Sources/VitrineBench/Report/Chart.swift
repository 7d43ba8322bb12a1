// The chart of a run: Vitrine/peer ratios, one bar per row of the table and peer, as plain SVG.
//
// Layout: one band per metric (the main table's rows, latency rows aside), one horizontal bar per
// peer in it, drawn from the 1.0 line to the median per-round ratio, with a whisker over the
// rounds' min – max. The axis is logarithmic (a ratio of 2 and of 1/2 are the same distance from
// 1.0), decades marked, the 1.0 line drawn. Each label ends in ↑ (higher is better: right of 1.0
// is better for the subject) or ↓ (lower is better: left of 1.0 is better); the bar's value is
// printed at its end, green when it is better for the subject, red when worse.

import Foundation

extension Report {
    func svg() -> String {
        let peers = Array(Set(results.flatMap { $0.ratios.map(\.peer) })).sorted()
        let rows = results.filter { $0.metric.latencyOf == nil && !$0.ratios.isEmpty }
        let palette = ["#4C78A8", "#F58518", "#54A24B", "#B279A2"]
        let labelWidth = 470.0, plotWidth = 520.0, right = 70.0, top = 64.0, bar = 9.0, gap = 2.0, bandGap = 8.0
        let band = Double(peers.count) * (bar + gap) + bandGap
        let height = top + Double(rows.count) * band + 40
        let width = labelWidth + plotWidth + right

        var low = 1.0, high = 1.0
        for row in rows {
            for r in row.ratios {
                for v in [r.summary.min, r.summary.max, r.summary.median] where v.isFinite && v > 0 {
                    low = min(low, v)
                    high = max(high, v)
                }
            }
        }
        let lowDecade = floor(log10(low)), highDecade = max(ceil(log10(high)), lowDecade + 1)
        func x(_ v: Double) -> Double {
            let clamped = min(max(v, pow(10, lowDecade)), pow(10, highDecade))
            return labelWidth + (log10(clamped) - lowDecade) / (highDecade - lowDecade) * plotWidth
        }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var out: [String] = []
        out.append(
            """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="11">
            """)
        out.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
        let who = subject ?? "subject"
        out.append(
            "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">\(xml("\(who)/peer, median per-round ratio, whiskers min – max over \(size.rounds) rounds (\(size.name) size, commit \(gitCommit))"))</text>"
        )
        out.append(
            "<text x=\"10\" y=\"38\">\(xml("↑ rows: right of 1.0 is better for \(who); ↓ rows: left of 1.0 is better. Logarithmic axis."))</text>"
        )
        for (p, peer) in peers.enumerated() {
            let lx = labelWidth + Double(p) * 120
            out.append("<rect x=\"\(f(lx))\" y=\"44\" width=\"12\" height=\"9\" fill=\"\(palette[p % palette.count])\"/>")
            out.append("<text x=\"\(f(lx + 16))\" y=\"52\">\(xml("\(who)/\(peer)"))</text>")
        }
        // Decades and the 1.0 line.
        var decade = lowDecade
        while decade <= highDecade {
            let dx = x(pow(10, decade))
            let isOne = decade == 0
            out.append(
                "<line x1=\"\(f(dx))\" y1=\"\(f(top - 4))\" x2=\"\(f(dx))\" y2=\"\(f(height - 34))\" "
                    + "stroke=\"\(isOne ? "#000" : "#ccc")\" stroke-width=\"\(isOne ? 1.5 : 1)\"/>")
            let label = decade >= 0 ? String(format: "%.0f×", pow(10, decade)) : String(format: "%g×", pow(10, decade))
            out.append("<text x=\"\(f(dx))\" y=\"\(f(height - 20))\" text-anchor=\"middle\">\(label)</text>")
            decade += 1
        }
        for (i, row) in rows.enumerated() {
            let y0 = top + Double(i) * band
            if i % 2 == 1 {
                out.append("<rect x=\"0\" y=\"\(f(y0 - bandGap / 2))\" width=\"\(Int(width))\" height=\"\(f(band))\" fill=\"#f4f4f4\"/>")
            }
            let arrow = row.metric.higherIsBetter ? "↑" : "↓"
            out.append(
                "<text x=\"\(f(labelWidth - 8))\" y=\"\(f(y0 + band / 2 - 2))\" text-anchor=\"end\">"
                    + "\(xml("\(row.workload) \(row.metric.name) \(arrow)"))</text>")
            for (p, peer) in peers.enumerated() {
                guard let ratio = row.ratios.first(where: { $0.peer == peer }), ratio.summary.median.isFinite else { continue }
                let s = ratio.summary
                let y = y0 + Double(p) * (bar + gap)
                let one = x(1), m = x(s.median)
                out.append(
                    "<rect x=\"\(f(min(one, m)))\" y=\"\(f(y))\" width=\"\(f(max(abs(m - one), 1)))\" height=\"\(f(bar))\" "
                        + "fill=\"\(palette[p % palette.count])\"/>")
                if s.min.isFinite && s.max.isFinite {
                    let cy = y + bar / 2
                    out.append("<line x1=\"\(f(x(s.min)))\" y1=\"\(f(cy))\" x2=\"\(f(x(s.max)))\" y2=\"\(f(cy))\" stroke=\"#222\"/>")
                    for end in [s.min, s.max] {
                        out.append(
                            "<line x1=\"\(f(x(end)))\" y1=\"\(f(y + 1))\" x2=\"\(f(x(end)))\" y2=\"\(f(y + bar - 1))\" stroke=\"#222\"/>")
                    }
                }
                let good = row.metric.higherIsBetter ? s.median >= 1 : s.median <= 1
                let tx = max(one, m, s.max.isFinite ? x(s.max) : m) + 4
                out.append(
                    "<text x=\"\(f(tx))\" y=\"\(f(y + bar - 1))\" font-size=\"9\" fill=\"\(good ? "#1a7f37" : "#cf222e")\">"
                        + String(format: "%.2f×", s.median) + "</text>")
            }
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }
}

private func xml(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;")
}
