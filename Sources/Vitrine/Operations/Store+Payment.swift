// The purchase flow after checkout: the intermediate page's purchase intents, the partners'
// payment confirmations, and the expiry of orders nobody paid.
//
// State machine of an order (OrderStatus; each arrow is one transaction):
//
//   checkout ──> placed (awaiting payment; stock, recommendation quantity and commission taken)
//     placed ──confirm the last unpaid partner──> paid            (paidAt = now)
//     placed ──now >= paymentDueAt, none paid──> expired          (everything given back)
//     placed ──now >= paymentDueAt, some paid──> paid             (the unpaid partners' lines
//                                                                   cancelled, given back)
//     placed | paid ──cancel──> cancelled                          (the kept units given back)
//     paid ──settle, now >= paidAt + settlementWindow──> settled   (commission payable)
//   Partial cancels (placed, paid) and returns (paid, settled) change lines, not the status,
//   except that cancelling the last kept unit cancels the order (Store+AfterSale.swift).
//
// An order's lines are grouped into one sub-order per partner (a reader pays each partner on
// its own site). A purchase intent is the intermediate page's hand-off for one sub-order: the
// lines and, per line, the product's stored canonical link with the attribution added as query
// parameters (`vt_order`, `vt_expert`, `vt_rec`, values percent-encoded, everything but
// unreserved characters), parsed again by `PartnerLink` and checked against the partner's
// domains, so it can only be an https link on the partner's own hosts.
//
// Confirmation records the partner's order reference for its sub-order (Payment record, and the
// reference's index entry, which makes it one order's only). Idempotent by reference: the same
// (partner, reference) again returns the order and changes nothing; another reference for a
// confirmed sub-order, or a reference another order holds, is a typed error.
//
// Expiry is lazy and bounded: an order past its `paymentDueAt` takes no confirmation
// (`paymentOverdue`); every checkout first expires up to `expiriesPerCheckout` overdue orders
// (oldest first, through the `order_due` index), so their stock is back before it is counted;
// and `expireOverdueOrders(limit:)` is the sweep (CLI `expire`). Orders placed before the purchase
// flow have no `paymentDueAt`: they never expire, and settle as paid at their `placedAt`.

/// The hand-off to one partner for its part of an order (the intermediate page's link).
public struct PurchaseIntent: Hashable, Sendable, Codable {
    /// One line of a partner's sub-order, with its link.
    public struct Item: Hashable, Sendable, Codable {
        /// The product.
        public var product: ProductID
        /// The recommendation it was bought through, or nil.
        public var recommendation: RecommendationID?
        /// The expert who earns the commission, or nil.
        public var expert: ExpertID?
        /// Units still bought (not cancelled).
        public var quantity: Int64
        /// Those units at the checkout price, in fen.
        public var lineTotalFen: Int64
        /// The product's canonical partner link with the attribution parameters.
        public var url: String
    }

    /// The order.
    public var order: OrderID
    /// The partner paid on its own page for these lines.
    public var partner: PartnerID
    /// The lines of this partner's sub-order that are still bought (not cancelled).
    public var items: [Item]
    /// The sum of the items' totals, in fen.
    public var totalFen: Int64
    /// The partner's confirmation, once recorded.
    public var payment: Payment?
}

/// What a confirmation did.
public struct PaymentConfirmation: Hashable, Sendable {
    /// The order after the confirmation.
    public var order: Order
    /// True when this (partner, reference) was already recorded: nothing changed.
    public var isReplay: Bool
}

extension Store {
    /// Overdue orders a checkout expires before it counts stock.
    static var expiriesPerCheckout: Int { 8 }

    /// The purchase intents of an order awaiting payment, one per partner, in partner id order.
    /// - Throws: ``VitrineError/orderStatusConflict(_:status:)`` (not awaiting payment),
    ///   ``VitrineError/paymentOverdue(_:dueAt:)``, ``VitrineError/unknownOrder(_:)``,
    ///   ``VitrineError/unknownProduct(_:)``, ``VitrineError/unknownPartner(_:)``, the link errors
    ///   of ``PartnerLink`` (a stored link that no longer passes); backend errors.
    public func purchaseIntents(for id: OrderID) throws -> [PurchaseIntent] {
        try id.validate()
        let now = self.now
        return try backend.read { tx in
            let order = try tx.order(id)
            guard order.status == .placed else { throw VitrineError.orderStatusConflict(id, status: order.status) }
            if let due = order.paymentDueAt, due <= now { throw VitrineError.paymentOverdue(id, dueAt: due) }
            var intents: [PurchaseIntent] = []
            for partnerID in Self.partners(of: order) {
                guard let partner = try tx.load(Partner.self, Keys.partner(partnerID)) else {
                    throw VitrineError.unknownPartner(partnerID)
                }
                var items: [PurchaseIntent.Item] = []
                var total: Int64 = 0
                for line in order.lines where line.partner == partnerID && line.keptQuantity > 0 {
                    let product = try tx.product(line.product)
                    let url = try Self.attributedLink(
                        product.link, partner: partner,
                        [("vt_order", order.id.rawValue), ("vt_expert", line.expert?.rawValue), ("vt_rec", line.recommendation?.rawValue)])
                    let lineTotal = try checkedMultiply(line.unitPriceFen, line.keptQuantity, "lineTotalFen")
                    total = try checkedAdd(total, lineTotal, "totalFen")
                    items.append(
                        PurchaseIntent.Item(
                            product: line.product, recommendation: line.recommendation, expert: line.expert,
                            quantity: line.keptQuantity, lineTotalFen: lineTotal, url: url))
                }
                guard !items.isEmpty else { continue }
                let payment = try tx.load(Payment.self, Keys.payment(id, partnerID))
                intents.append(PurchaseIntent(order: id, partner: partnerID, items: items, totalFen: total, payment: payment))
            }
            return intents
        }
    }

    /// `link` (a stored, canonical partner link) with `parameters` added to its query, each value
    /// percent-encoded; parsed again and checked against the partner's domains.
    static func attributedLink(_ link: String, partner: Partner, _ parameters: [(String, String?)]) throws -> String {
        let canonical = try PartnerLink(parsing: link).canonical
        var main = Substring(canonical)
        var fragment: Substring? = nil
        if let hash = canonical.firstIndex(of: "#") {
            main = canonical[..<hash]
            fragment = canonical[canonical.index(after: hash)...]
        }
        let query = parameters.compactMap { name, value in value.map { name + "=" + percentEncoded($0) } }.joined(separator: "&")
        let separator = !main.contains("?") ? "?" : (main.hasSuffix("?") || main.hasSuffix("&") ? "" : "&")
        let tail: String = fragment.map { "#" + String($0) } ?? ""
        let url: String = String(main) + separator + query + tail
        let parsed = try PartnerLink(parsing: url, maxBytes: PartnerLink.maxAttributedBytes)
        guard parsed.canonical == url, partner.owns(host: parsed.host) else {
            throw VitrineError.linkHostNotAllowed(host: parsed.host, partner: partner.id, allowedDomains: partner.domains)
        }
        return url
    }

    /// Percent-encodes every byte of the UTF-8 form but the unreserved characters (RFC 3986).
    static func percentEncoded(_ value: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in value.utf8 {
            if PartnerLink.isAlpha(b) || PartnerLink.isDigit(b) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E {
                out.append(b)
            } else {
                out += [0x25, hex[Int(b >> 4)], hex[Int(b & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The partners of an order's lines, in id order.
    static func partners(of order: Order) -> [PartnerID] {
        Set(order.lines.map(\.partner)).sorted()
    }

    /// Records that `partner` was paid for its sub-order of `order`, under the partner's order
    /// `reference`; the order becomes paid when every partner of its kept lines is.
    ///
    /// - Parameters:
    ///   - id: the order.
    ///   - partner: the sub-order's partner; nil when the order has one partner only.
    ///   - reference: the partner's order reference (a key string of at most 128 bytes).
    /// - Returns: the order, and whether the call was a replay (same partner and reference again:
    ///   nothing changed).
    /// - Throws: ``VitrineError/paymentAlreadyConfirmed(_:partner:reference:)``,
    ///   ``VitrineError/paymentReferenceInUse(reference:partner:order:)``,
    ///   ``VitrineError/paymentOverdue(_:dueAt:)``, ``VitrineError/orderStatusConflict(_:status:)``
    ///   (cancelled, expired, already paid or settled), ``VitrineError/partnerNotInOrder(_:partner:)``,
    ///   ``VitrineError/unknownOrder(_:)``, ``VitrineError/invalidArgument(field:reason:)`` (a
    ///   multi-partner order without `partner`, a bad reference), ``VitrineError/amountOverflow(field:)``,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func confirmPayment(order id: OrderID, partner: PartnerID? = nil, reference: String) throws -> PaymentConfirmation {
        try id.validate()
        try partner?.validate()
        try validateKeyText(reference, field: "reference", maxBytes: Limits.requestIDBytes)
        let now = self.now
        let entryID = OrderID.generate().rawValue
        return try backend.write { tx in
            var order = try tx.order(id)
            let partners = Self.partners(of: order)
            guard let partner = partner ?? (partners.count == 1 ? partners[0] : nil) else {
                throw VitrineError.invalidArgument(field: "partner", reason: "order \(id) has \(partners.count) partners: name one")
            }
            guard partners.contains(partner) else { throw VitrineError.partnerNotInOrder(id, partner: partner) }
            if let recorded = try tx.load(Payment.self, Keys.payment(id, partner)) {
                guard recorded.reference.utf8.elementsEqual(reference.utf8) else {
                    throw VitrineError.paymentAlreadyConfirmed(id, partner: partner, reference: recorded.reference)
                }
                return PaymentConfirmation(order: order, isReplay: true)
            }
            if let other = try tx.getRange(
                from: Keys.paymentReferences(partner, reference).range.begin,
                to: Keys.paymentReferences(partner, reference).range.end, limit: 1, reverse: false
            ).first,
                case .string(let otherID)? = try Tuple(unpacking: other.key).elements.last
            {
                throw VitrineError.paymentReferenceInUse(reference: reference, partner: partner, order: OrderID(otherID))
            }
            guard order.status == .placed else { throw VitrineError.orderStatusConflict(id, status: order.status) }
            if let due = order.paymentDueAt, due <= now { throw VitrineError.paymentOverdue(id, dueAt: due) }
            let payment = Payment(order: id, partner: partner, reference: reference, confirmedAt: now)
            try tx.store(payment, Keys.payment(id, partner))
            try tx.set(Keys.paymentReference(payment), [])
            // Paid when every partner with a kept line is.
            var unpaid = false
            for p in Set(order.lines.filter { $0.keptQuantity > 0 }.map(\.partner)) where p != partner {
                if try tx.get(Keys.payment(id, p)) == nil { unpaid = true }
            }
            if !unpaid { try markPaid(tx, &order, now: now, entryID: entryID) }
            return PaymentConfirmation(order: order, isReplay: false)
        }
    }

    /// Makes a placed order paid and stores it.
    func markPaid<W: OrderedKeyValueWriter>(_ tx: W, _ order: inout Order, now: Timestamp, entryID: String) throws {
        if let due = Keys.orderDue(order) { try tx.clear(due) }
        order.status = .paid
        order.paidAt = now
        order.statusChangedAt = now
        try setEarningsStatus(tx, order, .paid)
        try tx.store(order, Keys.order(order.id))
        try recordEarnings(tx, order, now: now, entryID: entryID)
    }

    /// Expires overdue orders (the sweep): at most `limit` (1...1000) of them, oldest deadline
    /// first. Run again while it returns `limit`.
    /// - Returns: the orders changed (expired, or paid with their unpaid partners' lines cancelled).
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/amountOverflow(field:)``,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func expireOverdueOrders(limit: Int = 100) throws -> [Order] {
        try validateLimit(limit)
        let now = self.now
        let entryID = OrderID.generate().rawValue
        // In transactions of `expiryChunk` orders (Sweeping.swift says why): an order of 50 lines
        // reads and writes a few hundred keys to expire, so 1000 in one transaction would far
        // exceed what etcd accepts. Each chunk is its own transaction with the call's `now`.
        return try inChunks(limit: limit, chunkSize: Self.expiryChunk) { size, tx in
            let chunk = try expireOverdueCounting(tx, now: now, limit: size, entryID: entryID)
            return (chunk.processed, chunk.changed)
        }.flatMap { $0 }
    }

    /// Overdue orders expired per transaction by ``expireOverdueOrders(limit:)``: a 50-line order
    /// reads and writes up to ~250 keys, so 4 stay under 1000 of each.
    static var expiryChunk: Int { 4 }

    /// Expires up to `limit` overdue orders inside `tx` (the sweep, and the lazy part of checkout).
    func expireOverdue<W: OrderedKeyValueWriter>(_ tx: W, now: Timestamp, limit: Int, entryID: String) throws -> [Order] {
        try expireOverdueCounting(tx, now: now, limit: limit, entryID: entryID).changed
    }

    /// `expireOverdue`, also saying how many due-index entries it took (each is cleared, so the
    /// next call starts after them): fewer than `limit` means nothing more is due.
    func expireOverdueCounting<W: OrderedKeyValueWriter>(
        _ tx: W, now: Timestamp, limit: Int, entryID: String
    ) throws -> (changed: [Order], processed: Int) {
        let (begin, end) = Keys.ordersDue(upTo: now)
        var changed: [Order] = []
        let due = try tx.getRange(from: begin, to: end, limit: limit, reverse: false)
        for pair in due {
            try tx.clear(pair.key)
            guard case .string(let id)? = try Tuple(unpacking: pair.key).elements.last,
                var order = try tx.load(Order.self, Keys.order(OrderID(id))), order.status == .placed,
                let due = order.paymentDueAt, due <= now
            else { continue }
            var paid = Set<PartnerID>()
            try tx.scan(Keys.payments(order.id)) { p in paid.insert(try decodeRecord(Payment.self, p.value, key: p.key).partner) }
            let unpaidLines = order.lines.indices.compactMap { i -> LineReduction? in
                let kept = order.lines[i].keptQuantity
                return kept > 0 && !paid.contains(order.lines[i].partner) ? LineReduction(index: i, cancelled: kept) : nil
            }
            _ = try reduceLines(tx, &order, unpaidLines)
            if order.lines.contains(where: { $0.keptQuantity > 0 }) {
                // Some partners were paid: the order is theirs, the rest was cancelled.
                try markPaid(tx, &order, now: now, entryID: entryID + "-" + order.id.rawValue)
            } else {
                order.status = .expired
                order.statusChangedAt = now
                try setEarningsStatus(tx, order, .expired)
                try tx.store(order, Keys.order(order.id))
            }
            changed.append(order)
        }
        return (changed, due.count)
    }
}
