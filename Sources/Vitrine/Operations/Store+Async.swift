// The operations a flash sale hammers, for Swift concurrency.
//
// Each runs the synchronous operation of the same name through the backend's `perform`: on the
// embedded engine that is the batch thread, where concurrent callers' operations share one
// transaction (each in its own savepoint: a failing one takes back only itself) and one log
// write. A task waiting for its batch or for the disk is suspended and blocks no thread, so a
// server can keep thousands of checkouts in flight on two cores. Results, errors and guarantees
// are exactly the synchronous operation's: idempotency keys hold inside one batch too (a retry
// queued behind the first attempt sees its order), and nothing is ever re-run.

extension Store where Backend: AsyncOrderedKeyValueStore {
    /// ``checkout(user:lines:idempotencyKey:acceptPriceChanges:)``, awaiting its durable commit.
    public func checkout(
        user: UserID, lines: [CheckoutLine]? = nil, idempotencyKey: String, acceptPriceChanges: Bool = false
    ) async throws -> CheckoutResult {
        try await backend.perform {
            try self.checkout(user: user, lines: lines, idempotencyKey: idempotencyKey, acceptPriceChanges: acceptPriceChanges)
        }
    }

    /// ``addToCart(_:product:recommendation:quantity:requestID:)``, awaiting its durable commit.
    @discardableResult
    public func addToCart(
        _ owner: CartOwner, product: ProductID, recommendation: RecommendationID? = nil, quantity: Int64 = 1,
        requestID: String? = nil
    ) async throws -> Cart {
        try await backend.perform {
            try self.addToCart(owner, product: product, recommendation: recommendation, quantity: quantity, requestID: requestID)
        }
    }

    /// ``cancelOrder(_:)``, awaiting its durable commit.
    @discardableResult
    public func cancelOrder(_ id: OrderID) async throws -> Order {
        try await backend.perform { try self.cancelOrder(id) }
    }

    /// ``restock(_:units:restockKey:)``, awaiting its durable commit.
    @discardableResult
    public func restock(_ id: ProductID, units: Int64, restockKey: String) async throws -> Product {
        try await backend.perform { try self.restock(id, units: units, restockKey: restockKey) }
    }

    /// ``confirmPayment(order:partner:reference:)``, awaiting its durable commit.
    @discardableResult
    public func confirmPayment(order: OrderID, partner: PartnerID? = nil, reference: String) async throws -> PaymentConfirmation {
        try await backend.perform { try self.confirmPayment(order: order, partner: partner, reference: reference) }
    }
}
