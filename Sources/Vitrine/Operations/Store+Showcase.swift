// Showcases (an expert's recommendations) and the interest feed (recommendations across
// categories), newest first, paged by cursor. Each page is read from one snapshot.
//
// What is left through a recommendation is what a buyer could buy through it now: the smaller of
// the recommendation's quantity and the product's stock, each less the live holds on it
// (Availability.swift), and 0 when the product is off sale. The recommendation's own quantity
// alone would say "3 left" of a product whose stock is 0.

/// A recommendation with its product as it is now (price, stock).
public struct ShowcaseEntry: Hashable, Sendable {
    /// The recommendation.
    public var recommendation: Recommendation
    /// Its product as it is now (price, stock).
    public var product: Product
    /// Units that can be bought through the recommendation now: min(recommendation quantity,
    /// product stock), each less live holds, 0 when off sale (never more than either).
    public var available: Int64
}

extension Store {
    /// An expert's active recommendations, newest first.
    ///
    /// - Parameters:
    ///   - expert: whose showcase.
    ///   - category: only recommendations of products in this category (as when posted).
    ///   - cursor: the `next` of the previous page; nil for the first page.
    ///   - limit: page size, 1...1000.
    /// - Throws: ``VitrineError/unknownExpert(_:)``, ``VitrineError/invalidArgument(field:reason:)``,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func showcase(
        of expert: ExpertID, category: String? = nil, after cursor: PageCursor? = nil, limit: Int = 20
    ) throws -> Page<ShowcaseEntry> {
        try validateLimit(limit)
        if let category { try validateCategory(category) }
        return try backend.read { tx in
            _ = try tx.expert(expert)
            let prefix = category.map { Keys.showcase(expert, category: $0) } ?? Keys.showcase(expert)
            let positions = try indexPositions(tx, prefix, before: cursor, limit: limit + 1)
            return try page(tx, positions, limit: limit)
        }
    }

    /// The newest active recommendations across `categories`, newest first.
    ///
    /// - Parameters:
    ///   - categories: 1...64 categories (duplicates ignored).
    ///   - cursor: the `next` of the previous page; nil for the first page.
    ///   - limit: page size, 1...1000.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``;
    ///   backend errors.
    public func interestFeed(
        categories: [String], after cursor: PageCursor? = nil, limit: Int = 20
    ) throws -> Page<ShowcaseEntry> {
        try validateLimit(limit)
        // Duplicates by bytes, as the feed keys hold them (a Set<String> would merge canonically
        // equivalent spellings, which are different keys).
        var unique: [String] = []
        for category in categories.sorted(by: utf8Precedes) where unique.last.map({ !$0.utf8.elementsEqual(category.utf8) }) ?? true {
            unique.append(category)
        }
        guard !unique.isEmpty else { throw VitrineError.invalidArgument(field: "categories", reason: "must not be empty") }
        try validateList(unique, field: "categories", maxBytes: Limits.categoryBytes)
        return try backend.read { tx in
            var positions: [PageCursor] = []
            for category in unique {
                positions += try indexPositions(tx, Keys.feed(category), before: cursor, limit: limit + 1)
            }
            positions.sort(by: isNewer)
            return try page(tx, Array(positions.prefix(limit + 1)), limit: limit)
        }
    }

    /// The interest feed of a user's interests.
    /// - Throws: ``VitrineError/unknownUser(_:)`` and what ``interestFeed(categories:after:limit:)`` throws.
    public func interestFeed(for user: UserID, after cursor: PageCursor? = nil, limit: Int = 20) throws -> Page<ShowcaseEntry> {
        try interestFeed(categories: try self.user(user).interests, after: cursor, limit: limit)
    }

    /// Loads the entries of up to `limit` positions; a position past `limit` means there is more.
    func page<R: OrderedKeyValueReader>(_ tx: R, _ positions: [PageCursor], limit: Int) throws -> Page<ShowcaseEntry> {
        var entries: [ShowcaseEntry] = []
        let now = self.now
        for position in positions.prefix(limit) {
            let r = try tx.recommendation(RecommendationID(position.id))
            let p = try tx.product(r.product)
            let left = try availability(tx, product: p, recommendation: r, excluding: [], now: now).units
            entries.append(ShowcaseEntry(recommendation: r, product: p, available: left))
        }
        let next = positions.count > limit ? positions.prefix(limit).last : nil
        return Page(items: entries, next: next)
    }
}
