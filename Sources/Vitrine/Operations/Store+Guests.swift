// Guest sessions: ids issued by the store, so a cart cannot be opened under a name the client
// makes up (issue 15: a bot inventing guest ids could open any number of carts and hold stock in
// each). A guest id is a random lowercase UUID with a Guest record under ("guest", id); every cart
// operation on `.guest(id)` refuses an id without one (`unknownGuest`).

import Foundation

extension Store {
    /// Issues a new guest id and records it (with its creation time); pass it as
    /// `CartOwner.guest(id)` to the cart operations and to ``mergeGuestCart(_:into:)``.
    /// - Throws: backend errors.
    public func issueGuestID() throws -> String {
        let guest = Guest(id: UUID().uuidString.lowercased(), createdAt: now) // made outside the transaction
        try backend.write { tx in try tx.store(guest, Keys.guest(guest.id)) }
        return guest.id
    }

    /// The guest issued under `id`, or nil.
    /// - Throws: ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func guest(_ id: String) throws -> Guest? {
        try backend.read { tx in try tx.load(Guest.self, Keys.guest(id)) }
    }

    /// Throws ``VitrineError/unknownGuest(_:)`` when `owner` is a guest the store did not issue.
    func requireKnownOwner<R: OrderedKeyValueReader>(_ tx: R, _ owner: CartOwner) throws {
        guard case .guest(let id) = owner else { return }
        guard try tx.get(Keys.guest(id)) != nil else { throw VitrineError.unknownGuest(id) }
    }
}
