// The link and partner part of `checkIntegrity`: the whitelist re-validated over what is stored,
// so that a partner or a link written around the API (an old build, a raw restore, an engine-level
// edit) is reported, not trusted.
//
// Checked:
//   - every partner decodes, is stored under its own id, and passes `Store.validate(_:)` (id, name,
//     each domain a lowercase host that is not a public suffix);
//   - every product's partner is registered, and its link passes the link policy (`PartnerLink`),
//     is stored in canonical form, and has a host on one of the partner's domains that are
//     themselves valid (a domain such as "com" covers nothing).

extension Store {
    /// Problems with partners and product links (see the top of this file).
    /// - Throws: backend errors only.
    static func partnerAndLinkProblems<R: OrderedKeyValueReader>(
        _ tx: R, products: [ProductID: Product]
    ) throws -> [IntegrityProblem] {
        var problems: [IntegrityProblem] = []
        func report(_ kind: IntegrityProblem.Kind, _ subject: String, _ detail: String) {
            problems.append(IntegrityProblem(kind: kind, subject: subject, detail: detail))
        }
        // Each partner with only its valid domains: what links may be checked against.
        var partners: [PartnerID: Partner] = [:]
        try tx.scan(Keys.partners) { pair in
            let partner: Partner
            do { partner = try Partner(recordBytes: pair.value) } catch {
                report(.corruptRecord, Tuple.describe(pair.key), "\(error)")
                return
            }
            let subject = "partner \(partner.id)"
            if pair.key != Keys.partner(partner.id) {
                report(.invalidPartner, subject, "stored under \(Tuple.describe(pair.key))")
            }
            do { try validate(partner) } catch { report(.invalidPartner, subject, "\(error)") }
            var usable = partner
            usable.domains = partner.domains.filter { (try? PartnerLink.checkRegisteredDomain($0)) != nil }
            partners[partner.id] = usable
        }
        for p in products.values.sorted(by: { $0.id < $1.id }) {
            let subject = "product \(p.id)"
            guard let partner = partners[p.partner] else {
                report(.invalidLink, subject, "partner \(p.partner) is not registered")
                continue
            }
            do {
                let canonical = try validateLink(p.link, partner: partner)
                if canonical != p.link { report(.invalidLink, subject, "link \"\(p.link)\" is not in canonical form \"\(canonical)\"") }
            } catch {
                report(.invalidLink, subject, "\(error)")
            }
        }
        return problems
    }
}
