// Guest sessions: ids issued by the store, so a cart cannot be opened under a name the client
// makes up (issue 15: a bot inventing guest ids could open any number of carts and hold stock in
// each). A guest id is a random lowercase UUID with a Guest record under ("guest", id); every cart
// operation on `.guest(id)` refuses an id without one (`unknownGuest`).
//
// Guests expire when idle. A guest's last activity is its `lastActiveAt` (else its `createdAt`):
// every cart change (add, set quantity, remove, clear, merge into a user) and `touchGuest` set it
// to now; reading the cart does not (a read writes nothing). Index: ("guest_time", lastActivity,
// guestID) -> empty, moved with each change of the last activity, so the sweep reads the longest
// idle guests first. `sweepIdleGuests` removes a guest idle for `configuration.guestRetention`
// (30 days by default): its cart lines and their holds, exactly as `clearCart` would (a hold
// releases units by being deleted: holds never moved stock, so nothing is given back twice), then
// the record and its entry. Its id is unknown from then on. Guests have no favourites (those are
// a user's). A merged guest (`mergeGuestCart`) holds nothing afterwards (its lines and holds moved
// to the user); its record stays, so a retried merge still succeeds, until it is idle for the
// retention too.

import Foundation

extension Store {
    /// Guests per transaction of the idle-guest sweep: each reads and clears up to
    /// ``Configuration/maxCartLinesUpperBound`` (50) holds (a read, two clears each) and a few keys
    /// more, so 8 guests stay near 450 reads and 850 writes (Sweeping.swift).
    static var guestSweepChunk: Int { 8 }

    /// Issues a new guest id and records it (with its creation time); pass it as
    /// `CartOwner.guest(id)` to the cart operations and to ``mergeGuestCart(_:into:)``.
    /// - Throws: backend errors.
    public func issueGuestID() throws -> String {
        let guest = Guest(id: UUID().uuidString.lowercased(), createdAt: now) // made outside the transaction
        try backend.write { tx in
            try tx.store(guest, Keys.guest(guest.id))
            try tx.set(Keys.guestActivity(guest), [])
        }
        return guest.id
    }

    /// The guest issued under `id`, or nil (also once the sweep removed it).
    /// - Throws: ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func guest(_ id: String) throws -> Guest? {
        try backend.read { tx in try tx.load(Guest.self, Keys.guest(id)) }
    }

    /// Records activity of a guest that did not change its cart (a page view, say), so that the
    /// idle-guest sweep keeps it another ``Configuration/guestRetention``.
    /// - Throws: ``VitrineError/unknownGuest(_:)`` (a guest id the store did not issue, or one
    ///   swept), ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func touchGuest(_ id: String) throws {
        let owner = CartOwner.guest(id)
        try validateOwner(owner)
        let now = self.now
        try backend.write { tx in try requireKnownOwner(tx, owner, activeAt: now) }
    }

    /// Throws ``VitrineError/unknownGuest(_:)`` when `owner` is a guest the store did not issue.
    func requireKnownOwner<R: OrderedKeyValueReader>(_ tx: R, _ owner: CartOwner) throws {
        guard case .guest(let id) = owner else { return }
        guard try tx.get(Keys.guest(id)) != nil else { throw VitrineError.unknownGuest(id) }
    }

    /// As ``requireKnownOwner(_:_:)``, and records a guest's activity at `now` (moving its index
    /// entry); a later activity already recorded stays.
    func requireKnownOwner<W: OrderedKeyValueWriter>(_ tx: W, _ owner: CartOwner, activeAt now: Timestamp) throws {
        guard case .guest(let id) = owner else { return }
        guard var guest = try tx.load(Guest.self, Keys.guest(id)) else { throw VitrineError.unknownGuest(id) }
        guard guest.lastActivity < now else { return }
        try tx.clear(Keys.guestActivity(guest))
        guest.lastActiveAt = now
        try tx.store(guest, Keys.guest(id))
        try tx.set(Keys.guestActivity(guest), [])
    }

    /// Removes the guests idle for at least ``Configuration/guestRetention`` (last activity at or
    /// before now minus it), longest idle first, at most `limit` of them per call, in transactions
    /// of at most 8 guests (Sweeping.swift). Each goes with its cart lines and their holds, as
    /// ``clearCart(_:)`` would remove them: the held units are available again, once.
    /// Idempotent: call it periodically, and again while it returns `limit`.
    /// - Returns: how many guests were removed.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)`` (limit outside 1...1000),
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func sweepIdleGuests(limit: Int = 1000) throws -> Int {
        try validateLimit(limit)
        let cutoff = now.adding(milliseconds: -configuration.guestRetention.wholeMilliseconds)
        return try sweepInChunks(limit: limit, chunkSize: Self.guestSweepChunk) { size, tx in
            let range = Keys.guestActivities(upTo: cutoff)
            let entries = try tx.getRange(from: range.begin, to: range.end, limit: size, reverse: false)
            var removed = 0
            for pair in entries {
                try tx.clear(pair.key)
                let e = try Tuple(unpacking: pair.key).elements
                guard e.count == 3, case .int(let ms) = e[1], case .string(let id) = e[2] else {
                    throw VitrineError.corruptRecord(key: pair.key, .unexpectedShape("guest activity key"))
                }
                // An entry that is not the guest's (it moved on, or is gone) is only cleared.
                guard let guest = try tx.load(Guest.self, Keys.guest(id)), guest.lastActivity.millisecondsSinceEpoch == ms,
                    guest.lastActivity <= cutoff
                else { continue }
                try Self.clearLines(tx, .guest(id), using: self)
                try tx.clear(Keys.guest(id))
                removed += 1
            }
            return (entries.count, removed)
        }
    }
}
