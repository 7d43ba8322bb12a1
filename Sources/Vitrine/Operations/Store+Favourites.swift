// Favourites: idempotent add and remove, listed newest first.

/// A favourite with its product as it is now.
public struct FavouriteEntry: Hashable, Sendable {
    /// The favourite.
    public var favourite: Favourite
    /// Its product as it is now.
    public var product: Product
}

extension Store {
    /// Adds a product to a user's favourites. Idempotent: adding it again returns the first one.
    /// - Throws: ``VitrineError/unknownProduct(_:)``, ``VitrineError/invalidArgument(field:reason:)``,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func addFavourite(user: UserID, product: ProductID) throws -> Favourite {
        try user.validate()
        try product.validate()
        let now = self.now
        return try backend.write { tx in try Self.writeFavourite(tx, user: user, product: product, addedAt: now) }
    }

    static func writeFavourite<W: OrderedKeyValueWriter>(_ tx: W, user: UserID, product: ProductID, addedAt: Timestamp) throws -> Favourite
    {
        if let existing = try tx.load(Favourite.self, Keys.favourite(user, product)) { return existing }
        _ = try tx.product(product)
        let f = Favourite(user: user, product: product, addedAt: addedAt)
        try tx.store(f, Keys.favourite(user, product))
        try tx.set(Keys.favouriteByTime(f), [])
        return f
    }

    /// Removes a product from a user's favourites. Idempotent: removing a missing one does nothing.
    /// - Returns: whether it was a favourite.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func removeFavourite(user: UserID, product: ProductID) throws -> Bool {
        try user.validate()
        try product.validate()
        return try backend.write { tx in
            guard let f = try tx.load(Favourite.self, Keys.favourite(user, product)) else { return false }
            try tx.clear(Keys.favourite(user, product))
            try tx.clear(Keys.favouriteByTime(f))
            return true
        }
    }

    /// A user's favourites, newest first, with their products.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func favourites(of user: UserID, after cursor: PageCursor? = nil, limit: Int = 50) throws -> Page<FavouriteEntry> {
        try user.validate()
        try validateLimit(limit)
        return try backend.read { tx in
            let positions = try indexPositions(tx, Keys.favouritesByTime(user), before: cursor, limit: limit + 1)
            var entries: [FavouriteEntry] = []
            for position in positions.prefix(limit) {
                let product = ProductID(position.id)
                guard let f = try tx.load(Favourite.self, Keys.favourite(user, product)) else { continue }
                entries.append(FavouriteEntry(favourite: f, product: try tx.product(product)))
            }
            return Page(items: entries, next: positions.count > limit ? positions.prefix(limit).last : nil)
        }
    }
}
