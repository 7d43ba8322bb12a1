// The store: the domain API over any `OrderedKeyValueStore`.
//
// `Store<Backend>` is a small value (the backend and the configuration); copies share the backend.
// Every public operation is one backend transaction: reads in `backend.read`, writes in
// `backend.write`, so each is atomic, and reads never wait for writes. Operations are written as
// extensions, one concern per file (Operations/Store+*.swift).

/// What a store is created with.
public struct Configuration: Sendable {
    /// Partner platforms registered when the store is opened, if not registered yet (an existing
    /// partner is never overwritten by an open: change it with `upsertPartner`).
    public var partners: [Partner]
    /// Quantities allowed per cart line.
    public var lineQuantity: ClosedRange<Int64>
    /// The most lines one cart may hold, and so one order: 1...``maxCartLinesUpperBound``, so
    /// that an order of that many lines with every field at its longest stays a single value under
    /// FoundationDB's 100,000-byte limit (formats/records.md, "Limits kept").
    public var maxCartLines: Int
    /// The longest recommendation reason, in characters (grapheme clusters):
    /// 1...``maxReasonLengthUpperBound``. Its UTF-8 form must also fit in 4 bytes per allowed
    /// character.
    public var maxReasonLength: Int
    /// How long add-to-cart holds units (reservations), for products that do not say otherwise;
    /// nil turns store-wide reservations off (a product can still turn them on for itself).
    public var reservationHold: Duration?
    /// How many times one cart line's hold may be renewed (given a fresh expiry by raising the
    /// line) after it is first placed. Past this, the line stays in the cart and keeps its hold
    /// until that expires, but raising it no longer renews the hold (so a line cannot pin units
    /// indefinitely); checkout re-checks the stock as for any unheld line. Lowering a line or
    /// buying part of it never renews its hold. The count lives on the cart line: removing the
    /// line resets it, which ``maxUnitsPerBuyer`` and ``maxHeldShareBasisPoints`` bound.
    public var maxHoldRenewals: Int
    /// The most units of one product one cart (user or guest) may have, over all its lines of
    /// the product (held or not). Adding or raising past it throws
    /// ``VitrineError/buyerLimitExceeded(_:limit:)``; a merge clamps the merged line to it.
    public var maxUnitsPerBuyer: Int64
    /// The largest share of a product's stock that carts may hold at once, in basis points
    /// (10000 = all of it). Units past the share go into carts unheld: they stay for whoever
    /// checks out first, so however many carts a bot opens, the rest of a flash sale stays
    /// buyable. Holds only ever count where reservations are on.
    public var maxHeldShareBasisPoints: Int64
    /// How long a checkout's idempotency key is remembered (at least 1 ms, at most
    /// ``maxIdempotencyRetention``). A retry within this time of the order returns the same
    /// order; after it the key counts as unused, so a retry places a new order (as Stripe's keys
    /// do after 24 hours), and ``Store/sweepExpiredIdempotencyKeys(limit:)`` may delete the record.
    public var idempotencyRetention: Duration
    /// How long a guest session may stay idle (1 ms ... ``maxGuestRetention``): a guest whose
    /// last cart change (``Guest/lastActivity``) is this long ago is removed, with its cart lines
    /// and their holds, by ``Store/sweepIdleGuests(limit:)``; its id is then unknown.
    public var guestRetention: Duration
    /// How long a checkout's order waits for the partners' payment confirmations (1 ms ...
    /// ``maxPaymentWindow``) before it expires and gives back its stock, recommendation quantity
    /// and commission. Written on the order at checkout (`paymentDueAt`), so a later change of the
    /// configuration does not move the deadline of orders already placed.
    public var paymentWindow: Duration
    /// How long after payment the commission stays pending (returns are cheap then) before
    /// `settleOrder` may make it payable (0 ... ``maxSettlementWindow``).
    public var settlementWindow: Duration
    /// Where the store reads the time.
    public var clock: VitrineClock

    /// The largest allowed ``maxCartLines``: a 50-line order with every id, key and title at its
    /// longest encodes to about 81 KB (RecordLimitTests prove it stays under 100,000 bytes).
    public static let maxCartLinesUpperBound = 50
    /// The largest allowed ``maxReasonLength``: 5000 characters of at most 4 bytes each keep a
    /// recommendation near 20 KB.
    public static let maxReasonLengthUpperBound = 5_000
    /// How far ahead of the store's clock a caller-given time may be (a recommendation's
    /// `createdAt`): enough for clocks a little apart, not enough to pin a post to the top of feeds.
    public static let maxClockSkew: Duration = .seconds(300)
    /// The longest allowed ``idempotencyRetention``: 10 years.
    public static let maxIdempotencyRetention: Duration = .seconds(10 * 366 * 86_400)
    /// The longest allowed ``guestRetention``: 10 years.
    public static let maxGuestRetention: Duration = .seconds(10 * 366 * 86_400)
    /// The longest allowed ``paymentWindow``: 30 days.
    public static let maxPaymentWindow: Duration = .seconds(30 * 86_400)
    /// The longest allowed ``settlementWindow``: 366 days.
    public static let maxSettlementWindow: Duration = .seconds(366 * 86_400)

    /// A configuration; each argument defaults to the value of ``Configuration/standard``, and the store checks the ranges when it opens.
    public init(
        partners: [Partner] = Partner.defaults,
        lineQuantity: ClosedRange<Int64> = 1...99,
        maxCartLines: Int = 50,
        maxReasonLength: Int = 500,
        reservationHold: Duration? = nil,
        maxHoldRenewals: Int = 3,
        maxUnitsPerBuyer: Int64 = 99,
        maxHeldShareBasisPoints: Int64 = 10_000,
        idempotencyRetention: Duration = .seconds(30 * 86_400),
        guestRetention: Duration = .seconds(30 * 86_400),
        paymentWindow: Duration = .seconds(30 * 60),
        settlementWindow: Duration = .seconds(7 * 86_400),
        clock: VitrineClock = .system
    ) {
        self.paymentWindow = paymentWindow
        self.settlementWindow = settlementWindow
        self.partners = partners
        self.lineQuantity = lineQuantity
        self.maxCartLines = maxCartLines
        self.maxReasonLength = maxReasonLength
        self.reservationHold = reservationHold
        self.maxHoldRenewals = maxHoldRenewals
        self.maxUnitsPerBuyer = maxUnitsPerBuyer
        self.maxHeldShareBasisPoints = maxHeldShareBasisPoints
        self.idempotencyRetention = idempotencyRetention
        self.guestRetention = guestRetention
        self.clock = clock
    }

    /// The defaults: Tmall, Taobao, Weimai; 1...99 per line; 50 lines; 500-character reasons;
    /// no reservations (when turned on: 3 renewals per line, 99 units of a product per cart, all
    /// of the stock may be held); idempotency keys kept 30 days; guests idle 30 days removed by
    /// the sweep; 30 minutes to pay; commission
    /// settles 7 days after payment; the system clock.
    public static let standard = Configuration()
}

/// The Vitrine domain API: catalogue, showcases, favourites, carts, checkout, orders and earnings,
/// over an ordered key-value backend.
///
/// ```swift
/// let store = try Store(backend: InMemoryKeyValueStore(), configuration: .standard)
/// try store.upsertExpert(Expert(id: "mei", displayName: "美妆达人小美", categories: ["beauty"],
///                               commissionBasisPoints: 800))
/// try store.upsertProduct(Product(id: "mask", partner: "tmall",
///                                 link: "https://detail.tmall.com/item.htm?id=1", title: "补水面膜",
///                                 priceFen: 9_900, merchant: "云朵官方旗舰店", category: "beauty",
///                                 initialStock: 50))
/// let rec = try store.postRecommendation(expert: "mei", product: "mask",
///                                        reason: "敏感肌也能用，温和不刺激。", quantity: 20)
/// let cart = try store.addToCart(.user("ann"), product: "mask", recommendation: rec.id, quantity: 2)
/// let order = try store.checkout(user: "ann", lines: cart.checkoutLines,
///                                idempotencyKey: "ann-pay-1").order   // retry-safe
/// ```
///
/// The backend is generic (any ``OrderedKeyValueStore``: ``InMemoryKeyValueStore`` here, the
/// embedded engine later), never an existential, so calls into it are direct.
/// A `Store` is `Sendable`: share it between threads and tasks freely.
public struct Store<Backend: OrderedKeyValueStore>: Sendable {
    /// The backend the store reads and writes.
    public let backend: Backend
    /// What the store was opened with.
    public let configuration: Configuration

    /// Opens a store over `backend`: checks the format marker (writing it on a new store) and
    /// upserts the configured partners.
    ///
    /// - Throws: ``VitrineError/incompatibleFormat(found:supported:)`` when the backend holds
    ///   data of another format version; ``VitrineError/invalidArgument(field:reason:)`` for an
    ///   invalid configuration or partner; ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public init(backend: Backend, configuration: Configuration = .standard) throws {
        self.backend = backend
        self.configuration = configuration
        guard configuration.lineQuantity.lowerBound >= 1 else {
            throw VitrineError.invalidArgument(field: "lineQuantity", reason: "must start at 1 or more")
        }
        guard configuration.maxCartLines >= 1, configuration.maxReasonLength >= 1 else {
            throw VitrineError.invalidArgument(field: "configuration", reason: "limits must be positive")
        }
        // Upper bounds, so that every record fits one value at the configured maxima.
        guard configuration.maxCartLines <= Configuration.maxCartLinesUpperBound else {
            throw VitrineError.invalidArgument(
                field: "maxCartLines", reason: "at most \(Configuration.maxCartLinesUpperBound) (an order must fit one value)")
        }
        guard configuration.maxReasonLength <= Configuration.maxReasonLengthUpperBound else {
            throw VitrineError.invalidArgument(
                field: "maxReasonLength", reason: "at most \(Configuration.maxReasonLengthUpperBound) characters")
        }
        guard configuration.idempotencyRetention >= .milliseconds(1),
            configuration.idempotencyRetention <= Configuration.maxIdempotencyRetention
        else {
            throw VitrineError.invalidArgument(field: "idempotencyRetention", reason: "1 ms ... 10 years")
        }
        guard configuration.guestRetention >= .milliseconds(1), configuration.guestRetention <= Configuration.maxGuestRetention else {
            throw VitrineError.invalidArgument(field: "guestRetention", reason: "1 ms ... 10 years")
        }
        guard configuration.paymentWindow >= .milliseconds(1), configuration.paymentWindow <= Configuration.maxPaymentWindow else {
            throw VitrineError.invalidArgument(field: "paymentWindow", reason: "1 ms ... 30 days")
        }
        guard configuration.settlementWindow >= .zero, configuration.settlementWindow <= Configuration.maxSettlementWindow else {
            throw VitrineError.invalidArgument(field: "settlementWindow", reason: "0 ... 366 days")
        }
        guard configuration.maxHoldRenewals >= 0, configuration.maxUnitsPerBuyer >= 1,
            (0...10_000).contains(configuration.maxHeldShareBasisPoints)
        else {
            throw VitrineError.invalidArgument(
                field: "configuration", reason: "hold limits: renewals >= 0, units per buyer >= 1, held share 0...10000")
        }
        for partner in configuration.partners { try Self.validate(partner) }
        let now = configuration.clock.now()
        try backend.write { tx in
            if let meta = try tx.load(MetaRecord.self, Keys.meta) {
                guard meta.formatVersion <= MetaRecord.currentFormatVersion else {
                    throw VitrineError.incompatibleFormat(found: meta.formatVersion, supported: MetaRecord.currentFormatVersion)
                }
                if meta.formatVersion < MetaRecord.currentFormatVersion {
                    try Self.upgrade(tx, from: meta.formatVersion, now: now) // Store+Upgrade.swift
                    try tx.store(MetaRecord(formatVersion: MetaRecord.currentFormatVersion, createdAt: meta.createdAt), Keys.meta)
                }
            } else {
                try tx.store(MetaRecord(formatVersion: MetaRecord.currentFormatVersion, createdAt: now), Keys.meta)
            }
            // Registered when missing, never overwritten: after the first open, partners change
            // only through the administrative `upsertPartner`, which a later open must not undo.
            for partner in configuration.partners where try tx.get(Keys.partner(partner.id)) == nil {
                try tx.store(partner, Keys.partner(partner.id))
            }
        }
    }

    /// Opens a store over `backend` for reading only: checks the format marker when there is one
    /// and writes nothing (no marker, no partners), so tools can look at a database without
    /// changing it. Write operations through this store still work as usual.
    ///
    /// - Throws: ``VitrineError/incompatibleFormat(found:supported:)``,
    ///   ``VitrineError/corruptRecord(key:_:)``; backend errors.
    public init(readingFrom backend: Backend, configuration: Configuration = .standard) throws {
        self.backend = backend
        self.configuration = configuration
        try backend.read { tx in
            // An older version reads as it is (the records are the same; `check` reports what its
            // upgrade, at the first writing open, would add).
            if let meta = try tx.load(MetaRecord.self, Keys.meta), meta.formatVersion > MetaRecord.currentFormatVersion {
                throw VitrineError.incompatibleFormat(found: meta.formatVersion, supported: MetaRecord.currentFormatVersion)
            }
        }
    }

    var now: Timestamp { configuration.clock.now() }
}

// MARK: Typed access to records, shared by the operations.

extension OrderedKeyValueReader {
    /// The record under `key`, or nil. Throws `corruptRecord` when the bytes do not decode.
    func load<R: BinaryRecord>(_ type: R.Type, _ key: [UInt8]) throws -> R? {
        guard let bytes = try get(key) else { return nil }
        return try decodeRecord(R.self, bytes, key: key)
    }

    func product(_ id: ProductID) throws -> Product {
        guard let p = try load(Product.self, Keys.product(id)) else { throw VitrineError.unknownProduct(id) }
        return p
    }

    func expert(_ id: ExpertID) throws -> Expert {
        guard let e = try load(Expert.self, Keys.expert(id)) else { throw VitrineError.unknownExpert(id) }
        return e
    }

    func recommendation(_ id: RecommendationID) throws -> Recommendation {
        guard let r = try load(Recommendation.self, Keys.recommendation(id)) else {
            throw VitrineError.unknownRecommendation(id)
        }
        return r
    }

    func order(_ id: OrderID) throws -> Order {
        guard let o = try load(Order.self, Keys.order(id)) else { throw VitrineError.unknownOrder(id) }
        return o
    }

    /// Every pair under `prefix`, read in batches (so no single range read is huge).
    func scan(_ prefix: Tuple, batch: Int = 1024, _ body: (KeyValue) throws -> Void) throws {
        var (begin, end) = prefix.range
        while true {
            let pairs = try getRange(from: begin, to: end, limit: batch, reverse: false)
            for pair in pairs { try body(pair) }
            guard pairs.count == batch, let last = pairs.last else { return }
            begin = last.key + [0x00]
        }
    }

    /// The counter under `key` (0 when absent).
    func counter(_ key: [UInt8]) throws -> Int64 {
        guard let bytes = try get(key) else { return 0 }
        guard let v = decodeLittleEndianInt64(bytes) else {
            throw VitrineError.corruptRecord(key: key, .unexpectedShape("a counter must be 8 bytes"))
        }
        return v
    }
}

extension OrderedKeyValueWriter {
    func store<R: BinaryRecord>(_ record: R, _ key: [UInt8]) throws {
        try set(key, record.recordBytes)
    }

    /// Adds `delta` to the counter under `key`, refusing a sum that does not fit 64 bits with
    /// ``VitrineError/amountOverflow(field:)``. The bound is checked here, before `atomicAdd`,
    /// because a backend need not check it (FoundationDB's ADD wraps). The read makes the
    /// counter part of the transaction's reads: the price of never wrapping a money total.
    func addToCounter(_ key: [UInt8], _ delta: Int64, field: String) throws {
        _ = try checkedAdd(try counter(key), delta, field)
        try atomicAdd(key, delta)
    }
}

func decodeRecord<R: BinaryRecord>(_ type: R.Type, _ bytes: [UInt8], key: [UInt8]) throws -> R {
    do {
        return try R(recordBytes: bytes)
    } catch let error as FormatError {
        throw VitrineError.corruptRecord(key: key, error)
    }
}
