// The strict link parser's reasons, and the API built on it: adding partners by an explicit
// import flag, and checking dumped records before a restore.

import Foundation
import Testing

@testable import Vitrine

@Suite struct PartnerLinkTests {
    func reason(_ link: String) -> String? {
        do {
            _ = try PartnerLink(parsing: link)
            return nil
        } catch VitrineError.invalidLink(_, let reason) {
            return reason
        } catch {
            return "\(error)"
        }
    }

    @Test func reasonsNameTheProblem() {
        #expect(reason(#"https://evil.com\@detail.tmall.com/"#) == #"userinfo ("@" in the authority) is not allowed"#)
        #expect(reason(#"https://evil.com\.tmall.com/"#) == "a backslash is not allowed in the host")
        #expect(reason("https://evil.com%2F.tmall.com/") == "percent-encoding in the host is not allowed")
        #expect(reason("https://detail.tmall.com:8443/") == #"port "8443" is not allowed (only 443)"#)
        #expect(reason("https://detail.tmall.com./") == "a trailing dot in the host is not allowed")
        #expect(reason("https://detail..tmall.com/") == "the host has an empty label")
        #expect(reason("https://127.0.0.1/") == "an IP address or a numeric top-level label is not allowed")
        #expect(reason("https://[::1]/") == "an IP address is not allowed")
        #expect(reason("https://dé.tmall.com/") == "a non-ASCII host is not accepted (give its xn-- form)")
        #expect(reason("https:detail.tmall.com") == #"the "//" authority is required"#)
        #expect(reason("https://detail.tmall.com/a b") == "a space or control character is not allowed in the path")
        #expect(reason("https://detail.tmall.com/?q=%G1") == #""%" in the query is not a %XX escape"#)
        #expect(reason("https://detail.tmall.com/#a#b") == "\"#\" is not allowed in the fragment")
        #expect(reason("https://" + String(repeating: "a", count: 64) + ".com/") == "a host label is longer than 63 bytes")
        #expect(reason("https://" + String(repeating: "a.", count: 127) + "com/") == "the host is longer than 253 bytes")
        #expect(reason("https://x.com/" + String(repeating: "a", count: 2048)) == "longer than 2048 bytes")
        #expect(throws: VitrineError.linkNotHTTPS(link: "javascript:alert(1)", scheme: "javascript")) {
            try PartnerLink(parsing: "javascript:alert(1)")
        }
        #expect(throws: VitrineError.malformedLink("not a url")) { try PartnerLink(parsing: "not a url") }
        #expect(throws: VitrineError.malformedLink("")) { try PartnerLink(parsing: "") }
    }

    @Test func canonicalFormIsAFixedPoint() throws {
        let link = try PartnerLink(parsing: "hTTpS://WeiMai.COM:443?x=Y")
        #expect(link.canonical == "https://weimai.com?x=Y" && link.host == "weimai.com")
        #expect(try PartnerLink(parsing: link.canonical) == link)
    }

    @Test func registeredDomains() throws {
        try PartnerLink.checkRegisteredDomain("tmall.com")
        try PartnerLink.checkRegisteredDomain("tb.cn")
        #expect(
            throws: VitrineError.invalidArgument(field: "partner.domains", reason: #""com.cn": is a public suffix, not a partner's domain"#)
        ) {
            try PartnerLink.checkRegisteredDomain("com.cn")
        }
        #expect(
            throws: VitrineError.invalidArgument(
                field: "partner.domains", reason: #""com": a single label is a public suffix, not a partner's domain"#)
        ) {
            try PartnerLink.checkRegisteredDomain("com")
        }
    }

    @Test func importAddsPartnersOnlyWhenAsked() throws {
        let store = try makeStore()
        let jd = Catalogue(
            partners: [Partner(id: "jd", name: "京东", domains: ["jd.com"])],
            products: [
                Catalogue.ProductEntry(
                    id: "p", partner: "jd", link: "https://item.jd.com/1.html", title: "t", priceFen: 1,
                    merchant: "m", category: "c", initialStock: 1)
            ])
        #expect(throws: VitrineError.self) { try store.importCatalogue(jd) }
        #expect(try store.partners().map(\.id) == ["taobao", "tmall", "weimai"])
        try store.importCatalogue(jd, addingPartners: true)
        #expect(try store.partners().map(\.id) == ["jd", "taobao", "tmall", "weimai"])
        try store.importCatalogue(jd) // registered now, and the same: fine
        // Even when adding is allowed, a registered partner is never redefined.
        var hijack = jd
        hijack.partners = [Partner(id: "tmall", name: "天猫 Tmall", domains: ["evil.com"])]
        hijack.products = []
        #expect(throws: VitrineError.self) { try store.importCatalogue(hijack, addingPartners: true) }
        #expect(try store.partners().first { $0.id == "tmall" } == .tmall)
    }

    @Test func restoreProblemsFindWhatTheAPIWouldRefuse() throws {
        let source = try makeStore()
        try source.importCatalogue(CatalogueGenerator(seed: 7).catalogue(.demo))
        var records: [DumpedRecord] = []
        try source.backend.forEachRecord { records.append($0) }
        let target = try makeStore()
        #expect(try target.restoreProblems(records).isEmpty)

        func product(_ link: String, partner: PartnerID) -> Product {
            Product(id: "bad", partner: partner, link: link, title: "T", priceFen: 1, merchant: "M", category: "c", initialStock: 1)
        }
        func problems(_ record: DumpedRecord) throws -> [String] { try target.restoreProblems([record]).map(\.description) }
        let js = DumpedRecord(
            key: Tuple(["product", "bad"]).packed, value: product("javascript:alert(document.cookie)", partner: "nonexistent").recordBytes)
        #expect(try problems(js).contains { $0.hasPrefix("invalidRecord: (\"product\", \"bad\")") && $0.contains("javascript") })
        #expect(try problems(js).contains { $0.hasPrefix("invalidLink: product bad: partner nonexistent is not registered") })
        let evil = DumpedRecord(key: Tuple(["product", "bad"]).packed, value: product("https://evil.com/", partner: "tmall").recordBytes)
        #expect(try problems(evil).contains { $0.hasPrefix("invalidLink: product bad") })
        let elsewhere = DumpedRecord(
            key: Tuple(["product", "other"]).packed, value: product("https://tmall.com/", partner: "tmall").recordBytes)
        #expect(try problems(elsewhere).contains { $0.contains(#"belongs under ("product", "bad")"#) })
        let suffix = DumpedRecord(
            key: Tuple(["partner", "tmall"]).packed, value: Partner(id: "tmall", name: "T", domains: ["com"]).recordBytes)
        #expect(try problems(suffix).contains { $0.hasPrefix("invalidRecord: (\"partner\", \"tmall\")") })
        var ledger = product("https://tmall.com/", partner: "tmall")
        ledger.stock = 99
        #expect(
            try problems(DumpedRecord(key: Tuple(["product", "bad"]).packed, value: ledger.recordBytes)).contains { $0.contains("ledger") })
        #expect(try problems(DumpedRecord(key: [0xFE], value: [])).contains { $0.hasPrefix("corruptRecord") })
        #expect(
            try problems(DumpedRecord(key: Tuple(["product", "bad"]).packed, value: [3, 1, 0xFF])).contains {
                $0.hasPrefix("corruptRecord")
            })
        // Nothing was written.
        #expect(throws: VitrineError.unknownProduct("bad")) { try target.product("bad") }
    }
}
