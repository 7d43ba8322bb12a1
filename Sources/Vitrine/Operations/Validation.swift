// Argument checks shared by the operations. Limits keep every record far below 100 KB.

enum Limits {
    static let textBytes = 1024 // titles, names, merchants
    static let categoryBytes = 64
    static let linkBytes = 2048
    static let domainBytes = 253
    static let listCount = 64 // categories, interests, domains
    static let requestIDBytes = 128 // idempotency keys, request ids, guest ids
}

func validateText(_ value: String, field: String, maxBytes: Int = Limits.textBytes, allowEmpty: Bool = false) throws {
    if !allowEmpty && value.isEmpty { throw VitrineError.invalidArgument(field: field, reason: "must not be empty") }
    if value.utf8.count > maxBytes {
        throw VitrineError.invalidArgument(field: field, reason: "longer than \(maxBytes) bytes")
    }
}

/// Categories are part of keys (showcase_cat, feed), so they follow the key-string rule.
func validateCategory(_ value: String, field: String = "category") throws {
    try validateKeyText(value, field: field, maxBytes: Limits.categoryBytes)
}

func validateList(_ values: [String], field: String, maxBytes: Int) throws {
    if values.count > Limits.listCount {
        throw VitrineError.invalidArgument(field: field, reason: "more than \(Limits.listCount) entries")
    }
    for v in values { try validateText(v, field: field, maxBytes: maxBytes) }
}

func validateOwner(_ owner: CartOwner) throws {
    switch owner {
    case .user(let u): try u.validate()
    case .guest(let g): try validateIdentifier(g, field: "guest")
    }
}

extension Store {
    /// Checks a partner: its id, its name, and each domain (a lowercase host that is not a public
    /// suffix, see ``PartnerLink/checkRegisteredDomain(_:)``).
    static func validate(_ partner: Partner) throws {
        try partner.id.validate()
        try validateText(partner.name, field: "partner.name")
        if partner.domains.isEmpty { throw VitrineError.invalidArgument(field: "partner.domains", reason: "must not be empty") }
        try validateList(partner.domains, field: "partner.domains", maxBytes: Limits.domainBytes)
        for domain in partner.domains { try PartnerLink.checkRegisteredDomain(domain) }
    }

    /// Parses `link` strictly (``PartnerLink``) and checks that its host is on one of `partner`'s
    /// domains. Returns the canonical form, the one to store.
    static func validateLink<R: OrderedKeyValueReader>(_ link: String, partner id: PartnerID, in tx: R) throws -> String {
        guard let partner = try tx.load(Partner.self, Keys.partner(id)) else { throw VitrineError.unknownPartner(id) }
        return try validateLink(link, partner: partner)
    }

    /// `validateLink` against a partner already read.
    static func validateLink(_ link: String, partner: Partner) throws -> String {
        let parsed = try PartnerLink(parsing: link)
        guard partner.owns(host: parsed.host) else {
            throw VitrineError.linkHostNotAllowed(host: parsed.host, partner: partner.id, allowedDomains: partner.domains)
        }
        return parsed.canonical
    }

    func validateReason(_ reason: String) throws {
        let limit = configuration.maxReasonLength
        let length = reason.count
        if length > limit || reason.utf8.count > limit.multipliedReportingOverflow(by: 4).partialValue {
            throw VitrineError.reasonTooLong(length: length, limit: limit)
        }
        if reason.isEmpty { throw VitrineError.invalidArgument(field: "reason", reason: "must not be empty") }
    }

    func validateLineQuantity(_ quantity: Int64) throws {
        guard configuration.lineQuantity.contains(quantity) else {
            throw VitrineError.quantityOutOfRange(quantity, allowed: configuration.lineQuantity)
        }
    }
}
