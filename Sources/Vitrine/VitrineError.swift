// The errors the domain API throws: one case per thing a UI can act on.

/// A line of a checkout or add-to-cart that cannot be filled, and what is available for it.
public struct Shortage: Hashable, Sendable, Codable {
    /// Why the line is short.
    public enum Reason: String, Hashable, Sendable, Codable {
        /// Not enough units (of the product or of the recommendation's offered quantity).
        case insufficientStock
        /// The product is off sale.
        case productOffSale
        /// The product no longer exists.
        case productMissing
        /// The recommendation was withdrawn.
        case recommendationWithdrawn
        /// The recommendation no longer exists.
        case recommendationMissing
    }

    /// The product of the line.
    public var product: ProductID
    /// The recommendation of the line, or nil.
    public var recommendation: RecommendationID?
    /// Units asked for.
    public var requested: Int64
    /// Units that could be bought through this line right now (0 unless `insufficientStock`).
    public var available: Int64
    /// Why the line is short.
    public var reason: Reason

    /// A shortage.
    public init(product: ProductID, recommendation: RecommendationID?, requested: Int64, available: Int64, reason: Reason) {
        self.product = product
        self.recommendation = recommendation
        self.requested = requested
        self.available = available
        self.reason = reason
    }
}

/// A cart line whose price changed since it was added.
public struct PriceChange: Hashable, Sendable, Codable {
    /// The product whose price changed.
    public var product: ProductID
    /// The recommendation of the line, or nil.
    public var recommendation: RecommendationID?
    /// The unit price captured when the line was added.
    public var oldUnitPriceFen: Int64
    /// The unit price now.
    public var newUnitPriceFen: Int64

    /// A price change.
    public init(product: ProductID, recommendation: RecommendationID?, oldUnitPriceFen: Int64, newUnitPriceFen: Int64) {
        self.product = product
        self.recommendation = recommendation
        self.oldUnitPriceFen = oldUnitPriceFen
        self.newUnitPriceFen = newUnitPriceFen
    }
}

/// Errors of the Vitrine domain API. Each public function's documentation names the cases it throws;
/// errors of the storage backend itself pass through unchanged.
public enum VitrineError: Error, Hashable, Sendable {
    // Unknown ids.
    /// No partner with this id is registered.
    case unknownPartner(PartnerID)
    /// No product with this id.
    case unknownProduct(ProductID)
    /// No expert with this id.
    case unknownExpert(ExpertID)
    /// No user with this id.
    case unknownUser(UserID)
    /// No recommendation with this id.
    case unknownRecommendation(RecommendationID)
    /// No order with this id.
    case unknownOrder(OrderID)

    // Links.
    /// The link is not a parseable absolute URL with a host.
    case malformedLink(String)
    /// The link's scheme is not `https`.
    case linkNotHTTPS(link: String, scheme: String)
    /// The link's host is not one of the partner's domains.
    case linkHostNotAllowed(host: String, partner: PartnerID, allowedDomains: [String])
    /// The link is https but breaks the link policy (userinfo, a port other than 443, a host that
    /// is not plain lowercase-able ASCII letters, digits, "-" and ".", an unsafe character in the
    /// path, ...); `reason` says which. See ``PartnerLink``.
    case invalidLink(link: String, reason: String)

    // Carts.
    /// A quantity outside what is allowed (1...99 per cart line by default; restock units > 0).
    case quantityOutOfRange(Int64, allowed: ClosedRange<Int64>)
    /// The cart already holds the maximum number of lines.
    case cartFull(limit: Int)
    /// The product is not on sale.
    case productOffSale(ProductID)
    /// The recommendation was withdrawn.
    case recommendationWithdrawn(RecommendationID)
    /// The recommendation is for another product.
    case recommendationNotForProduct(RecommendationID, product: ProductID)
    /// The cart has no line for this product and recommendation.
    case notInCart(ProductID, recommendation: RecommendationID?)
    /// A checkout line asks for more units than its cart line holds.
    case moreThanInCart(ProductID, recommendation: RecommendationID?, requested: Int64, inCart: Int64)
    /// A guest id the store did not issue (see ``Store/issueGuestID()``).
    case unknownGuest(String)
    /// The cart would have more units of the product than one buyer may
    /// (``Configuration/maxUnitsPerBuyer``, over all the cart's lines of the product).
    case buyerLimitExceeded(ProductID, limit: Int64)

    // Stock and checkout.
    /// Not enough available: every short line, with what is available.
    case outOfStock([Shortage])
    /// Prices changed since the lines were added; call again accepting price changes to buy at
    /// the new prices.
    case priceChanged([PriceChange])
    /// The checkout's total is not the one the caller agreed to (`expectedTotalFen`): prices
    /// changed since the buyer saw them. Nothing was bought.
    case totalMismatch(expectedFen: Int64, actualFen: Int64)
    /// The idempotency key was already used for a checkout of different content.
    case idempotencyKeyReused(key: String, order: OrderID)
    /// The order's status does not allow this change (cancel or settle twice, cancel after settle).
    case orderStatusConflict(OrderID, status: OrderStatus)
    /// A checkout with no lines.
    case emptyCheckout

    // Payment and after-sale.
    /// The order was not paid in time (its `paymentDueAt` passed): it is expired, or will be at
    /// the next sweep, and takes no more confirmations.
    case paymentOverdue(OrderID, dueAt: Timestamp)
    /// The order has no line from this partner.
    case partnerNotInOrder(OrderID, partner: PartnerID)
    /// The partner's sub-order of this order was already confirmed with another reference.
    case paymentAlreadyConfirmed(OrderID, partner: PartnerID, reference: String)
    /// The partner's order reference is already recorded for another order.
    case paymentReferenceInUse(reference: String, partner: PartnerID, order: OrderID)
    /// The settlement window is still open: the order may be settled from `settleableAt`.
    case settlementWindowOpen(OrderID, settleableAt: Timestamp)
    /// An after-sale change names a line the order does not have.
    case notInOrder(OrderID, product: ProductID, recommendation: RecommendationID?)
    /// An after-sale change asks for more units than the line has left for it.
    case moreThanInOrder(OrderID, product: ProductID, requested: Int64, available: Int64)

    // Content.
    /// The recommendation reason is longer than the limit (in characters).
    case reasonTooLong(length: Int, limit: Int)
    /// An id is already used by a record with different content.
    case idConflict(kind: String, id: String)
    /// An argument is invalid (empty or too long id, negative price, bad rate, ...).
    case invalidArgument(field: String, reason: String)
    /// Integer arithmetic on money or quantities would overflow.
    case amountOverflow(field: String)
    /// A paging cursor is not one this store issued.
    case invalidCursor

    // Storage.
    /// A stored record or key is malformed.
    case corruptRecord(key: [UInt8], FormatError)
    /// The store was written by an incompatible format version.
    case incompatibleFormat(found: UInt64, supported: UInt64)
    /// A catalogue (JSON) could not be read; the text says where and why.
    case invalidCatalogue(String)
}

// Overflow-checked arithmetic on amounts: throws `amountOverflow` instead of trapping.
func checkedAdd(_ a: Int64, _ b: Int64, _ field: String) throws -> Int64 {
    let (r, o) = a.addingReportingOverflow(b)
    if o { throw VitrineError.amountOverflow(field: field) }
    return r
}

func checkedSubtract(_ a: Int64, _ b: Int64, _ field: String) throws -> Int64 {
    let (r, o) = a.subtractingReportingOverflow(b)
    if o { throw VitrineError.amountOverflow(field: field) }
    return r
}

func checkedMultiply(_ a: Int64, _ b: Int64, _ field: String) throws -> Int64 {
    let (r, o) = a.multipliedReportingOverflow(by: b)
    if o { throw VitrineError.amountOverflow(field: field) }
    return r
}
