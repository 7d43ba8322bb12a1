import Testing

@testable import Vitrine

@Suite struct RoundTripTests {
    /// Everything written survives a "reopen": a new Store over a backend holding the same bytes
    /// reads the same records, and every stored record re-encodes byte for byte.
    @Test func reopenRoundTripByteForByte() throws {
        let f = try Fixture { $0.reservationHold = .seconds(60) }
        try f.store.upsertUser(User(id: "u", displayName: "小红", interests: ["beauty", "家居"]))
        try f.store.postRecommendation(
            id: "zh", expert: f.expert.id, product: f.products[0].id,
            reason: "敏感肌亲测:温和不刺激,补水效果好 💧 Gentle, really hydrating.", quantity: 9)
        try f.store.addFavourite(user: "u", product: f.products[0].id)
        try f.store.addToCart(.user("u"), product: f.products[0].id, recommendation: "zh", quantity: 2)
        try f.store.addToCart(.guest(try f.store.issueGuestID()), product: f.products[1].id)
        let order = try f.store.checkout(user: "u", idempotencyKey: "k").order
        try f.store.addToCart(.user("u"), product: f.products[2].id, recommendation: "r2", quantity: 1)
        try f.store.confirmPayment(order: order.id, reference: "tmall-1")
        f.clock.advance(by: f.store.configuration.settlementWindow)
        try f.store.settleOrder(order.id)

        let pairs = try f.store.backend.read { tx in try tx.getRange(from: [], to: [0xFF], limit: 0, reverse: false) }
        var decodedRecords = 0
        for pair in pairs where pair.value.count >= 2 && pair.value[1] == 1 {
            guard let kind = RecordKind(rawValue: pair.value[0]) else { continue }
            let reencoded: [UInt8]
            switch kind {
            case .meta: reencoded = try MetaRecord(recordBytes: pair.value).recordBytes
            case .partner: reencoded = try Partner(recordBytes: pair.value).recordBytes
            case .product: reencoded = try Product(recordBytes: pair.value).recordBytes
            case .expert: reencoded = try Expert(recordBytes: pair.value).recordBytes
            case .user: reencoded = try User(recordBytes: pair.value).recordBytes
            case .recommendation: reencoded = try Recommendation(recordBytes: pair.value).recordBytes
            case .favourite: reencoded = try Favourite(recordBytes: pair.value).recordBytes
            case .cartLine: reencoded = try CartLine(recordBytes: pair.value).recordBytes
            case .hold: reencoded = try Hold(recordBytes: pair.value).recordBytes
            case .order: reencoded = try Order(recordBytes: pair.value).recordBytes
            case .idempotency: reencoded = try IdempotencyRecord(recordBytes: pair.value).recordBytes
            case .earning: reencoded = try OrderEarning(recordBytes: pair.value).recordBytes
            case .restock: reencoded = try RestockRecord(recordBytes: pair.value).recordBytes
            case .guest: reencoded = try Guest(recordBytes: pair.value).recordBytes
            case .payment: reencoded = try Payment(recordBytes: pair.value).recordBytes
            case .earningEntry: reencoded = try EarningEntry(recordBytes: pair.value).recordBytes
            }
            #expect(reencoded == pair.value, "\(Tuple.describe(pair.key))")
            decodedRecords += 1
        }
        #expect(decodedRecords > 15)

        // Reopen over a copy of the bytes.
        let copy = try makeBackend()
        try copy.write { tx in for pair in pairs { try tx.set(pair.key, pair.value) } }
        let reopened = try Store(backend: copy, configuration: f.store.configuration)
        #expect(try reopened.recommendation("zh") == f.store.recommendation("zh"))
        #expect(try reopened.recommendation("zh").reason == "敏感肌亲测:温和不刺激,补水效果好 💧 Gentle, really hydrating.")
        #expect(try reopened.order(order.id) == f.store.order(order.id))
        #expect(try reopened.cart(.user("u")) == f.store.cart(.user("u")))
        #expect(try reopened.user("u").displayName == "小红")
        #expect(try reopened.earnings(of: f.expert.id) == f.store.earnings(of: f.expert.id))
        let after = try copy.read { tx in try tx.getRange(from: [], to: [0xFF], limit: 0, reverse: false) }
        #expect(after == pairs)
        try expectIntact(reopened)
    }

    @Test func incompatibleFormatIsRefused() throws {
        let backend = try makeBackend()
        try backend.write { tx in
            try tx.set(Keys.meta, MetaRecord(formatVersion: 99, createdAt: Timestamp(millisecondsSinceEpoch: 0)).recordBytes)
        }
        #expect(throws: VitrineError.incompatibleFormat(found: 99, supported: MetaRecord.currentFormatVersion)) {
            try Store(backend: backend)
        }
    }

    @Test func corruptRecordsAreTypedErrors() throws {
        let f = try Fixture()
        try f.store.backend.write { tx in try tx.set(Keys.product(f.products[0].id), [3, 1, 0xFF]) }
        #expect(throws: VitrineError.corruptRecord(key: Keys.product(f.products[0].id), .truncated(offset: 2))) {
            try f.store.product(f.products[0].id)
        }
        #expect(try f.store.checkIntegrity().contains { $0.kind == .corruptRecord })
    }
}

@Suite struct IntegrityTests {
    @Test func findsLedgerSoldAndCartProblems() throws {
        let f = try Fixture()
        try f.store.addToCart(.user("u"), product: f.products[0].id, quantity: 2)
        _ = try f.store.checkout(user: "u", idempotencyKey: "k")
        try f.store.addToCart(.user("u"), product: f.products[1].id, recommendation: "r1")
        try expectIntact(f.store)
        try f.store.backend.write { tx in
            var p = try tx.product(f.products[0].id)
            p.stock += 1 // ledger broken
            try tx.store(p, Keys.product(p.id))
            var q = try tx.product(f.products[1].id)
            q.sold = 1
            q.stock = q.initialStock - 1 // ledger fine, but no order sold it
            try tx.store(q, Keys.product(q.id))
            var line = try #require(try tx.load(CartLine.self, Keys.cartLine(.user("u"), f.products[1].id, "r1")))
            line.quantity = 0
            try tx.store(line, Keys.cartLine(.user("u"), f.products[1].id, "r1"))
            try tx.clear(Keys.product(f.products[2].id)) // order lines and recommendation r2 now dangle
            try tx.atomicAdd(Keys.pendingTotal(f.expert.id), 5)
        }
        let kinds = Set(try f.store.checkIntegrity().map(\.kind))
        #expect(kinds.isSuperset(of: [.ledgerMismatch, .soldMismatch, .invalidCartLine, .danglingIndexEntry, .earningsMismatch]))
    }
}
