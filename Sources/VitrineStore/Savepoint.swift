// Savepoints: a part of a write transaction that can fail on its own.
//
// `savepoint { ... }` runs a closure inside the transaction; if it throws, every change it made
// is undone and the transaction goes on as if the closure had never run. The batch commit path
// (Batch.swift) runs each caller's closure in one, so a caller whose checkout fails (out of
// stock, unknown product) takes back only its own writes, and later closures in the batch see
// exactly the earlier ones' surviving writes.
//
// How: the pages are copy-on-write against the last commit, not against the savepoint, so the
// undo is logical. While a savepoint is open each change journals its inverse (the key's
// previous value or its absence, a created table's predecessor, a dropped table's entries); a
// rollback applies the inverses newest first, unlogged, and truncates the transaction's log
// record back to where the savepoint began. The tree afterwards holds the same keys and values
// as before (its page layout may differ, which nothing can observe), and the log record holds
// exactly the surviving changes, so replay reaches the same state.
//
// Costs, paid only inside a savepoint: one lookup per put (for the previous value), the values
// of a deleted range, and the whole contents of a dropped table, kept in memory until the
// outermost savepoint ends.
//
// A change that fails halfway (an I/O error while a page was being split) leaves the tree in a
// state no inverse can repair: the savepoint then does not roll back, and the transaction can
// only roll back as a whole (`failure` is set, commit throws it).

/// The inverse of one change made inside a savepoint.
enum UndoStep {
    /// Put `value` back under `key` (nil: remove the key).
    case restore(TableState, key: [UInt8], value: [UInt8]?)
    /// Remove the table created here and bring back `previous` (a table dropped earlier in the
    /// transaction, or nil).
    case tableCreated(TableState, previous: TableState?)
    /// Re-create the dropped table under its id, with these entries.
    case tableDropped(TableState, entries: [([UInt8], [UInt8])])
}

extension WriteTransaction {
    /// Runs `body` in a savepoint: when it throws, every change it made is undone, the error is
    /// rethrown, and the transaction stays usable (its other changes still commit). Savepoints
    /// nest: an inner one's changes are undone with the outer one's when the outer one fails.
    ///
    /// - Throws: what `body` throws; `.transactionClosed`; the error of an earlier change that
    ///   failed halfway (the transaction can then only roll back as a whole).
    public func savepoint<T>(_ body: () throws -> T) throws -> T {
        try checkOpen()
        if let failure { throw failure }
        let undoMark = undo.count
        let logMark = log.mark
        let loggedAtMark = !commitsByCheckpoint
        let tableIdMark = nextTableId
        savepointDepth += 1
        usedSavepoints = true
        defer {
            savepointDepth -= 1
            if savepointDepth == 0 { undo.removeAll(keepingCapacity: undo.capacity <= 4096) }
        }
        do {
            return try body()
        } catch {
            // A failed change has left a tree no inverse can be trusted to repair.
            guard failure == nil else { throw error }
            do {
                try rollBack(to: undoMark)
                // The record only shrinks back when it was being kept at the mark and still is;
                // a transaction that switched to committing by checkpoint has no record to cut.
                if loggedAtMark && !commitsByCheckpoint { log.truncate(to: logMark) }
                nextTableId = tableIdMark
            } catch let rollbackError {
                if failure == nil { failure = rollbackError }
            }
            throw error
        }
    }

    /// Applies the inverses journaled since `mark`, newest first, unlogged and unjournaled.
    private func rollBack(to mark: Int) throws {
        while undo.count > mark {
            switch undo.removeLast() {
            case .restore(let table, let key, let value):
                if table.dropped { continue } // its re-creation below restores the entries
                if let value {
                    try put(key, value, in: table, logged: false)
                } else {
                    try delete(key, in: table, logged: false)
                }
            case .tableCreated(let created, let previous):
                if !created.dropped { try dropTableState(created, logged: false) }
                tables[created.name] = previous
                tablesById?[created.id] = nil
                if let previous, !previous.dropped { tablesById?[previous.id] = previous }
            case .tableDropped(let dropped, let entries):
                // Revived in place, so that table handles taken before the savepoint (which hold
                // this state object) go on working, as if the drop had never run.
                dropped.dropped = false
                dropped.root = 0
                dropped.count = 0
                dropped.dirty = true
                catalog.dirty = true
                tables[dropped.name] = dropped
                tablesById?[dropped.id] = dropped
                modificationCount += 1
                for (key, value) in entries { try put(key, value, in: dropped, logged: false) }
            }
        }
    }

    /// The value of `key` in `table` as this transaction sees it.
    func currentValue(_ key: [UInt8], in table: TableState) throws -> [UInt8]? {
        guard key.count <= Limits.maxKeyLength, let (leaf, i) = try find(key, in: table.root) else { return nil }
        return try reader.value(leaf, i)
    }

    /// Every entry of `table`, in key order (journaled before a drop inside a savepoint).
    func entries(of table: TableState) throws -> [([UInt8], [UInt8])] {
        var result: [([UInt8], [UInt8])] = []
        let c = Cursor(source: .transaction(self, table))
        var ok = try c.first()
        while ok {
            result.append((c.key, try c.value()))
            ok = try c.next()
        }
        return result
    }
}
