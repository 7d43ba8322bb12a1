// What every page shares: the document frame, the style sheet, and small formatters.
//
// Each page stands alone: its CSS is inline, it loads nothing (no font, script, image or style
// sheet from anywhere), and a Content-Security-Policy meta tag says so to the browser as well
// (default-src 'none': even markup that slipped through escaping could not run a script or
// fetch a thing). Mobile-first: one column at phone width, a wider grid from 720 px; long
// unbroken words wrap (overflow-wrap: anywhere) so user text never widens the page.

import Foundation
import Vitrine

enum PageFrame {
    /// A whole document. `title` is plain text (escaped here); `body` is markup built by the
    /// page renderers from escaped parts. `root` is the relative path to the site root ("" or "../").
    static func document(title: String, root: String, body: String) -> String {
        head(title: title, root: root) + body + "\n" + tail
    }

    /// A document up to the start of its body's content (the index is streamed between the two).
    static func head(title: String, root: String) -> String {
        """
        <!doctype html>
        <html lang="zh-Hans">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
        <meta name="referrer" content="no-referrer">
        <link rel="icon" href="data:,">
        <title>\(HTML.text(title)) · Vitrine</title>
        <style>\(style)</style>
        </head>
        <body>
        <header class="bar"><a class="home" href="\(root)index.html">Vitrine 微橱窗</a></header>
        <main>

        """
    }

    /// The end of a document, after its body's content.
    static let tail = """
        </main>
        <footer>Static pages written by <code>vitrine pages</code> from the database.</footer>
        </body>
        </html>

        """

    static let style = """
        *{box-sizing:border-box}
        html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
        body{margin:0;font:16px/1.5 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#1f2328;background:#f4f1ee;overflow-wrap:anywhere;word-break:normal}
        a{color:#b3261e}
        .bar{background:#e4393c;padding:.6rem 1rem}
        .bar .home{color:#fff;font-weight:700;text-decoration:none}
        main{max-width:960px;margin:0 auto;padding:1rem}
        footer{max-width:960px;margin:0 auto;padding:1rem;color:#6a6a6a;font-size:.8rem}
        h1{font-size:1.4rem;line-height:1.25;margin:.2rem 0 .4rem}
        h2{font-size:1.1rem;margin:1.4rem 0 .5rem}
        .meta{color:#57606a;margin:.2rem 0 1rem;font-size:.9rem}
        .cards{list-style:none;margin:0;padding:0;display:grid;gap:.75rem;grid-template-columns:minmax(0,1fr)}
        .card{background:#fff;border-radius:12px;padding:.9rem 1rem;box-shadow:0 1px 2px rgba(0,0,0,.08);min-width:0}
        .card h2{margin-top:0}
        .card>:last-child{margin-bottom:0}
        section.card{margin:.75rem 0}
        .card h3{font-size:1.05rem;margin:0 0 .35rem;line-height:1.3}
        .card h3 a{color:#1f2328;text-decoration:none}
        .reason{margin:.35rem 0;white-space:pre-line}
        .facts{display:flex;flex-wrap:wrap;gap:.3rem .8rem;align-items:baseline;margin:.4rem 0 0;font-size:.9rem;color:#57606a}
        .price{color:#e4393c;font-weight:700;font-size:1.15rem}
        .left{color:#1a7f37}.left.none{color:#8c959f}
        .badge{display:inline-block;border-radius:999px;padding:0 .55rem;font-size:.78rem;line-height:1.6rem;color:#fff;background:#6e7781;white-space:nowrap;max-width:100%;overflow:hidden;text-overflow:ellipsis;vertical-align:middle}
        .badge.tmall{background:#d4001b}.badge.taobao{background:#ff5000}.badge.weimai{background:#2b8a3e}
        .buy{display:block;text-align:center;background:#e4393c;color:#fff;border-radius:999px;padding:.7rem 1rem;margin:.8rem 0 .2rem;font-weight:700;text-decoration:none}
        .refused{background:#fff4e5;border:1px solid #f0b64d;border-radius:8px;padding:.5rem .7rem;margin:.6rem 0;font-size:.9rem}
        .refused code{display:block;margin-top:.3rem;color:#57606a}
        code{font-family:ui-monospace,monospace;font-size:.85em;overflow-wrap:anywhere}
        table{width:100%;border-collapse:collapse;font-size:.92rem}
        td,th{text-align:left;padding:.25rem .4rem .25rem 0;vertical-align:top}
        th{color:#57606a;font-weight:600;white-space:nowrap}
        .total{font-weight:700;font-size:1.1rem;margin:.8rem 0}
        .note{color:#57606a;font-size:.88rem}
        ul.links{padding-left:1.2rem}
        @media (min-width:720px){
        main{padding:1.5rem 2rem}
        h1{font-size:1.8rem}
        .cards{grid-template-columns:repeat(2,minmax(0,1fr))}
        .buy{display:inline-block}
        }
        """

    /// Fen as yuan: "¥12.34".
    static func money(_ fen: Int64) -> String {
        let m = fen.magnitude
        let cents = m % 100
        return "\(fen < 0 ? "-" : "")¥\(m / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

    /// Basis points as a percentage: "8.50%".
    static func percent(_ basisPoints: Int64) -> String {
        let m = basisPoints.magnitude
        let hundredths = m % 100
        return "\(basisPoints < 0 ? "-" : "")\(m / 100).\(hundredths < 10 ? "0" : "")\(hundredths)%"
    }

    /// A time as "2015-06-01 12:34 UTC" (Gregorian calendar, UTC, so pages are the same everywhere).
    static func time(_ t: Timestamp) -> String {
        let seconds = Double(t.millisecondsSinceEpoch) / 1000
        guard seconds.isFinite, abs(seconds) < 1e13 else { return "\(t.millisecondsSinceEpoch) ms" }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: Date(timeIntervalSince1970: seconds))
        func two(_ n: Int?) -> String { let n = n ?? 0; return n < 10 ? "0\(n)" : "\(n)" }
        return "\(c.year ?? 0)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)) UTC"
    }

    /// A partner's badge: its name, coloured for the three default partners (the class is chosen
    /// from a fixed list, never taken from data).
    static func badge(_ partnerID: PartnerID, _ partners: [PartnerID: Partner]) -> String {
        let known: [String: String] = ["tmall": "tmall", "taobao": "taobao", "weimai": "weimai"]
        let cls = known[partnerID.rawValue].map { " " + $0 } ?? ""
        let name = partners[partnerID]?.name ?? partnerID.rawValue
        return "<span class=\"badge\(cls)\">\(HTML.text(name))</span>"
    }

    /// A partner link: an `<a>` when ``LinkCheck`` allows it, else the link as text with the
    /// reason. `label` is plain text.
    static func partnerLink(_ link: String, partner: Partner?, attributed: Bool, label: String, cssClass: String) -> String {
        switch LinkCheck.check(link, partner: partner, attributed: attributed) {
        case .allowed(let url):
            return "<a class=\"\(cssClass)\" href=\"\(HTML.attribute(url))\" rel=\"noopener noreferrer\">\(HTML.text(label))</a>"
        case .refused(let reason):
            return "<p class=\"refused\">Link not shown: \(HTML.text(reason)).<code>\(HTML.text(link))</code></p>"
        }
    }
}
