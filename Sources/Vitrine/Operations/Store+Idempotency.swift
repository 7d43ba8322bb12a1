// How long checkout idempotency keys are remembered, and the sweep that forgets them.
//
// A key (user, idempotencyKey) is remembered for `configuration.idempotencyRetention` (30 days by
// default) after its order was placed: a retry inside that window returns the same order. Once
// `placedAt + retention <= now` the key is expired. Expiry is lazy, as for holds: checkout treats an
// expired key as unused (and places a new order under it) whether or not its record is still
// there, and `sweepExpiredIdempotencyKeys` deletes expired records, a bounded number per call.
// Stripe's keys work the same way, with a 24-hour window; clients must not retry a purchase
// later than the window and expect the old order back.
//
// Index: ("idem_time", placedAt, userID, idempotencyKey) -> empty, written with each Idempotency
// record and deleted with it, so the sweep reads the oldest keys first. Keys stored before this
// index existed have no entry: they still expire lazily, but only a new checkout under them
// replaces them (the sweep does not find them).

extension Store {
    /// The order an idempotency record names, while the key is inside its retention window; nil
    /// when it has expired (its index entry is then removed: a new record replaces it).
    /// - Throws: ``VitrineError/unknownOrder(_:)`` when the record names no order,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    func liveIdempotentOrder<W: OrderedKeyValueWriter>(
        _ tx: W, _ record: IdempotencyRecord, user: UserID, key: String, now: Timestamp
    ) throws -> Order? {
        let order = try tx.order(record.order)
        guard isIdempotencyKeyExpired(placedAt: order.placedAt, now: now) else { return order }
        try tx.clear(Keys.idempotencyByTime(order.placedAt, user, key))
        return nil
    }

    func isIdempotencyKeyExpired(placedAt: Timestamp, now: Timestamp) -> Bool {
        placedAt.adding(milliseconds: configuration.idempotencyRetention.wholeMilliseconds) <= now
    }

    /// Deletes the records of idempotency keys whose retention is over (see
    /// ``Configuration/idempotencyRetention``), oldest first, at most `limit` of them per call, in
    /// transactions of a bounded size (Sweeping.swift).
    ///
    /// Expired keys already count as unused; this only reclaims their space. Orders are kept.
    /// Idempotent: call it periodically, and again while it returns `limit`.
    /// - Returns: how many index entries were processed (each deletes its key's record when that
    ///   record is the expired one).
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)`` (limit outside 1...1000),
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func sweepExpiredIdempotencyKeys(limit: Int = 1000) throws -> Int {
        try validateLimit(limit)
        let now = self.now
        let cutoff = now.adding(milliseconds: -configuration.idempotencyRetention.wholeMilliseconds)
        // In chunks that each fit a backend's transaction limits (Sweeping.swift).
        return try sweepInChunks(limit: limit, chunkSize: Self.sweepChunk) { size, tx in
            let range = Keys.idempotencyByTime(upTo: cutoff)
            let entries = try tx.getRange(from: range.begin, to: range.end, limit: size, reverse: false)
            for pair in entries {
                try tx.clear(pair.key)
                let e = try Tuple(unpacking: pair.key).elements
                guard e.count == 4, case .int(let ms) = e[1], case .string(let user) = e[2], case .string(let key) = e[3] else {
                    throw VitrineError.corruptRecord(key: pair.key, .unexpectedShape("idempotency time key"))
                }
                let recordKey = Keys.idempotency(UserID(user), key)
                guard let record = try tx.load(IdempotencyRecord.self, recordKey) else { continue }
                // The record may have been replaced by a newer order under the same key (whose
                // entry sorts later): delete it only when its order is the expired one, or gone.
                if let order = try tx.load(Order.self, Keys.order(record.order)) {
                    guard order.placedAt.millisecondsSinceEpoch == ms, isIdempotencyKeyExpired(placedAt: order.placedAt, now: now)
                    else { continue }
                }
                try tx.clear(recordKey)
            }
            return (entries.count, entries.count)
        }
    }
}
