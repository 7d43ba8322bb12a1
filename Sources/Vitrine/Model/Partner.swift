// Partner platform record.
//
// Record kind 2. Fields: 1 id (text), 2 name (text), 3 domains (text, repeated, lowercase).

/// A partner platform whose product links the store accepts (Tmall, Taobao, Weimai, ...).
public struct Partner: Hashable, Sendable, Codable {
    /// The partner's id ("tmall", "taobao", "weimai").
    public var id: PartnerID
    /// Display name, e.g. "天猫 Tmall".
    public var name: String
    /// Host names this partner's links may use. A host matches a domain when it equals it or ends
    /// with "." followed by it (`detail.tmall.com` matches `tmall.com`). Each is a lowercase ASCII
    /// host and never a public suffix (``PartnerLink/checkRegisteredDomain(_:)``).
    public var domains: [String]

    /// A partner (its domains are checked when it is registered).
    public init(id: PartnerID, name: String, domains: [String]) {
        self.id = id
        self.name = name
        self.domains = domains
    }

    /// Tmall (天猫): tmall.com, tmall.hk.
    public static let tmall = Partner(id: "tmall", name: "天猫 Tmall", domains: ["tmall.com", "tmall.hk"])
    /// Taobao (淘宝): taobao.com, tb.cn.
    public static let taobao = Partner(id: "taobao", name: "淘宝 Taobao", domains: ["taobao.com", "tb.cn"])
    /// Weimai (微卖): weimai.com.
    public static let weimai = Partner(id: "weimai", name: "微卖 Weimai", domains: ["weimai.com"])
    /// The default partner set.
    public static let defaults: [Partner] = [.tmall, .taobao, .weimai]

    /// Whether `host` (lowercase) belongs to one of this partner's domains.
    public func owns(host: String) -> Bool {
        domains.contains { domain in
            let d = domain.lowercased()
            return host == d || host.hasSuffix("." + d)
        }
    }
}

extension Partner: BinaryRecord {
    public var recordBytes: [UInt8] {
        var w = RecordWriter(kind: .partner)
        w.writeString(1, id.rawValue)
        w.writeString(2, name)
        for d in domains { w.writeString(3, d) }
        return w.bytes
    }

    public init(recordBytes: [UInt8]) throws {
        let f = try RecordFields(record: recordBytes, kind: .partner)
        id = PartnerID(try f.string(1))
        name = try f.string(2)
        domains = try f.strings(3)
    }
}
