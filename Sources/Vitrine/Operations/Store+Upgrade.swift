// Upgrading a store written by an earlier format version: once, at open, inside `Store.init`'s
// transaction (so all or nothing), before anything else touches it.
//
// Version 1 -> 2. The records are the same; what is new is data derived from them that every write
// path now maintains, and that a version-1 store lacks:
//   - the discovery entries of every product ("prod_cat", "prod_merch", "prod_partner");
//   - the retention index of every idempotency record ("idem_time", placedAt, user, key), with
//     placedAt from the order it names (a record whose order is missing is left to `check`);
//   - a Guest record for each guest id that owns cart lines: guest ids are now issued by the
//     store, and carts made before that would otherwise be refused (`unknownGuest`).
// The cost is one pass over products, idempotency records and carts, in one transaction.
//
// Version 2 -> 3. Guest records may carry field 3 `lastActiveAt` (records without it read as they
// are: their last activity is their createdAt), and every guest has its idle-guest index entry
// ("guest_time", lastActivity, guestID), which every write path now maintains. The upgrade writes
// the entry of every guest (of those a version-1 upgrade just wrote too): one pass over guests.
// Why a new version and not only a new field: a version-2 writer would change a guest's cart
// without moving its entry, and the sweep would then remove a guest that is active.
// Limit: the upgrade is the open's one transaction, so on etcd a version-2 store of more than
// about 2000 guests exceeds the cluster's 2048 operations and its first writing open is refused
// (`transactionTooLarge`, nothing written); the embedded engine has no such bound.

extension Store {
    static func upgrade<W: OrderedKeyValueWriter>(_ tx: W, from version: UInt64, now: Timestamp) throws {
        if version < 2 { try upgradeToVersion2(tx, now: now) }
        if version < 3 {
            try tx.scan(Keys.guests) { pair in
                guard let guest = try? Guest(recordBytes: pair.value) else { return } // left to `check`
                let entry = Keys.guestActivity(guest)
                if try tx.get(entry) == nil { try tx.set(entry, []) }
            }
        }
    }

    static func upgradeToVersion2<W: OrderedKeyValueWriter>(_ tx: W, now: Timestamp) throws {
        try tx.scan(Keys.products) { pair in
            let p = try decodeRecord(Product.self, pair.value, key: pair.key)
            for key in Keys.productIndexEntries(of: p) where try tx.get(key) == nil { try tx.set(key, []) }
        }
        try tx.scan(["idem"]) { pair in
            guard let elements = try? Tuple(unpacking: pair.key).elements, elements.count == 3,
                case .string(let user) = elements[1], case .string(let key) = elements[2],
                let record = try? IdempotencyRecord(recordBytes: pair.value),
                let order = try tx.load(Order.self, Keys.order(record.order))
            else { return }
            let entry = Keys.idempotencyByTime(order.placedAt, UserID(user), key)
            if try tx.get(entry) == nil { try tx.set(entry, []) }
        }
        var guests = Set<String>()
        try tx.scan(Keys.carts) { pair in
            guard let elements = try? Tuple(unpacking: pair.key).elements, elements.count >= 3,
                case .int(let kind) = elements[1], kind == 2, case .string(let id) = elements[2],
                guests.insert(id).inserted, try tx.get(Keys.guest(id)) == nil
            else { return }
            try tx.store(Guest(id: id, createdAt: now), Keys.guest(id))
        }
    }
}
