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
        #expect(throws: VitrineError.invalidArgument(field: "partner.domains", reason: #""com.cn": is a public suffix, not a partner's domain"#)) {
            try PartnerLink.checkRegisteredDomain("com.cn")
        }
        #expect(throws: VitrineError.invalidArgument(field: "partner.domains", reason: #""com": a single label is a public suffix, not a partner's domain"#)) {
            try PartnerLink.checkRegisteredDomain("com")
        }
    }
}
