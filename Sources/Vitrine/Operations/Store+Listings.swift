// Listings for whole-store readers (the static pages of `vitrine pages`): the users that have a
// cart, and the orders awaiting payment. Both read existing keys, no index of their own:
//
//   users with a cart    ("cart", 1, userID, productID, recID|null): one range read of one key
//                        per user, then a jump past that user's lines, so a page costs `limit`
//                        reads however many lines each cart holds. In user id order (UTF-8 bytes).
//   awaiting payment     ("order_due", paymentDueAt, orderID): the expiry sweep's index, which
//                        holds exactly the placed orders with a deadline, soonest deadline first.
//                        Orders placed before the purchase flow have no deadline and are not
//                        listed (they never expire either).
//
// Cursors: the users' is a `PageCursor` whose id is the last user id (time unused, 0); the
// orders' is the last entry's (paymentDueAt, orderID). A page starts strictly after its cursor.

extension Store {
    /// One page of the users whose cart has at least one line, by user id.
    ///
    /// - Parameters:
    ///   - cursor: the `next` of the previous page; nil for the first page.
    ///   - limit: page size, 1...1000.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``;
    ///   backend errors.
    public func usersWithCarts(after cursor: PageCursor? = nil, limit: Int = 20) throws -> Page<UserID> {
        try validateLimit(limit)
        let owners = Keys.cart(.user(UserID("-"))).elements.prefix(2) // ("cart", 1)
        let all = Tuple(Array(owners)).range
        return try backend.read { tx in
            var begin = cursor.map { Tuple(Array(owners) + [.string($0.id)]).range.end } ?? all.begin
            var users: [UserID] = []
            while let pair = try tx.getRange(from: begin, to: all.end, limit: 1, reverse: false).first {
                let elements = try Tuple(unpacking: pair.key).elements
                guard elements.count == 5, case .string(let id) = elements[2] else {
                    throw VitrineError.corruptRecord(key: pair.key, .unexpectedShape("cart key must be (cart, kind, owner, product, rec)"))
                }
                if users.count == limit {
                    return Page(items: users, next: PageCursor(time: Timestamp(millisecondsSinceEpoch: 0), id: users[limit - 1].rawValue))
                }
                users.append(UserID(id))
                begin = Tuple(Array(owners) + [.string(id)]).range.end
            }
            return Page(items: users, next: nil)
        }
    }

    /// One page of the orders awaiting payment (placed, with a payment deadline), soonest
    /// deadline first; an order whose deadline has passed but that no sweep has expired yet is
    /// listed too (its ``Store/purchaseIntents(for:)`` throws ``VitrineError/paymentOverdue(_:dueAt:)``).
    ///
    /// - Parameters:
    ///   - cursor: the `next` of the previous page; nil for the first page.
    ///   - limit: page size, 1...1000.
    /// - Throws: ``VitrineError/invalidArgument(field:reason:)``, ``VitrineError/corruptRecord(key:_:)``;
    ///   backend errors.
    public func ordersAwaitingPayment(after cursor: PageCursor? = nil, limit: Int = 20) throws -> Page<Order> {
        try validateLimit(limit)
        let all = Keys.ordersDue.range
        let begin = cursor.map { Tuple(["order_due", .int($0.time.millisecondsSinceEpoch), .string($0.id)]).packed + [0x00] } ?? all.begin
        return try backend.read { tx in
            var orders: [Order] = []
            var last: PageCursor? = nil
            for pair in try tx.getRange(from: begin, to: all.end, limit: limit + 1, reverse: false) {
                let elements = try Tuple(unpacking: pair.key).elements
                guard elements.count == 3, case .int(let due) = elements[1], case .string(let id) = elements[2] else {
                    throw VitrineError.corruptRecord(key: pair.key, .unexpectedShape("order_due key must be (order_due, time, order)"))
                }
                if orders.count == limit { return Page(items: orders, next: last) }
                orders.append(try tx.order(OrderID(id)))
                last = PageCursor(time: Timestamp(millisecondsSinceEpoch: due), id: id)
            }
            return Page(items: orders, next: nil)
        }
    }
}
