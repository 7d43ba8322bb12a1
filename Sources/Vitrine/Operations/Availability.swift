// How many units can be bought right now, and the reservation holds behind it.
//
// available(product) = product.isOnSale ? product.stock - other live holds on the product : 0
// available(rec)     = rec.status == .active ? rec.quantity - other live holds through it : 0
// available(line)    = min(available(product), available(rec)), never below 0.
// "Other" holds are all holds but those of the lines being added, changed or bought: the same
// owner's other lines of the product count as held (so one cart never holds more than the stock).
//
// Holds are written only by Store+Holds.swift, which caps each at what is available to its line,
// so the live holds on a product never exceed its stock.
//
// Holds expire lazily: a hold whose `expiresAt <= now` counts for nothing, whether or not the
// sweep has removed it yet. Holds are only read for products with reservations turned on
// (product.reservationHoldSeconds, else the configuration); with them off, the first checkout wins.

/// One cart line's identity, as holds are keyed.
struct HoldLine: Hashable {
    var owner: CartOwner
    var product: ProductID
    var recommendation: RecommendationID?
}

struct Availability {
    var product: Int64
    var recommendation: Int64?
    var units: Int64 { max(0, min(product, recommendation ?? .max)) }
}

extension Store {
    /// How long add-to-cart holds this product's units, in ms; nil when reservations are off for it.
    func holdMilliseconds(for product: Product) -> Int64? {
        if let seconds = product.reservationHoldSeconds {
            return seconds > 0 ? seconds.multipliedReportingOverflow(by: 1000).partialValue : nil
        }
        guard let d = configuration.reservationHold else { return nil }
        let ms = d.wholeMilliseconds
        return ms > 0 ? ms : nil
    }

    /// Units held by live holds other than those of `excluded` lines: on the product, and through `rec`.
    func heldByOthers<R: OrderedKeyValueReader>(
        _ tx: R, product: Product, recommendation: RecommendationID?, excluding excluded: Set<HoldLine>, now: Timestamp
    ) throws -> (product: Int64, recommendation: Int64) {
        guard holdMilliseconds(for: product) != nil else { return (0, 0) }
        var onProduct: Int64 = 0
        var onRecommendation: Int64 = 0
        try tx.scan(Keys.holds(product.id)) { pair in
            let h = try decodeRecord(Hold.self, pair.value, key: pair.key)
            guard h.isLive(at: now), h.quantity > 0,
                !excluded.contains(HoldLine(owner: h.owner, product: h.product, recommendation: h.recommendation))
            else { return }
            onProduct = try checkedAdd(onProduct, h.quantity, "held")
            if let recommendation, h.recommendation == recommendation {
                onRecommendation = try checkedAdd(onRecommendation, h.quantity, "held")
            }
        }
        return (onProduct, onRecommendation)
    }

    /// Availability for one line of `owner`'s cart (its own hold counts as available to it).
    func availability<R: OrderedKeyValueReader>(
        _ tx: R, product: Product, recommendation: Recommendation?, for owner: CartOwner, now: Timestamp
    ) throws -> Availability {
        try availability(
            tx, product: product, recommendation: recommendation,
            excluding: [HoldLine(owner: owner, product: product.id, recommendation: recommendation?.id)], now: now)
    }

    func availability<R: OrderedKeyValueReader>(
        _ tx: R, product: Product, recommendation: Recommendation?, excluding excluded: Set<HoldLine>, now: Timestamp
    ) throws -> Availability {
        let held = try heldByOthers(tx, product: product, recommendation: recommendation?.id, excluding: excluded, now: now)
        return try availability(product: product, recommendation: recommendation, heldByOthers: held)
    }

    /// Availability given what other live holds hold (see the top of this file).
    func availability(
        product: Product, recommendation: Recommendation?, heldByOthers held: (product: Int64, recommendation: Int64)
    ) throws -> Availability {
        let p = product.isOnSale ? try checkedSubtract(product.stock, held.product, "stock") : 0
        var r: Int64? = nil
        if let recommendation {
            r = recommendation.status == .active ? try checkedSubtract(recommendation.quantity, held.recommendation, "quantity") : 0
        }
        return Availability(product: max(0, p), recommendation: r.map { max(0, $0) })
    }

    /// Removes the hold of one cart line, if any.
    func releaseHold<W: OrderedKeyValueWriter>(_ tx: W, owner: CartOwner, product: ProductID, recommendation: RecommendationID?) throws {
        let key = Keys.hold(product, recommendation, owner)
        guard let h = try tx.load(Hold.self, key) else { return }
        try tx.clear(key)
        try tx.clear(Keys.holdExpiry(h))
    }

    /// Removes every hold whose time is up (`expiresAt <= now`), at most `limit` of them, in
    /// transactions of a bounded size (Sweeping.swift).
    ///
    /// Expired holds already count for nothing; this only reclaims their space. Idempotent.
    /// - Returns: how many holds were removed.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func sweepExpiredReservations(limit: Int = 1000) throws -> Int {
        try validateLimit(limit)
        let now = self.now
        // In chunks that each fit a backend's transaction limits (Sweeping.swift).
        return try sweepInChunks(limit: limit, chunkSize: Self.sweepChunk) { size, tx in
            let range = Keys.holdExpiries(upTo: now)
            let expired = try tx.getRange(from: range.begin, to: range.end, limit: size, reverse: false)
            var removed = 0
            for pair in expired {
                try tx.clear(pair.key)
                let e = try Tuple(unpacking: pair.key).elements
                guard e.count == 6, case .string(let p) = e[2], case .int(let kind) = e[4], case .string(let id) = e[5],
                    kind >= 0, kind <= 255, let owner = CartOwner(kindCode: UInt8(kind), id: id)
                else { throw VitrineError.corruptRecord(key: pair.key, .unexpectedShape("hold expiry key")) }
                var rec: RecommendationID? = nil
                if case .string(let r) = e[3] { rec = RecommendationID(r) }
                let key = Keys.hold(ProductID(p), rec, owner)
                if let h = try tx.load(Hold.self, key), !h.isLive(at: now) {
                    try tx.clear(key)
                    removed += 1
                }
            }
            return (expired.count, removed)
        }
    }

    /// The live holds on a product (for inspection and tests).
    /// - Throws: ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func reservations(of product: ProductID) throws -> [Hold] {
        let now = self.now
        return try backend.read { tx in
            var holds: [Hold] = []
            try tx.scan(Keys.holds(product)) { pair in
                let h = try decodeRecord(Hold.self, pair.value, key: pair.key)
                if h.isLive(at: now) { holds.append(h) }
            }
            return holds
        }
    }
}
