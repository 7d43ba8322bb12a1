// The static pages: escaping of user-written text in every context, the partner whitelist
// re-checked before a link is written, safe file names from hostile ids, and a whole site
// written from a store holding hostile content.

import Foundation
import Testing
import VitrinePages

@testable import Vitrine

let hostileTexts = [
    "<script>window.__pwned=1</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg onload=alert(1)>",
    "<a href=\"javascript:alert(1)\">click</a>",
    "javascript:alert(1)",
    "Tom & Jerry \"quoted\" 'single' </li></ol><p>",
]

/// `html` decoded the way a browser decodes text: the five entities the renderers write.
func decoded(_ html: String) -> String {
    html.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
        .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
        .replacingOccurrences(of: "&amp;", with: "&")
}

@Suite struct EscapingTests {
    @Test func textEscapesEveryMarkupCharacter() {
        for s in hostileTexts {
            let e = HTML.text(s)
            #expect(!e.contains("<") && !e.contains(">") && !e.contains("\"") && !e.contains("'"), "\(e)")
            #expect(decoded(e) == s)
        }
        #expect(HTML.text("a & b") == "a &amp; b")
        #expect(HTML.text("&amp;") == "&amp;amp;")
        #expect(HTML.attribute("\" onmouseover=\"x") == "&quot; onmouseover=&quot;x")
    }

    @Test func controlsAndNoncharactersBecomeReplacementCharacters() {
        #expect(HTML.text("a\u{0}b\u{1B}c\u{85}d\u{FFFE}e") == "a\u{FFFD}b\u{FFFD}c\u{FFFD}d\u{FFFD}e")
        #expect(HTML.text("line\nnext\ttab") == "line\nnext\ttab")
        #expect(HTML.text("中文 🙂") == "中文 🙂")
    }

    @Test func pathSegmentsKeepOnlyUnreservedCharacters() {
        #expect(HTML.pathSegment("prd-000001.html") == "prd-000001.html")
        #expect(HTML.pathSegment("../a/b?c#d:e\"f") == "..%2Fa%2Fb%3Fc%23d%3Ae%22f")
        #expect(HTML.pathSegment("javascript:alert(1)") == "javascript%3Aalert%281%29")
        #expect(HTML.pathSegment("面") == "%E9%9D%A2")
    }
}

@Suite struct PageFileNameTests {
    @Test func plainIdsStayReadable() {
        #expect(PageFileName.forID("prd-000001") == "prd-000001.html")
        #expect(PageFileName.forID("exp-0000") == "exp-0000.html")
    }

    @Test func hostileIdsBecomeSafeDistinctNames() throws {
        let ids = [
            "../../etc/passwd", "..", ".", "a/b", "a\\b", "CON", "con", "nul", "com1", "lpt9", "Mixed", "mixed", "MIXED",
            "Ａ", "A", "a", "x\u{0}y", "<script>", "\"><img src=x onerror=alert(1)>", "javascript:alert(1)", "名字",
            "e\u{301}", "\u{E9}", "_", "_abc", " ", "a b", "%2e%2e", String(repeating: "字", count: 42), String(repeating: "z", count: 128),
            String(repeating: "Z", count: 128),
        ]
        var seen: [String: String] = [:]
        for id in ids {
            let name = try #require(PageFileName.forID(id), "no name for \(id)")
            #expect(name.utf8.count <= 255, "\(name) too long")
            #expect(name.hasSuffix(".html"))
            let stem = name.dropLast(5)
            #expect(
                !stem.isEmpty
                    && stem.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x5F },
                "\(name) has a character outside [a-z0-9-_]")
            #expect(!["con", "nul", "com1", "lpt9"].contains(String(stem)))
            if let other = seen[name] { Issue.record("\(id) and \(other) share \(name)") }
            seen[name] = id
        }
        #expect(PageFileName.forID("") == nil)
        #expect(PageFileName.forID(String(repeating: "x", count: 151)) == nil)
    }
}

@Suite struct PartnerLinkCheckTests {
    @Test func onlyCanonicalHTTPSLinksOnThePartnersDomainsPass() {
        let tmall = Partner.tmall
        #expect(
            LinkCheck.check("https://detail.tmall.com/item.htm?id=1", partner: tmall) == .allowed("https://detail.tmall.com/item.htm?id=1"))
        for bad in [
            "http://detail.tmall.com/item.htm?id=1", "javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<script>",
            "https://evil.com/item.htm", "https://detail.taobao.com/x", "https://evil.com\\@detail.tmall.com/",
            "https://a@detail.tmall.com/",
            "https://detail.tmall.com/\"onmouseover=alert(1)", "https://detail.tmall.com/<script>", "https://DETAIL.tmall.com/x",
            "//detail.tmall.com/x", "https://detail.tmall.com:8443/x", "", " https://detail.tmall.com/",
        ] {
            guard case .refused = LinkCheck.check(bad, partner: tmall) else {
                Issue.record("\(bad) passed")
                continue
            }
        }
        #expect(LinkCheck.check("https://detail.tmall.com/x", partner: nil) != .allowed("https://detail.tmall.com/x"))
    }
}

/// A store with hostile text everywhere a user writes, a cart, and an order awaiting payment.
func hostileStore() throws -> Store<InMemoryKeyValueStore> {
    let store = try Store(backend: InMemoryKeyValueStore(), configuration: .standard)
    try store.upsertExpert(
        Expert(id: "<script>", displayName: "<script>window.__pwned=1</script>", categories: ["beauty"], commissionBasisPoints: 800))
    try store.upsertExpert(
        Expert(id: "../../evil", displayName: "\"><img src=x onerror=alert(1)>", categories: ["<b>"], commissionBasisPoints: 500))
    try store.upsertProduct(
        Product(
            id: "mask", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=1&x=%22",
            title: "<img src=x onerror=\"window.__pwned=2\">",
            priceFen: 9900, merchant: "Tom & Jerry \"shop\"", category: "beauty", initialStock: 50))
    try store.upsertProduct(
        Product(
            id: "Lip/Stick", partner: "taobao", link: "https://item.taobao.com/item.htm?id=2", title: "口红 'quoted'",
            priceFen: 25900, merchant: "山茶", category: "beauty", initialStock: 10))
    for (i, reason) in hostileTexts.enumerated() {
        _ = try store.postRecommendation(
            id: RecommendationID("r\(i)"), expert: i % 2 == 0 ? "<script>" : "../../evil",
            product: i % 2 == 0 ? "mask" : "Lip/Stick", reason: reason, quantity: 5)
    }
    try store.upsertUser(User(id: "ann", displayName: "<script>alert('ann')</script>", interests: ["beauty"]))
    try store.upsertUser(User(id: "bob", displayName: "Bob", interests: []))
    _ = try store.addToCart(.user("ann"), product: "mask", recommendation: "r0", quantity: 1)
    _ = try store.addToCart(.user("bob"), product: "mask", recommendation: "r2", quantity: 1)
    _ = try store.addToCart(.user("bob"), product: "Lip/Stick", recommendation: "r1", quantity: 2)
    _ = try store.checkout(user: "bob", idempotencyKey: "bob-1")
    return store
}

/// Rewrites a product's stored record with another link, past the store's checks (a tampered
/// file, or a dump restored by hand).
func tamperLink<B: OrderedKeyValueStore>(_ store: Store<B>, _ id: ProductID, _ link: String) throws {
    var p = try store.product(id)
    p.link = link
    try store.backend.write { tx in try tx.set(Keys.product(id), p.recordBytes) }
}

func writeSite<B: OrderedKeyValueStore>(_ store: Store<B>) throws -> (URL, ShopPagesSummary) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vitrine-pages-" + UUID().uuidString)
    let summary = try ShopPages(store: store).write(to: dir)
    return (dir, summary)
}

/// Every page of the site: path relative to the root, and contents.
func pages(of dir: URL) throws -> [(String, String)] {
    let fm = FileManager.default
    var out: [(String, String)] = []
    for path in try fm.subpathsOfDirectory(atPath: dir.path).sorted() where path.hasSuffix(".html") {
        out.append((path, String(decoding: try Data(contentsOf: dir.appendingPathComponent(path)), as: UTF8.self)))
    }
    return out
}

@Suite struct ShopPagesTests {
    @Test func hostileTextIsTextEverywhere() throws {
        let store = try hostileStore()
        let (dir, summary) = try writeSite(store)
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(summary.showcases == 2 && summary.carts == 1 && summary.orders == 1 && summary.products == 2)
        let all = try pages(of: dir)
        #expect(all.count == summary.files)
        var joined = ""
        for (path, html) in all {
            let scan = MarkupScan(html)
            #expect(scan.foreignMarkup.isEmpty, "\(path): \(scan.foreignMarkup)")
            #expect(!html.lowercased().contains("<script"), "\(path)")
            #expect(
                !html.lowercased().contains("javascript:") || !scan.hrefs.contains { $0.lowercased().contains("javascript") }, "\(path)")
            joined += html
        }
        // The hostile text is there, as text.
        for s in hostileTexts { #expect(joined.contains(HTML.text(s)), "missing as text: \(s)") }
        #expect(joined.contains(HTML.text("<img src=x onerror=\"window.__pwned=2\">")))
        // File names: none raw.
        let names = try FileManager.default.subpathsOfDirectory(atPath: dir.path)
        #expect(!names.contains { $0.contains("..") || $0.contains("<") || $0.contains("evil") })
    }

    @Test func everyLinkInsideTheSiteLeadsToAPageAndEveryOtherIsAWhitelistedPartnerLink() throws {
        let store = try hostileStore()
        let (dir, _) = try writeSite(store)
        defer { try? FileManager.default.removeItem(at: dir) }
        let partners = try store.partners()
        var external = 0
        for (path, html) in try pages(of: dir) {
            let base = dir.appendingPathComponent(path).deletingLastPathComponent()
            for raw in MarkupScan(html).hrefs {
                let href = decoded(raw)
                if href.hasPrefix("data:") { continue } // the empty favicon
                if href.hasPrefix("https://") {
                    let link = try PartnerLink(parsingAttributed: href)
                    #expect(partners.contains { $0.owns(host: link.host) }, "\(path): \(href)")
                    external += 1
                    continue
                }
                #expect(!href.contains(":") && !href.hasPrefix("/"), "\(path): \(href) is neither relative nor https")
                let target = base.appendingPathComponent(href).standardizedFileURL
                #expect(target.path.hasPrefix(dir.standardizedFileURL.path), "\(path): \(href) leaves the site")
                #expect(FileManager.default.fileExists(atPath: target.path), "\(path): \(href) leads nowhere")
            }
        }
        #expect(external >= 3) // two product pages and the order's two payment links
    }

    @Test func aTamperedLinkIsNeverALink() throws {
        let store = try hostileStore()
        let tampered = [
            "http://detail.tmall.com/item.htm?id=1", "javascript:alert(1)", "https://evil.com/item.htm",
            "https://detail.tmall.com/\"><script>window.__pwned=3</script>", "https://item.taobao.com/x",
        ]
        for link in tampered {
            try tamperLink(store, "mask", link)
            let (dir, summary) = try writeSite(store)
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect(summary.orders == 1)
            for (path, html) in try pages(of: dir) {
                let hrefs = MarkupScan(html).hrefs.map(decoded)
                #expect(
                    !hrefs.contains { $0.contains("evil") || $0.hasPrefix("http:") || $0.lowercased().hasPrefix("javascript") },
                    "\(path): \(hrefs)")
                #expect(!hrefs.contains { $0.hasPrefix("https://item.taobao.com/x") }, "\(path): a taobao link on a tmall product")
                #expect(!html.contains("<script"), "\(path)")
            }
            let product = try String(contentsOf: dir.appendingPathComponent("product/mask.html"), encoding: .utf8)
            #expect(product.contains("class=\"refused\"") && product.contains(HTML.text(link)), "\(link)")
            let order = try #require(try pages(of: dir).first { $0.0.hasPrefix("order/") }?.1)
            #expect(order.contains("No payment link") && order.contains(HTML.text(link)), "\(link)")
            // The untampered product of the same order keeps its payment link.
            #expect(!order.contains("href=\"https://item.taobao.com/item.htm?id=2"), "a refused order shows no links at all")
        }
    }

    @Test func aValidLinkIsWrittenAsALinkWithItsAttribution() throws {
        let store = try hostileStore()
        let (dir, _) = try writeSite(store)
        defer { try? FileManager.default.removeItem(at: dir) }
        let product = try String(contentsOf: dir.appendingPathComponent("product/mask.html"), encoding: .utf8)
        #expect(product.contains("href=\"https://detail.tmall.com/item.htm?id=1&amp;x=%22\""))
        let order = try #require(try pages(of: dir).first { $0.0.hasPrefix("order/") }?.1)
        let hrefs = MarkupScan(order).hrefs.map(decoded).filter { $0.hasPrefix("https://") }
        #expect(hrefs.count == 2)
        #expect(hrefs.allSatisfy { $0.contains("vt_order=") && $0.contains("vt_expert=") && $0.contains("vt_rec=") }, "\(hrefs)")
    }

    @Test func aDirectoryOfOtherFilesIsRefusedAndOurOwnIsReplaced() throws {
        let store = try hostileStore()
        let (dir, _) = try writeSite(store)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Written again: the earlier pages are replaced, not added to.
        _ = try store.removeFromCart(.user("ann"), product: "mask", recommendation: "r0")
        let again = try ShopPages(store: store).write(to: dir)
        #expect(again.carts == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("cart").path).isEmpty)
        // Someone else's directory is left alone.
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("vitrine-other-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: other) }
        try Data("keep".utf8).write(to: other.appendingPathComponent("notes.txt"))
        #expect(throws: ShopPagesError.self) { try ShopPages(store: store).write(to: other) }
        #expect(FileManager.default.fileExists(atPath: other.appendingPathComponent("notes.txt").path))
    }

    @Test func limitsBoundTheWorkAndAreReported() throws {
        let store = try hostileStore()
        var options = ShopPagesOptions()
        options.maxShowcases = 1
        options.showcaseSize = 1
        options.users = ["nobody"]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vitrine-pages-" + UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: dir) }
        let summary = try ShopPages(store: store, options: options).write(to: dir)
        #expect(summary.showcases == 1 && summary.carts == 1)
        #expect(summary.limitsReached.count == 1)
        let showcase = try #require(try pages(of: dir).first { $0.0.hasPrefix("showcase/") }?.1)
        #expect(showcase.contains("Only the newest 1 recommendations"))
    }
}
