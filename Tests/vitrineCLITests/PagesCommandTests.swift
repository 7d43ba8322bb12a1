// `vitrine pages`: every page of the demo database (with a cart and an order awaiting payment)
// written, linked from the index, and every link either a page of the site or an https link
// on a partner's domains; the usage errors.

import Foundation
import Testing

@Suite struct PagesCommandTests {
    /// Every href in `html`, entities decoded.
    func hrefs(_ html: String) -> [String] {
        var out: [String] = []
        var rest = Substring(html)
        while let r = rest.range(of: "href=\"") {
            let after = rest[r.upperBound...]
            guard let end = after.firstIndex(of: "\"") else { break }
            out.append(String(after[..<end]).replacingOccurrences(of: "&amp;", with: "&"))
            rest = after[end...]
        }
        return out
    }

    @Test func everyPageOfTheDemoDatabase() throws {
        let box = try Sandbox()
        try box.ok("demo", "--db", "d.db")
        try box.ok("add-to-cart", "usr-0001", "rec-000368", "--db", "d.db")
        try box.ok("add-to-cart", "usr-0001", "rec-000362", "--db", "d.db")
        try box.ok("checkout", "usr-0001", "--key", "k1", "--db", "d.db")
        try box.ok("add-to-cart", "usr-0002", "rec-000328", "--db", "d.db")
        let run = try box.ok("pages", "--db", "d.db", "--out", "site", "--json")
        let summary = try #require(try run.json()["summary"] as? [String: Any])
        #expect(summary["showcases"] as? Int == 36)
        #expect(summary["carts"] as? Int == 1)
        #expect(summary["orders"] as? Int == 1)
        let files = try #require(try run.json()["files"] as? Int)

        let site = box.dir.appendingPathComponent("site")
        let fm = FileManager.default
        let paths = try fm.subpathsOfDirectory(atPath: site.path).filter { $0.hasSuffix(".html") }.sorted()
        #expect(paths.count == files)
        let index = try String(contentsOf: site.appendingPathComponent("index.html"), encoding: .utf8)
        let linked = Set(hrefs(index))
        var partnerLinks = 0
        for path in paths {
            #expect(path == "index.html" || linked.contains(path), "\(path) is not on the index")
            let html = try String(contentsOf: site.appendingPathComponent(path), encoding: .utf8)
            #expect(!html.lowercased().contains("<script"), "\(path) has a script")
            #expect(html.contains("<meta name=\"viewport\""), "\(path) has no viewport")
            let base = site.appendingPathComponent(path).deletingLastPathComponent()
            for href in hrefs(html) where !href.hasPrefix("data:") {
                if href.hasPrefix("https://") {
                    let host = href.dropFirst(8).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
                    #expect(
                        ["tmall.com", "tmall.hk", "taobao.com", "tb.cn", "weimai.com"].contains { host == $0 || host.hasSuffix("." + $0) },
                        "\(path): \(href)")
                    partnerLinks += 1
                } else {
                    #expect(!href.contains(":"), "\(path): \(href)")
                    #expect(fm.fileExists(atPath: base.appendingPathComponent(href).path), "\(path): \(href) leads nowhere")
                }
            }
        }
        #expect(partnerLinks >= 3)
        let order = try #require(paths.first { $0.hasPrefix("order/") })
        let page = try String(contentsOf: site.appendingPathComponent(order), encoding: .utf8)
        #expect(page.contains("vt_order=") && page.contains("class=\"buy\""))
    }

    @Test func usageErrors() throws {
        let box = try Sandbox()
        try box.ok("demo", "--db", "d.db")
        try box.fails(2, "--out is required", "pages", "--db", "d.db")
        try box.write("notes.txt", "mine")
        try box.fails(2, "not empty", "pages", "--db", "d.db", "--out", ".")
        try box.fails(2, "--limit must be in", "pages", "--db", "d.db", "--out", "site", "--limit", "0")
        try box.fails(2, "no database", "pages", "--db", "none.db", "--out", "site")
        let run = try box.ok("pages", "--db", "d.db", "--out", "site", "--limit", "2", "--showcase-size", "3")
        #expect(run.stdout.contains("2 showcases") && run.stdout.contains("limit reached: showcases"))
        try box.ok("pages", "--db", "d.db", "--out", "site", "--user", "usr-0005") // written again, one (empty) cart
        #expect(try FileManager.default.contentsOfDirectory(atPath: box.path("site/cart")) == ["usr-0005.html"])
    }
}
