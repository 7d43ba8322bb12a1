// Issue 15, "Why" 1 and 2: the partner whitelist cannot be bypassed by a URL-parser difference,
// nor skipped by a catalogue import or a raw write (which `checkIntegrity` now reports).
// These go through the public API only; PartnerLinkTests has the parser's reasons.

import Foundation
import Testing

@testable import Vitrine

@Suite struct LinkPolicyTests {
    func product(_ link: String, partner: PartnerID = "tmall", id: ProductID = "x") -> Product {
        Product(id: id, partner: partner, link: link, title: "T", priceFen: 100, merchant: "M", category: "c", initialStock: 1)
    }

    /// Every bypass from the issue, and the other tricks the policy names, is refused.
    @Test func bypassLinksAreRefused() throws {
        let store = try makeStore()
        let bypasses = [
            #"https://evil.com\@detail.tmall.com/"#, // URLComponents: tmall; browsers: evil.com
            #"https://evil.com\.tmall.com/"#,
            "https://evil.com%2F.tmall.com/", "https://evil.com%23.tmall.com/", "https://evil.com%40.tmall.com/",
            "https://detail%2etmall.com/",
            "https://user:pass@detail.tmall.com/", "https://user@detail.tmall.com/", "https://@detail.tmall.com/",
            "https://detail.tmall.com:8443/", "https://detail.tmall.com:80/", "https://detail.tmall.com:/",
            "https://detail.tmall.com:0443/", "https://detail.tmall.com:443:443/",
            "https://detail.tmall.com./x", "https://.detail.tmall.com/", "https://detail..tmall.com/",
            "https://-x.tmall.com/", "https://x-.tmall.com/", "https://" + String(repeating: "a", count: 64) + ".tmall.com/",
            "https://127.0.0.1/", "https://0x7f.1/", "https://2130706433/", "https://[::1]/",
            "https://détail.tmall.com/", "https://detail.tmall.com\u{3002}/",
            "https://detail.tmall.com/a b", #"https://detail.tmall.com/a\b"#, "https://detail.tmall.com/%zz",
            "https://detail.tmall.com/?q=%4", "https://detail.tmall.com/\u{0}", "https://detail.tmall.com/<script>",
            "https://detail.tmall.com/#a#b", "https://detail.tmall.com/商品",
            " https://detail.tmall.com/", "https://detail.tmall.com/ ",
            "https:detail.tmall.com/", #"https:/\evil.com"#, #"https:\\evil.com"#, "https:///detail.tmall.com",
            "javascript:alert(document.cookie)", "//detail.tmall.com/", "ftp://detail.tmall.com/",
        ]
        for link in bypasses {
            #expect(throws: VitrineError.self, "accepted \(link)") { try store.upsertProduct(product(link)) }
        }
        #expect(throws: VitrineError.unknownProduct("x")) { try store.product("x") }
        #expect(try store.checkIntegrity().isEmpty)
    }

    /// The link is stored in canonical form: lowercase scheme and host, no default port.
    @Test func linksAreStoredCanonically() throws {
        let store = try makeStore()
        let stored = try store.upsertProduct(product("HTTPS://Detail.TMALL.com:443/Item.htm?id=1&A=B#Top"))
        #expect(stored.link == "https://detail.tmall.com/Item.htm?id=1&A=B#Top")
        #expect(try store.product("x").link == "https://detail.tmall.com/Item.htm?id=1&A=B#Top")
        #expect(try store.upsertProduct(product("https://tmall.com", id: "y")).link == "https://tmall.com")
    }

    /// Ordinary partner links still pass, as do the seeds and the generator's catalogue.
    @Test func goodLinksPass() throws {
        let store = try makeStore()
        let good: [(String, PartnerID)] = [
            ("https://detail.tmall.com/item.htm?id=520000000003", "tmall"),
            ("https://item.taobao.com/item.htm?id=1&spm=a1z10.1-c.w4004-1.2", "taobao"),
            ("https://m.tb.cn/h.abc?sm=1", "taobao"),
            ("https://weimai.com/item/1", "weimai"),
            ("https://shop.tmall.hk/p/%E9%9D%A2%E8%86%9C?x=(1)&y=a,b;c=d:e@f~g_h!i$j'k*l+m", "tmall"),
            ("https://xn--fiqs8s.tmall.com/q?a=/b?c#frag/x?y", "tmall"),
            ("https://tmall.com/", "tmall"),
        ]
        for (i, (link, partner)) in good.enumerated() {
            let p = try store.upsertProduct(product(link, partner: partner, id: ProductID("g\(i)")))
            #expect(p.link == link)
        }
        #expect(try store.checkIntegrity().isEmpty)
    }

    /// A partner may not register a public suffix (the issue's `com`) or a non-canonical host.
    @Test func partnerDomainsAreNeverPublicSuffixes() throws {
        let store = try makeStore()
        for domain in [
            "com", "cn", "com.cn", "co.uk", "com.hk", "github.io", "Tmall.com", "tmall.com.", "tmall..com",
            "127.0.0.1", "evil.com%2f", "évil.com", "tmall.com:443", "*.tmall.com", "",
        ] {
            #expect(throws: VitrineError.self, "accepted \(domain)") {
                try store.upsertPartner(Partner(id: "p", name: "P", domains: [domain]))
            }
        }
        #expect(try store.partners().map(\.id) == ["taobao", "tmall", "weimai"])
        #expect(throws: VitrineError.self) { try makeStore { $0.partners = [Partner(id: "p", name: "P", domains: ["com"])] } }
        try store.upsertPartner(Partner(id: "jd", name: "京东", domains: ["jd.com", "jd.hk", "someone.github.io"]))
    }

    /// A catalogue cannot redefine a registered partner's domains, nor add one silently.
    @Test func catalogueImportNeverChangesPartners() throws {
        let store = try makeStore()
        let hijack = Catalogue(
            partners: [Partner(id: "tmall", name: "天猫 Tmall", domains: ["evil.com"])],
            products: [
                Catalogue.ProductEntry(
                    id: "p", partner: "tmall", link: "https://evil.com/x", title: "t", priceFen: 1,
                    merchant: "m", category: "c", initialStock: 1)
            ])
        #expect(throws: VitrineError.self) { try store.importCatalogue(hijack) }
        #expect(try store.partners().first { $0.id == "tmall" }?.domains == ["tmall.com", "tmall.hk"])
        #expect(throws: VitrineError.unknownProduct("p")) { try store.product("p") }

        let suffix = Catalogue(
            partners: [Partner(id: "any", name: "Any", domains: ["com"])],
            products: [
                Catalogue.ProductEntry(
                    id: "q", partner: "any", link: "https://evil.com/x", title: "t", priceFen: 1,
                    merchant: "m", category: "c", initialStock: 1)
            ])
        #expect(throws: VitrineError.self) { try store.importCatalogue(suffix) }
        let quiet = Catalogue(partners: [Partner(id: "jd", name: "京东", domains: ["jd.com"])])
        #expect(throws: VitrineError.self) { try store.importCatalogue(quiet) }
        #expect(try store.partners().map(\.id) == ["taobao", "tmall", "weimai"])

        // Listing the registered partners as they are is fine (the seeds do).
        try store.importCatalogue(Catalogue(partners: Partner.defaults))
    }

    /// `checkIntegrity` re-validates partners and links written around the API.
    @Test func integrityReportsBadPartnersAndLinks() throws {
        let store = try makeStore()
        try store.backend.write { tx in
            try tx.set(Tuple(["partner", "tmall"]).packed, Partner(id: "tmall", name: "T", domains: ["com", "tmall.com"]).recordBytes)
            try tx.set(
                Tuple(["product", "js"]).packed, product("javascript:alert(document.cookie)", partner: "nonexistent", id: "js").recordBytes)
            try tx.set(Tuple(["product", "evil"]).packed, product("https://evil.com/x", id: "evil").recordBytes)
            try tx.set(Tuple(["product", "bs"]).packed, product(#"https://evil.com\@detail.tmall.com/"#, id: "bs").recordBytes)
            try tx.set(Tuple(["product", "upper"]).packed, product("https://Detail.tmall.com/", id: "upper").recordBytes)
        }
        let problems = try store.checkIntegrity().map(\.description)
        for expected in [
            "invalidPartner: partner tmall", "invalidLink: product js", "invalidLink: product evil",
            "invalidLink: product bs", "invalidLink: product upper",
        ] {
            #expect(problems.contains { $0.hasPrefix(expected) }, "no \(expected) in \(problems)")
        }
    }

    /// An administrative change of a partner survives the next open: opening a store registers
    /// the configured partners only when missing (it used to overwrite them on every open).
    @Test func anOpenDoesNotUndoAnAdministrativePartnerChange() throws {
        let store = try makeStore()
        let changed = Partner(id: "tmall", name: "天猫 Tmall", domains: ["tmall.com"]) // tmall.hk withdrawn
        try store.upsertPartner(changed)
        let reopened = try Store(backend: store.backend, configuration: store.configuration)
        #expect(try reopened.partners().first { $0.id == "tmall" } == changed)
        #expect(throws: VitrineError.self) { try reopened.upsertProduct(product("https://detail.tmall.hk/item.htm?id=1")) }
        // A partner missing from the store is still registered by an open.
        let fresh = try makeStore { $0.partners = Partner.defaults + [Partner(id: "jd", name: "京东", domains: ["jd.com"])] }
        #expect(try fresh.partners().contains { $0.id == "jd" })
    }
}
