// Ids that look the same: one byte form at the boundary, byte semantics in memory (issue 15, "Why" 5).

import Foundation
import Testing

@testable import Vitrine

/// "café" precomposed (U+00E9) and decomposed (e + U+0301): equal as Swift Strings, not as bytes.
private let composed = "caf\u{E9}"
private let decomposed = "cafe\u{301}"

/// A one-scalar string (literals may not name noncharacters).
private func scalar(_ value: UInt32) -> String { Unicode.Scalar(value).map { String(Character($0)) } ?? "" }

@Suite struct IdentifierTests {
    let user: UserID = "buyer"

    func cafe(_ id: String, stock: Int64) -> Product {
        Product(
            id: ProductID(id), partner: "tmall", link: "https://detail.tmall.com/item.htm?id=\(stock)",
            title: "咖啡 \(stock)", priceFen: 1_000, merchant: "官方旗舰店", category: "beauty", initialStock: stock)
    }

    func invalidArgumentField(_ body: () throws -> Void) -> String? {
        do { try body() } catch VitrineError.invalidArgument(let field, _) { return field } catch { return "other error: \(error)" }
        return nil
    }

    /// The scenario through the public API: the decomposed twin is refused at the
    /// boundary, so two cart lines can never collapse into one product at checkout.
    @Test func lookAlikeProductIsRefusedSoCheckoutCannotCollapse() throws {
        let f = try Fixture()
        try f.store.upsertProduct(cafe(composed, stock: 1))
        let refused = invalidArgumentField { try f.store.upsertProduct(cafe(decomposed, stock: 100)) }
        #expect(refused == "product")
        if refused == nil {
            // What happened before: both products stored, checkout booked both lines as one.
            try f.store.postRecommendation(id: "r-nfc", expert: f.expert.id, product: ProductID(composed), reason: "好喝", quantity: 10)
            try f.store.postRecommendation(id: "r-nfd", expert: f.expert.id, product: ProductID(decomposed), reason: "好喝", quantity: 10)
            try f.store.addToCart(.user(user), product: ProductID(composed), recommendation: "r-nfc", quantity: 1)
            try f.store.addToCart(.user(user), product: ProductID(decomposed), recommendation: "r-nfd", quantity: 1)
            let order = try f.store.checkout(user: user, idempotencyKey: "k").order
            #expect(Set(order.lines.map { Array($0.product.rawValue.utf8) }).count == 2)
            try expectIntact(f.store)
        }
    }

    /// The same scenario over records stored before the rule (written raw, as an old store or a
    /// load would have them): checkout books each line as its own product, and `check` names the
    /// non-NFC key instead of reporting a ledger it broke.
    @Test func storedLookAlikesAreBookedApartAndReported() throws {
        let f = try Fixture()
        let nfc = cafe(composed, stock: 1)
        let nfd = cafe(decomposed, stock: 100)
        let owner = CartOwner.user(user)
        try f.store.backend.write { tx in
            for (p, rid) in [(nfc, RecommendationID("r-nfc")), (nfd, RecommendationID("r-nfd"))] {
                try tx.store(p, Keys.product(p.id))
                for key in Keys.productIndexEntries(of: p) { try tx.set(key, []) }
                let r = Recommendation(
                    id: rid, expert: f.expert.id, product: p.id, category: p.category, reason: "好喝",
                    offeredQuantity: 10, quantity: 10, createdAt: Timestamp(millisecondsSinceEpoch: 1))
                try tx.store(r, Keys.recommendation(rid))
                for key in Keys.indexEntries(of: r) { try tx.set(key, []) }
                let line = CartLine(
                    product: p.id, recommendation: rid, quantity: 1, unitPriceFen: p.priceFen,
                    addedAt: Timestamp(millisecondsSinceEpoch: 1))
                try tx.store(line, Keys.cartLine(owner, p.id, rid))
            }
        }
        let order = try f.store.checkout(user: user, idempotencyKey: "k").order
        let booked = order.lines.map { [$0.product.rawValue, $0.recommendation?.rawValue ?? ""].map { Array($0.utf8) } }
        #expect(booked.count == 2)
        #expect(booked.contains([Array(composed.utf8), Array("r-nfc".utf8)]))
        #expect(booked.contains([Array(decomposed.utf8), Array("r-nfd".utf8)]))
        #expect(try f.store.product(nfc.id).stock == 0)
        #expect(try f.store.product(nfd.id).stock == 99)
        #expect(try f.store.recommendation("r-nfc").quantity == 9)
        #expect(try f.store.recommendation("r-nfd").quantity == 9)

        let problems = try f.store.checkIntegrity()
        // The product's key and its three discovery entries (prod_cat, prod_merch, prod_partner).
        #expect(problems.map(\.kind) == Array(repeating: .invalidIdentifier, count: 4), "\(problems)")
        #expect(problems.allSatisfy { $0.subject.contains(decomposed) }, "\(problems)")

        // A retry naming the composed product for the decomposed line is other content.
        let other = [
            CheckoutLine(product: ProductID(composed), recommendation: "r-nfd", quantity: 1),
            CheckoutLine(product: ProductID(composed), recommendation: "r-nfc", quantity: 1),
        ]
        #expect(throws: VitrineError.idempotencyKeyReused(key: "k", order: order.id)) {
            try f.store.checkout(user: user, lines: other, idempotencyKey: "k")
        }

        // Dump and load keep the bytes of such keys and values.
        var records: [DumpedRecord] = []
        try f.store.backend.forEachRecord(table: "product") { records.append($0) }
        #expect(records.count == f.products.count + 2)
        for record in records {
            let json = try JSONEncoder().encode(record)
            #expect(try JSONDecoder().decode(DumpedRecord.self, from: json) == record)
        }
    }

    @Test func identifiersCompareAndHashByBytes() {
        func distinct<I: VitrineIdentifier>(_ type: I.Type) {
            let a = I(rawValue: composed), b = I(rawValue: decomposed)
            #expect(a != b)
            #expect(Set([a, b]).count == 2)
            #expect([a: 1, b: 2].count == 2)
            #expect(a == I(rawValue: composed))
            #expect(a.hashValue == I(rawValue: composed).hashValue)
        }
        distinct(PartnerID.self)
        distinct(ProductID.self)
        distinct(ExpertID.self)
        distinct(RecommendationID.self)
        distinct(UserID.self)
        distinct(OrderID.self)
        #expect(CartOwner.guest(composed) != CartOwner.guest(decomposed))
        #expect(Set([CartOwner.guest(composed), CartOwner.guest(decomposed)]).count == 2)
        #expect(TupleElement.string(composed) != TupleElement.string(decomposed))
        #expect(Set([TupleElement.string(composed), TupleElement.string(decomposed)]).count == 2)
        #expect(LineKey(ProductID(composed), nil) != LineKey(ProductID(decomposed), nil))
    }

    /// `<` is the order of the storage keys, whatever the characters.
    @Test func identifierOrderIsKeyOrder() {
        let raw = [composed, decomposed, "cafe", "cafz", "Z", "a", "\u{212A}", "K", "美妆", "😀", "\u{FF21}", "a b", "ab"]
        let ids = raw.map(ProductID.init(rawValue:))
        let byId = ids.sorted().map(\.rawValue).map { Array($0.utf8) }
        let byKey = ids.sorted { Keys.product($0).lexicographicallyPrecedes(Keys.product($1)) }.map(\.rawValue).map { Array($0.utf8) }
        #expect(byId == byKey)
        #expect(ProductID(rawValue: "cafe\u{301}") < ProductID(rawValue: composed))
        #expect(!(ProductID(rawValue: composed) < ProductID(rawValue: composed)))
    }

    @Test func validationRuleAcceptsNFCText() throws {
        for ok in ["p1", composed, "美妆达人小美", "面膜 1 号", "😀", "prd-000001", "\u{E000}private"] {
            #expect(keyTextProblem(ok) == nil, "\(ok)")
            try validateIdentifier(ok, field: "product")
        }
    }

    @Test func validationRuleRefusesAmbiguousText() {
        let bad = [
            decomposed, // not NFC
            "\u{212A}", // Kelvin sign: NFC is "K"
            "\u{2126}", // Ohm sign: NFC is "Ω"
            "a\u{0}b", "a\nb", "a\tb", "a\u{7F}", "a\u{85}", // controls (C0, DEL, C1)
            "a\u{200B}", "a\u{200D}b", "a\u{202E}b", "\u{FEFF}a", "a\u{AD}b", // invisible format characters
            "a\u{2028}b", "a\u{2029}b", // line and paragraph separators
            "a\u{378}", "a" + scalar(0xFFFF), "a" + scalar(0xFDD0), // unassigned and noncharacters
        ]
        for value in bad {
            #expect(keyTextProblem(value) != nil, "\(value.unicodeScalars.map { String($0.value, radix: 16) })")
            #expect(invalidArgumentField { try validateIdentifier(value, field: "product") } == "product")
        }
    }

    @Test func everyKeyStringIsCheckedAtTheBoundary() throws {
        let f = try Fixture()
        let p = f.products[0].id
        #expect(invalidArgumentField { try f.store.addToCart(.guest(decomposed), product: p) } == "guest")
        #expect(invalidArgumentField { try f.store.addToCart(.user(UserID(decomposed)), product: p) } == "user")
        #expect(invalidArgumentField { try f.store.addToCart(.user(user), product: ProductID(decomposed)) } == "product")
        #expect(invalidArgumentField { try f.store.addToCart(.user(user), product: p, requestID: decomposed) } == "requestID")
        #expect(invalidArgumentField { try f.store.restock(p, units: 1, restockKey: decomposed) } == "restockKey")
        try f.store.addToCart(.user(user), product: p)
        #expect(invalidArgumentField { _ = try f.store.checkout(user: user, idempotencyKey: decomposed) } == "idempotencyKey")
        var product = cafe("other", stock: 1)
        product.category = "be\u{301}auty"
        #expect(invalidArgumentField { try f.store.upsertProduct(product) } == "category")
        #expect(
            invalidArgumentField {
                try f.store.upsertExpert(Expert(id: "e2", displayName: "x", categories: ["be\u{301}auty"], commissionBasisPoints: 0))
            } == "categories")
        #expect(
            invalidArgumentField {
                try f.store.upsertUser(User(id: "u2", displayName: "x", interests: ["be\u{301}auty"]))
            } == "interests")
        #expect(
            invalidArgumentField {
                try f.store.postRecommendation(id: RecommendationID(decomposed), expert: f.expert.id, product: p, reason: "x", quantity: 1)
            } == "recommendation")
        try expectIntact(f.store)
    }

    /// A retried add is recognised by the request id's bytes, not by canonical equivalence.
    @Test func requestIDsCompareByBytes() throws {
        let f = try Fixture()
        let p = f.products[0].id
        let owner = CartOwner.user(user)
        try f.store.addToCart(owner, product: p, quantity: 1, requestID: composed)
        // A line stored by an older version with a decomposed request id.
        try f.store.backend.write { tx in
            var line = try #require(try tx.load(CartLine.self, Keys.cartLine(owner, p, nil)))
            line.lastRequestID = decomposed
            try tx.store(line, Keys.cartLine(owner, p, nil))
        }
        let cart = try f.store.addToCart(owner, product: p, quantity: 1, requestID: composed)
        #expect(cart.items.first?.line.quantity == 2)
    }

    /// A feed over two look-alike categories reads both (they are two keys), newest first in key order.
    @Test func feedKeepsLookAlikeCategoriesApart() throws {
        let f = try Fixture()
        let product = f.products[0]
        try f.store.backend.write { tx in
            for (id, category) in [(composed, composed), (decomposed, decomposed)] {
                let r = Recommendation(
                    id: RecommendationID(id), expert: f.expert.id, product: product.id, category: category, reason: "好喝",
                    offeredQuantity: 10, quantity: 10, createdAt: Timestamp(millisecondsSinceEpoch: 1 << 50))
                try tx.store(r, Keys.recommendation(r.id))
                for key in Keys.indexEntries(of: r) { try tx.set(key, []) }
            }
        }
        let page = try f.store.interestFeed(categories: [composed, decomposed], limit: 10)
        let ids = page.items.map { Array($0.recommendation.id.rawValue.utf8) }
        #expect(ids == [Array(composed.utf8), Array(decomposed.utf8)])
    }
}
