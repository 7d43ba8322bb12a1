// The HTTP answers the etcd client reads are untrusted: every framing is parsed, every bad one
// is a typed outcome, never a trap. No cluster needed.

import Foundation
import Testing

@testable import VitrineEtcd

struct HTTPParseTests {
    func parse(_ text: String, complete: Bool = false) -> String {
        switch HTTPPost.parse(Data(text.utf8), complete: complete) {
        case nil: return "more"
        case .answer(let status, let body)?: return "\(status) \(String(decoding: body, as: UTF8.self))"
        case .notSent(let r)?: return "notSent \(r)"
        case .lost?: return "lost"
        }
    }

    @Test func framings() {
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}") == "200 {}")
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{}") == "more")
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{}", complete: true) == "lost")
        #expect(parse("HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n3\r\nabc\r\n0\r\n\r\n") == "400 {}abc")
        #expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{") == "more")
        #expect(parse("HTTP/1.1 200 OK\r\n\r\nto the end", complete: true) == "200 to the end")
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Le", complete: true) == "lost")
    }

    @Test func hostileFramingsAreLostNotTraps() {
        #expect(parse("garbage\r\n\r\n") == "lost")
        #expect(parse("HTTP/1.1 99999999999999999999 X\r\n\r\n") == "lost")
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") == "lost")
        #expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n") == "lost")
        #expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n") == "lost")
        #expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n") == "lost")
        #expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == "lost")
    }

    @Test func wireFieldsOfTheWrongTypeAreMalformed() {
        #expect(throws: EtcdError.self) { try Wire.pairs(["kvs": "no"], endpoint: "x") }
        #expect(throws: EtcdError.self) { try Wire.pairs(["kvs": [["key": "!!"]]], endpoint: "x") }
        #expect(throws: EtcdError.self) { try Wire.pairs(["kvs": [["key": "YQ==", "mod_revision": "x"]]], endpoint: "x") }
        #expect(throws: EtcdError.self) { try Wire.revision(["header": ["revision": 1.5]], endpoint: "x") }
        #expect(Wire.int64(1e300) == nil)
        #expect(Wire.int64("12") == 12)
        #expect((try? Wire.pairs(["kvs": [["key": "YQ==", "mod_revision": "3"]]], endpoint: "x"))?.pairs.first?.value == [])
    }
}

extension HTTPParseTests {
    @Test func keepAliveNeedsAnExactlyFramedAnswer() {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
        #expect(
            HTTPPost.parseFraming(Data(chunked.utf8), complete: false).map { ($0.consumed, $0.keepAlive) }! == (chunked.utf8.count, true))
        let closing = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
        #expect(HTTPPost.parseFraming(Data(closing.utf8), complete: false)?.keepAlive == false)
        let toEOF = "HTTP/1.1 200 OK\r\n\r\n{}"
        #expect(HTTPPost.parseFraming(Data(toEOF.utf8), complete: true)?.keepAlive == false)
    }
}
