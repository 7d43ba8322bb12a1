// The idle-guest index checked both ways (part of `checkIntegrity`): every guest has its entry
// ("guest_time", lastActivity, guestID) (Store+Guests.swift), and every entry is that of the guest
// it names, as that guest is now. A guest that does not decode is reported as such.

extension Store {
    func checkGuestIndex<R: OrderedKeyValueReader>(_ tx: R, report: (IntegrityProblem.Kind, String, String) -> Void) throws {
        var guests: [String: Guest] = [:]
        try tx.scan(Keys.guests) { pair in
            guard let g = try? Guest(recordBytes: pair.value) else {
                report(.corruptRecord, Tuple.describe(pair.key), "not a Guest record")
                return
            }
            guests[g.id] = g
            if try tx.get(Keys.guestActivity(g)) == nil {
                report(.missingIndexEntry, "guest \(g.id)", Tuple.describe(Keys.guestActivity(g)))
            }
        }
        try tx.scan(Keys.guestActivities) { pair in
            guard case .string(let id)? = (try? Tuple(unpacking: pair.key))?.elements.last else {
                report(.corruptRecord, Tuple.describe(pair.key), "index key must end with a guest id")
                return
            }
            if guests[id].map({ Keys.guestActivity($0) != pair.key }) ?? true {
                report(.danglingIndexEntry, Tuple.describe(pair.key), "guest \(id) is missing or last active at another time")
            }
        }
    }
}
