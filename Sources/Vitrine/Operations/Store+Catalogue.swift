// Catalogue operations: partners, products (with restock and off-sale), experts, users,
// recommendations. Each is one transaction and safe to retry.

extension Store {
    // MARK: Partners

    /// Inserts or replaces a partner platform. This is the administrative call that changes the
    /// whitelist (with the configuration's partners, upserted when a store is opened): catalogue
    /// imports and `load` never change a stored partner.
    ///
    /// Each domain must be a lowercase host that is not a public suffix
    /// (``PartnerLink/checkRegisteredDomain(_:)``). Products already stored are not re-checked
    /// here; ``checkIntegrity()`` reports links a partner no longer covers.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``; backend errors.
    public func upsertPartner(_ partner: Partner) throws {
        try Self.validate(partner)
        try backend.write { tx in try tx.store(partner, Keys.partner(partner.id)) }
    }

    /// Every partner platform, by id.
    /// - Throws: ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func partners() throws -> [Partner] {
        try backend.read { tx in
            try tx.getRange(from: Keys.partners.range.begin, to: Keys.partners.range.end, limit: 0, reverse: false)
                .map { try decodeRecord(Partner.self, $0.value, key: $0.key) }
        }
    }

    // MARK: Products

    /// Inserts a product, or replaces the catalogue fields of an existing one.
    ///
    /// For a new product the ledger is taken as given and must be consistent
    /// (`stock == initialStock + restocked - sold`, nothing negative). For an existing product
    /// the stored ledger (`stock`, `initialStock`, `restocked`, `sold`) is kept and the given
    /// one ignored: change stock with ``restock(_:units:restockKey:)-72nfc`` and checkout.
    ///
    /// The link is parsed strictly (``PartnerLink``) and stored in its canonical form.
    ///
    /// - Returns: the product as stored.
    /// - Throws: ``VitrineError/unknownPartner(_:)``, ``VitrineError/malformedLink(_:)``,
    ///   ``VitrineError/linkNotHTTPS(link:scheme:)``, ``VitrineError/invalidLink(link:reason:)``,
    ///   ``VitrineError/linkHostNotAllowed(host:partner:allowedDomains:)``,
    ///   ``VitrineError/invalidArgument(field:reason:)`` (ids, texts, negative price, ledger);
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func upsertProduct(_ product: Product) throws -> Product {
        try Self.validateFields(of: product)
        return try backend.write { tx in try Self.writeProduct(tx, product) }
    }

    static func validateFields(of product: Product) throws {
        try product.id.validate()
        try product.partner.validate()
        try validateText(product.title, field: "title")
        try validateText(product.merchant, field: "merchant")
        try validateCategory(product.category)
        guard product.priceFen >= 0 else { throw VitrineError.invalidArgument(field: "priceFen", reason: "must not be negative") }
        if let hold = product.reservationHoldSeconds, hold < 0 || hold > 86_400 * 365 {
            throw VitrineError.invalidArgument(field: "reservationHoldSeconds", reason: "must be 0...31536000")
        }
    }

    /// The transaction part of `upsertProduct` (fields already validated).
    static func writeProduct<W: OrderedKeyValueWriter>(_ tx: W, _ product: Product) throws -> Product {
        var stored = product
        stored.link = try validateLink(product.link, partner: product.partner, in: tx)
        let existing = try tx.load(Product.self, Keys.product(product.id))
        if let existing {
            stored.stock = existing.stock
            stored.initialStock = existing.initialStock
            stored.restocked = existing.restocked
            stored.sold = existing.sold
        } else if !product.ledgerIsConsistent {
            throw VitrineError.invalidArgument(
                field: "ledger", reason: "stock must equal initialStock + restocked - sold, nothing negative")
        }
        try tx.store(stored, Keys.product(stored.id))
        // The discovery entries follow category, merchant and partner (Store+Discovery.swift).
        let entries = Keys.productIndexEntries(of: stored)
        for key in existing.map(Keys.productIndexEntries) ?? [] where !entries.contains(key) { try tx.clear(key) }
        for key in entries { try tx.set(key, []) }
        return stored
    }

    /// The product with its current ledger.
    /// - Throws: ``VitrineError/unknownProduct(_:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func product(_ id: ProductID) throws -> Product {
        try backend.read { tx in try tx.product(id) }
    }

    /// Adds `units` to a product's `restocked` and `stock`.
    ///
    /// `restockKey` makes the call safe to retry: a key already applied to this product adds
    /// nothing and returns the product as it is.
    ///
    /// - Throws: ``VitrineError/unknownProduct(_:)``, ``VitrineError/quantityOutOfRange(_:allowed:)``
    ///   (units < 1), ``VitrineError/amountOverflow(field:)``, ``VitrineError/invalidArgument(field:reason:)``
    ///   (key); ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func restock(_ id: ProductID, units: Int64, restockKey: String) throws -> Product {
        guard units >= 1 else { throw VitrineError.quantityOutOfRange(units, allowed: 1...Int64.max) }
        try validateKeyText(restockKey, field: "restockKey", maxBytes: Limits.requestIDBytes)
        let now = self.now
        return try backend.write { tx in
            var p = try tx.product(id)
            let key = Keys.restock(id, restockKey)
            if try tx.get(key) != nil { return p }
            p.restocked = try checkedAdd(p.restocked, units, "restocked")
            p.stock = try checkedAdd(p.stock, units, "stock")
            try tx.store(p, Keys.product(id))
            try tx.store(RestockRecord(product: id, units: units, at: now), key)
            return p
        }
    }

    /// Puts a product on sale or takes it off sale. Idempotent.
    /// - Throws: ``VitrineError/unknownProduct(_:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func setOnSale(_ id: ProductID, _ onSale: Bool) throws -> Product {
        try backend.write { tx in
            var p = try tx.product(id)
            if p.isOnSale != onSale {
                p.isOnSale = onSale
                try tx.store(p, Keys.product(id))
            }
            return p
        }
    }

    // MARK: Experts and users

    /// Inserts or replaces an expert.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)`` (ids, texts, rate outside 0...10000);
    ///   backend errors.
    public func upsertExpert(_ expert: Expert) throws {
        try Self.validateFields(of: expert)
        try backend.write { tx in try tx.store(expert, Keys.expert(expert.id)) }
    }

    static func validateFields(of expert: Expert) throws {
        try expert.id.validate()
        try validateText(expert.displayName, field: "displayName")
        try validateList(expert.categories, field: "categories", maxBytes: Limits.categoryBytes)
        for category in expert.categories { try validateCategory(category, field: "categories") }
        guard (0...10_000).contains(expert.commissionBasisPoints) else {
            throw VitrineError.invalidArgument(field: "commissionBasisPoints", reason: "must be 0...10000")
        }
    }

    /// The expert.
    /// - Throws: ``VitrineError/unknownExpert(_:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func expert(_ id: ExpertID) throws -> Expert {
        try backend.read { tx in try tx.expert(id) }
    }

    /// Inserts or replaces a user.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``; backend errors.
    public func upsertUser(_ user: User) throws {
        try Self.validateFields(of: user)
        try backend.write { tx in try tx.store(user, Keys.user(user.id)) }
    }

    static func validateFields(of user: User) throws {
        try user.id.validate()
        try validateText(user.displayName, field: "displayName")
        try validateList(user.interests, field: "interests", maxBytes: Limits.categoryBytes)
        // Interests are looked up as feed keys.
        for interest in user.interests { try validateCategory(interest, field: "interests") }
    }

    /// The user.
    /// - Throws: ``VitrineError/unknownUser(_:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func user(_ id: UserID) throws -> User {
        try backend.read { tx in
            guard let u = try tx.load(User.self, Keys.user(id)) else { throw VitrineError.unknownUser(id) }
            return u
        }
    }

    // MARK: Recommendations

    /// Posts an expert's recommendation of a product, offering `quantity` units through it.
    ///
    /// Safe to retry: `id` is made by the caller (or by default before the transaction); posting
    /// an id that already exists with the same expert, product, reason and quantity returns the
    /// stored recommendation and changes nothing.
    ///
    /// - Parameters:
    ///   - id: the recommendation's id (a fresh one by default).
    ///   - expert: the expert who recommends.
    ///   - product: the product recommended.
    ///   - reason: why, in the expert's words.
    ///   - quantity: units offered through this recommendation, at least 1.
    ///   - createdAt: when it was posted; the store's clock when nil (imports pass their own, in
    ///     the past as far as they like). At most ``Configuration/maxClockSkew`` (5 minutes)
    ///     ahead of the store's clock: feeds are newest first, so a post dated in the future would
    ///     stay on top of them.
    /// - Throws: ``VitrineError/unknownExpert(_:)``, ``VitrineError/unknownProduct(_:)``,
    ///   ``VitrineError/productOffSale(_:)``, ``VitrineError/reasonTooLong(length:limit:)``,
    ///   ``VitrineError/quantityOutOfRange(_:allowed:)`` (quantity < 1),
    ///   ``VitrineError/idConflict(kind:id:)``, ``VitrineError/invalidArgument(field:reason:)``;
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func postRecommendation(
        id: RecommendationID = .generate(), expert: ExpertID, product: ProductID, reason: String,
        quantity: Int64, createdAt: Timestamp? = nil
    ) throws -> Recommendation {
        try id.validate()
        try expert.validate()
        try product.validate()
        try validateReason(reason)
        guard quantity >= 1 else { throw VitrineError.quantityOutOfRange(quantity, allowed: 1...Int64.max) }
        let now = self.now
        if let createdAt, createdAt > now.adding(milliseconds: Configuration.maxClockSkew.wholeMilliseconds) {
            throw VitrineError.invalidArgument(
                field: "createdAt",
                reason: "more than \(Configuration.maxClockSkew.wholeMilliseconds / 60_000) minutes ahead of the store's clock")
        }
        let createdAt = createdAt ?? now
        return try backend.write { tx in
            try Self.writeRecommendation(
                tx, id: id, expert: expert, product: product, reason: reason, quantity: quantity, createdAt: createdAt)
        }
    }

    /// The transaction part of `postRecommendation` (arguments already validated).
    static func writeRecommendation<W: OrderedKeyValueWriter>(
        _ tx: W, id: RecommendationID, expert: ExpertID, product: ProductID, reason: String, quantity: Int64,
        createdAt: Timestamp
    ) throws -> Recommendation {
        if let existing = try tx.load(Recommendation.self, Keys.recommendation(id)) {
            guard existing.expert == expert, existing.product == product, existing.reason == reason,
                existing.offeredQuantity == quantity
            else { throw VitrineError.idConflict(kind: "recommendation", id: id.rawValue) }
            return existing
        }
        _ = try tx.expert(expert)
        let p = try tx.product(product)
        guard p.isOnSale else { throw VitrineError.productOffSale(product) }
        let r = Recommendation(
            id: id, expert: expert, product: product, category: p.category, reason: reason,
            offeredQuantity: quantity, quantity: quantity, createdAt: createdAt)
        try tx.store(r, Keys.recommendation(id))
        for key in Keys.indexEntries(of: r) { try tx.set(key, []) }
        return r
    }

    /// Withdraws a recommendation: it leaves the showcases and feeds, and cart lines through it can
    /// no longer be bought. Orders keep referring to it. Idempotent.
    /// - Throws: ``VitrineError/unknownRecommendation(_:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    @discardableResult
    public func withdrawRecommendation(_ id: RecommendationID) throws -> Recommendation {
        let now = self.now
        return try backend.write { tx in
            var r = try tx.recommendation(id)
            guard r.status == .active else { return r }
            r.status = .withdrawn
            r.withdrawnAt = now
            try tx.store(r, Keys.recommendation(id))
            for key in Keys.indexEntries(of: r) { try tx.clear(key) }
            return r
        }
    }

    /// The recommendation.
    /// - Throws: ``VitrineError/unknownRecommendation(_:)``, ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public func recommendation(_ id: RecommendationID) throws -> Recommendation {
        try backend.read { tx in try tx.recommendation(id) }
    }
}
