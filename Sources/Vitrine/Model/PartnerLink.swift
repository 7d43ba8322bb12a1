// Partner links: the one strict parser every product link goes through, and the rule for the
// domains a partner may register.
//
// Accepted links (a strict subset of RFC 3986 that browsers, URLComponents and our check all
// read the same way):
//
//   link      = "https://" host [ ":443" ] [ path ] [ "?" query ] [ "#" fragment ]
//   host      = label *( "." label )             ; 1...253 bytes
//   label     = 1...63 of [A-Za-z0-9-], not starting or ending with "-"
//   path      = "/" *( pchar / "/" )
//   query     = *( pchar / "/" / "?" )
//   fragment  = *( pchar / "/" / "?" )             ; the same set as the query
//   pchar     = ALPHA / DIGIT / "-" / "." / "_" / "~" / "!" / "$" / "&" / "'" / "(" / ")"
//             / "*" / "+" / "," / ";" / "=" / ":" / "@" / "%" HEXDIG HEXDIG
//
// Why so strict: the whitelist is only as good as the agreement between the host we check and
// the host a browser visits. `https://evil.com\@detail.tmall.com/` is a Tmall link to
// URLComponents but an evil.com link to a browser (which reads "\" as "/"); a percent-encoded
// host (`evil.com%2F.tmall.com`) is decoded by some readers and not others. So the authority is
// read by hand and refused at the first doubt:
//   - the scheme is https (any case); the "//" authority is required;
//   - no userinfo: no "@" anywhere in the authority;
//   - no port but 443, which the canonical form drops;
//   - the host has only ASCII letters, digits, "-" and "." (so no "%", "\", "[", IP-v6 literal);
//     no empty label (no leading, trailing or double dot), labels ≤ 63 bytes, host ≤ 253 bytes;
//   - the last label starts with a letter: no IPv4 literal in any of the forms browsers accept
//     (`1.2.3.4`, `0x7f.1`, `2130706433`), no numeric top-level label;
//   - path, query and fragment use only the characters above (no space, control character,
//     backslash, quote, `<>^`{|}[]`, non-ASCII); "%" only as a valid %XX escape.
//
// Non-ASCII hosts are refused, not converted. IDNA is the UTS #46 mapping (case folding, NFC,
// disallowed code points) and then punycode; a punycode encoder alone would accept hosts a browser
// maps differently, which is the kind of disagreement this parser exists to remove. Partners
// publish their links in ASCII; a label already in its `xn--` form is accepted like any other.
//
// Canonical form, the one stored: "https://" + the host in lowercase + the rest unchanged, with
// ":443" dropped. Parsing the canonical form gives it back.
//
// Registered domains (``Partner/domains``) follow the host rules, in lowercase, and may not be a
// public suffix: not a single label (`com`), and none of ``PartnerLink/publicSuffixes``. That list
// is small and built in (the main package has no dependencies): the common second-level suffixes of
// the markets we serve and the best-known hosting suffixes. It is not the Public Suffix List; a
// suffix missing from it is caught only by review of the administrative `upsertPartner` call.

/// A product link that passed the link policy, in canonical form.
public struct PartnerLink: Hashable, Sendable {
    /// The link as stored: lowercase scheme and host, no default port.
    public let canonical: String
    /// The host, lowercase ASCII.
    public let host: String

    /// Parses `link` strictly (see the top of PartnerLink.swift).
    /// - Throws: ``VitrineError/malformedLink(_:)`` (no scheme), ``VitrineError/linkNotHTTPS(link:scheme:)``,
    ///   ``VitrineError/invalidLink(link:reason:)`` for any other part of the policy.
    public init(parsing link: String) throws {
        try self.init(parsing: link, maxBytes: Limits.linkBytes)
    }

    /// Parses a link with the purchase flow's attribution (``PurchaseIntent/Item/url``: a stored
    /// link plus the `vt_order`, `vt_expert` and `vt_rec` parameters) by the same rules, allowing
    /// the greater length such a link may have. For readers that check a link again before they
    /// show it (the static pages).
    /// - Throws: what ``init(parsing:)`` throws.
    public init(parsingAttributed link: String) throws {
        try self.init(parsing: link, maxBytes: Self.maxAttributedBytes)
    }

    /// The longest link with attribution (Store+Payment.swift): a stored link of at most
    /// `Limits.linkBytes` plus three parameters whose values are ids of at most 128 bytes, each
    /// byte percent-encoded in the worst case.
    static let maxAttributedBytes = Limits.linkBytes + 3 * (16 + 3 * 128)

    /// Parses `link` strictly, allowing up to `maxBytes` bytes.
    init(parsing link: String, maxBytes: Int) throws {
        let bytes = Array(link.utf8)
        func refuse(_ reason: String) -> VitrineError { .invalidLink(link: link, reason: reason) }
        guard bytes.count <= maxBytes else { throw refuse("longer than \(maxBytes) bytes") }

        // Scheme: ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") ":".
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0, Self.isAlpha(bytes[0]),
            bytes[1..<colon].allSatisfy({ Self.isAlpha($0) || Self.isDigit($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E })
        else { throw VitrineError.malformedLink(link) }
        let scheme = String(decoding: bytes[0..<colon], as: UTF8.self)
        guard scheme.lowercased() == "https" else { throw VitrineError.linkNotHTTPS(link: link, scheme: scheme) }
        guard bytes.count >= colon + 3, bytes[colon + 1] == 0x2F, bytes[colon + 2] == 0x2F else {
            throw refuse("the \"//\" authority is required")
        }

        // Authority: up to the first "/", "?" or "#".
        let authorityStart = colon + 3
        let authorityEnd = bytes[authorityStart...].firstIndex { $0 == 0x2F || $0 == 0x3F || $0 == 0x23 } ?? bytes.count
        let authority = bytes[authorityStart..<authorityEnd]
        if authority.contains(UInt8(ascii: "@")) { throw refuse("userinfo (\"@\" in the authority) is not allowed") }
        if authority.first == UInt8(ascii: "[") { throw refuse("an IP address is not allowed") }
        var hostBytes = authority
        if let portColon = authority.firstIndex(of: UInt8(ascii: ":")) {
            let port = authority[(portColon + 1)...]
            guard port.elementsEqual("443".utf8) else {
                throw refuse("port \"\(String(decoding: port, as: UTF8.self))\" is not allowed (only 443)")
            }
            hostBytes = authority[..<portColon]
        }
        if let problem = Self.hostProblem(hostBytes, allowUppercase: true) { throw refuse(problem) }
        let host = String(decoding: hostBytes.map(Self.lowercased), as: UTF8.self)

        // Path, query, fragment.
        let rest = bytes[authorityEnd...]
        var part = "path"
        var i = rest.startIndex
        while i < rest.endIndex {
            let b = rest[i]
            switch b {
            case 0x3F where part == "path": part = "query"
            case 0x23 where part != "fragment": part = "fragment"
            case 0x25:
                guard i + 2 < rest.endIndex, Self.isHex(rest[i + 1]), Self.isHex(rest[i + 2]) else {
                    throw refuse("\"%\" in the \(part) is not a %XX escape")
                }
                i += 2
            default:
                guard Self.isURLCharacter(b) else { throw refuse("\(Self.describe(byte: b)) is not allowed in the \(part)") }
            }
            i += 1
        }

        self.host = host
        self.canonical = "https://" + host + String(decoding: rest, as: UTF8.self)
    }

    /// Checks a domain a partner registers: a lowercase host (the rules above) that is not a
    /// public suffix.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)`` with field "partner.domains".
    public static func checkRegisteredDomain(_ domain: String) throws {
        func refuse(_ reason: String) -> VitrineError {
            .invalidArgument(field: "partner.domains", reason: "\"\(domain)\": \(reason)")
        }
        if let problem = hostProblem(Array(domain.utf8)[...], allowUppercase: false) { throw refuse(problem) }
        if !domain.contains(".") { throw refuse("a single label is a public suffix, not a partner's domain") }
        if publicSuffixes.contains(domain) { throw refuse("is a public suffix, not a partner's domain") }
    }

    /// Public suffixes refused as registered domains, beyond single labels (see the top of the file
    /// for what this list is and is not).
    public static let publicSuffixes: Set<String> = [
        // China, Hong Kong, Taiwan, Macau.
        "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn", "mil.cn",
        "com.hk", "net.hk", "org.hk", "edu.hk", "gov.hk", "idv.hk",
        "com.tw", "net.tw", "org.tw", "edu.tw", "gov.tw", "idv.tw", "com.mo", "net.mo", "org.mo",
        // Elsewhere in Asia-Pacific and beyond.
        "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "co.kr", "or.kr", "ne.kr",
        "com.sg", "net.sg", "org.sg", "edu.sg", "gov.sg", "com.my", "net.my", "org.my",
        "com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "net.nz", "org.nz",
        "co.in", "net.in", "org.in", "co.th", "in.th", "com.vn", "com.ph", "co.id",
        "co.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "ac.uk", "gov.uk",
        "com.br", "com.mx", "com.ar", "com.tr", "co.za", "com.ru",
        // Hosting platforms whose subdomains belong to different people.
        "github.io", "gitlab.io", "githubusercontent.com", "blogspot.com", "appspot.com",
        "herokuapp.com", "netlify.app", "vercel.app", "pages.dev", "workers.dev", "web.app",
        "firebaseapp.com", "cloudfront.net", "azurewebsites.net", "s3.amazonaws.com",
        "amazonaws.com", "wixsite.com", "myshopify.com",
    ]

    /// Why `host` breaks the host rules, or nil when it keeps them.
    static func hostProblem(_ host: ArraySlice<UInt8>, allowUppercase: Bool) -> String? {
        if host.isEmpty { return "the host is empty" }
        if host.count > Limits.domainBytes { return "the host is longer than \(Limits.domainBytes) bytes" }
        for b in host {
            if b >= 0x80 { return "a non-ASCII host is not accepted (give its xn-- form)" }
            if b == 0x25 { return "percent-encoding in the host is not allowed" }
            if isAlpha(b) && !allowUppercase && lowercased(b) != b { return "the host must be lowercase" }
            guard isAlpha(b) || isDigit(b) || b == 0x2D || b == 0x2E else {
                return "\(describe(byte: b)) is not allowed in the host"
            }
        }
        if host.last == 0x2E { return "a trailing dot in the host is not allowed" }
        let labels = host.split(separator: 0x2E, omittingEmptySubsequences: false)
        for label in labels {
            if label.isEmpty { return "the host has an empty label" }
            if label.count > 63 { return "a host label is longer than 63 bytes" }
            if label.first == 0x2D || label.last == 0x2D { return "a host label starts or ends with \"-\"" }
        }
        if let top = labels.last?.first, !isAlpha(top) {
            return "an IP address or a numeric top-level label is not allowed"
        }
        return nil
    }

    static func isAlpha(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
    static func isDigit(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) }
    static func isHex(_ b: UInt8) -> Bool { isDigit(b) || (0x41...0x46).contains(b) || (0x61...0x66).contains(b) }
    static func lowercased(_ b: UInt8) -> UInt8 { (0x41...0x5A).contains(b) ? b + 0x20 : b }

    /// unreserved, sub-delims, ":", "@", "/", "?" (RFC 3986's pchar, query and fragment sets
    /// without "%", which the caller checks as an escape).
    static func isURLCharacter(_ b: UInt8) -> Bool {
        if isAlpha(b) || isDigit(b) { return true }
        return Array("-._~!$&'()*+,;=:@/?".utf8).contains(b)
    }

    static func describe(byte b: UInt8) -> String {
        if b == 0x5C { return "a backslash" }
        if b >= 0x80 { return "a non-ASCII character (percent-encode it)" }
        if b < 0x21 || b == 0x7F { return "a space or control character" }
        return "\"\(Character(Unicode.Scalar(b)))\""
    }
}
