// One line of text and an exit code for every error the library and the engine throw.

import Foundation
import Vitrine
import VitrineEtcd
import VitrineStore

/// The message and exit code for `error` (see Command.swift for the codes).
func describe(_ error: Error) -> (message: String, code: Int32) {
    switch error {
    case let e as CLIError: return (e.message, e.code)
    case let e as UsageError: return (e.message, 2)
    case let e as VitrineError: return (describe(e), code(of: e))
    case let e as StoreError:
        switch e {
        case .notADatabase, .databaseLocked, .unsupportedFormatVersion: return (e.description, 2)
        default: return (e.description, 1)
        }
    case let e as FormatError: return ("malformed data: \(e)", 1)
    case let e as EtcdError:
        switch e {
        // A cluster that cannot be reached is a database that cannot be opened.
        case .unavailable, .invalidConfiguration: return (e.description, 2)
        default: return (e.description, 1)
        }
    case let e as CocoaError:
        let path = (e.userInfo[NSFilePathErrorKey] as? String) ?? e.filePath ?? "file"
        switch e.code {
        case .fileReadNoSuchFile: return ("\(path): no such file", 2)
        case .fileReadNoPermission: return ("\(path): permission denied", 2)
        default: return ("\(path): cannot be read (\(e.localizedDescription))", 2)
        }
    default:
        return ("\(error)", 1)
    }
}

private func code(of error: VitrineError) -> Int32 {
    switch error {
    case .invalidArgument, .invalidCursor, .incompatibleFormat: return 2
    default: return 1
    }
}

/// A VitrineError as one line of text.
func describe(_ error: VitrineError) -> String {
    switch error {
    case .unknownPartner(let id): return "unknown partner \"\(id)\""
    case .unknownProduct(let id): return "unknown product \"\(id)\""
    case .unknownExpert(let id): return "unknown expert \"\(id)\""
    case .unknownUser(let id): return "unknown user \"\(id)\""
    case .unknownRecommendation(let id): return "unknown recommendation \"\(id)\""
    case .unknownOrder(let id): return "no order \"\(id)\""
    case .malformedLink(let link): return "malformed link \"\(link)\""
    case .linkNotHTTPS(let link, let scheme): return "link \"\(link)\" uses \(scheme), not https"
    case .invalidLink(let link, let reason): return "link \"\(link)\" is refused: \(reason)"
    case .linkHostNotAllowed(let host, let partner, let domains):
        return "link host \(host) is not one of \(partner)'s domains (\(domains.joined(separator: ", ")))"
    case .quantityOutOfRange(let q, let allowed):
        return "quantity \(q) is outside \(allowed.lowerBound)...\(allowed.upperBound == .max ? "" : String(allowed.upperBound))"
    case .cartFull(let limit): return "the cart is full (\(limit) lines)"
    case .productOffSale(let id): return "product \"\(id)\" is not on sale"
    case .recommendationWithdrawn(let id): return "recommendation \"\(id)\" was withdrawn"
    case .recommendationNotForProduct(let rec, let product): return "recommendation \"\(rec)\" is not for product \"\(product)\""
    case .notInCart(let product, let rec): return "product \"\(product)\"\(rec.map { " through \"\($0)\"" } ?? "") is not in the cart"
    case .moreThanInCart(let product, let rec, let requested, let inCart):
        return "\(requested) units of product \"\(product)\"\(rec.map { " through \"\($0)\"" } ?? "") asked, the cart line holds \(inCart)"
    case .unknownGuest(let id): return "unknown guest \"\(id)\" (guest ids are issued by 'vitrine guest')"
    case .buyerLimitExceeded(let product, let limit): return "a cart may have at most \(limit) units of product \"\(product)\""
    case .outOfStock(let shortages):
        return "out of stock: "
            + shortages.map { s in
                "product \(s.product)\(s.recommendation.map { " via \($0)" } ?? ""): requested \(s.requested), available \(s.available) (\(s.reason.rawValue))"
            }.joined(separator: "; ")
    case .priceChanged(let changes):
        return "prices changed (use --accept-price-changes): "
            + changes.map { c in
                "product \(c.product): \(money(c.oldUnitPriceFen)) -> \(money(c.newUnitPriceFen))"
            }.joined(separator: "; ")
    case .totalMismatch(let expected, let actual):
        return "the total is \(money(actual)), not the \(money(expected)) agreed (--expect-total): prices changed"
    case .idempotencyKeyReused(let key, let order): return "idempotency key \"\(key)\" was already used for order \(order) with other lines"
    case .orderStatusConflict(let id, let status): return "order \(id) is \(statusName(status))"
    case .emptyCheckout: return "nothing to check out: the cart is empty"
    case .paymentOverdue(let id, let due): return "order \(id) was due to be paid by \(isoTime(due)): it expired"
    case .partnerNotInOrder(let id, let partner): return "order \(id) has no line from partner \"\(partner)\""
    case .paymentAlreadyConfirmed(let id, let partner, let ref):
        return "partner \"\(partner)\" of order \(id) was already confirmed with reference \"\(ref)\""
    case .paymentReferenceInUse(let ref, let partner, let order):
        return "reference \"\(ref)\" of partner \"\(partner)\" is already recorded for order \(order)"
    case .settlementWindowOpen(let id, let at): return "order \(id) may be settled from \(isoTime(at)) (settlement window)"
    case .notInOrder(let id, let product, let rec):
        return "order \(id) has no line of product \"\(product)\"\(rec.map { " through \"\($0)\"" } ?? "")"
    case .moreThanInOrder(let id, let product, let requested, let available):
        return "\(requested) units of product \"\(product)\" asked, order \(id) has \(available) left for that"
    case .reasonTooLong(let length, let limit): return "reason of \(length) characters is longer than \(limit)"
    case .idConflict(let kind, let id): return "\(kind) \"\(id)\" already exists with other content"
    case .invalidArgument(let field, let reason): return "\(field) \(reason)"
    case .amountOverflow(let field): return "\(field) would overflow"
    case .invalidCursor: return "invalid cursor (pass the token a previous page printed)"
    case .corruptRecord(let key, let format): return "corrupt record under key \(describeKey(key)): \(format)"
    case .incompatibleFormat(let found, let supported): return "records of format version \(found); this build reads \(supported)"
    case .invalidCatalogue(let text): return "invalid catalogue: \(text)"
    }
}

/// A key as its tuple, or hex.
func describeKey(_ key: [UInt8]) -> String {
    if let t = try? Tuple(unpacking: key) { return t.description }
    return "0x" + key.map { String(format: "%02x", $0) }.joined()
}
