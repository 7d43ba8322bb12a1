// The one gate between a stored link and an `<a href>` to another site. The store checked the
// link when it was written, but a page must not trust the file: a record can be restored from a
// dump, or tampered with. So every partner link is checked again here, with the same strict
// parser (`PartnerLink`, Vitrine's Model/PartnerLink.swift):
//   - it parses (https only, no userinfo, no port but 443, an ASCII host, only the URL
//     characters that parser allows: no quote, space, "<", ">" or backslash can pass);
//   - it is already in canonical form (parsing gives back the same string), so what is checked
//     is exactly what is written;
//   - its host belongs to the product's own partner, and that partner is registered.
// A link that fails any of these is never written as a link: the page shows it as text, with
// the reason (LinkCheck.refused).

import Vitrine

/// The result of checking a partner link before it becomes an `<a href>`.
public enum LinkCheck: Hashable, Sendable {
    /// The link may be written as an `href` (canonical, https, on the partner's domains).
    case allowed(String)
    /// The link must be shown as text; `reason` says why.
    case refused(reason: String)

    /// Checks `link` against `partner`.
    /// - Parameters:
    ///   - link: the link as stored (or as the purchase flow attributed it).
    ///   - partner: the product's partner; nil when it is not registered (always refused).
    ///   - attributed: whether `link` carries the purchase flow's attribution parameters, which
    ///     allow a longer link.
    public static func check(_ link: String, partner: Partner?, attributed: Bool = false) -> LinkCheck {
        guard let partner else { return .refused(reason: "the product's partner is not registered") }
        let parsed: PartnerLink
        do {
            parsed = attributed ? try PartnerLink(parsingAttributed: link) : try PartnerLink(parsing: link)
        } catch VitrineError.malformedLink {
            return .refused(reason: "not a link (no scheme)")
        } catch VitrineError.linkNotHTTPS(_, let scheme) {
            return .refused(reason: "uses \(scheme), not https")
        } catch VitrineError.invalidLink(_, let reason) {
            return .refused(reason: reason)
        } catch {
            return .refused(reason: "not a valid partner link")
        }
        guard parsed.canonical.utf8.elementsEqual(link.utf8) else {
            return .refused(reason: "not in canonical form")
        }
        guard partner.owns(host: parsed.host) else {
            return .refused(reason: "host \(parsed.host) is not on \(partner.name)'s domains")
        }
        return .allowed(parsed.canonical)
    }
}
