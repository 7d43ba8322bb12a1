// compact(to:): a fresh, dense copy of the database. Every table is copied in key order from
// one snapshot, so the append split fills each new page completely; the copy has next to no
// free pages and an empty log. The source stays open and writable while this runs (it reads a snapshot).

import Glibc

extension Database {
    /// Writes a compacted copy of the current state to a new database file at `path`.
    /// - Parameters:
    ///   - path: the new database file.
    ///   - progress: called after each batch of entries copied, with the entries copied so far
    ///     and the entries of all tables, on the calling thread.
    /// - Throws: `.io` with EEXIST if `path` or `path-wal` exists (a symlink included, even a
    ///   dangling one); `.corruptPage` if the source is damaged; `.io` for write failures (the
    ///   partial copy is removed).
    public func compact(to path: String, progress: (_ entriesCopied: Int, _ entries: Int) -> Void = { _, _ in }) throws {
        // Claim both names atomically (O_EXCL, and link() for the data file) rather than check
        // and then open: whatever appears at either name meanwhile is left alone, never opened.
        let walPath = Recovery.logPath(for: path)
        do {
            try options.fileSystem.createNew(path: walPath).close()
        } catch StoreError.io(_, _, let code) where code == EEXIST {
            throw StoreError.io(operation: "compact", path: path, errno: EEXIST)
        }
        do {
            try Recovery.create(path: path, fs: options.fileSystem, exclusive: true)
        } catch {
            unlink(walPath)
            if case .io(_, _, let code)? = error as? StoreError, code == EEXIST {
                throw StoreError.io(operation: "compact", path: path, errno: EEXIST)
            }
            throw error
        }
        do {
            try read { tx in
                // The copy goes through the same file layer (so fault-injection tests see it).
                var copyOptions = DatabaseOptions(durability: .relaxed, largeTransactionBytes: 4 << 20)
                copyOptions.fileSystem = options.fileSystem
                copyOptions.logGrowthBytes = options.logGrowthBytes
                let copy = try Database(path: path, options: copyOptions)
                defer { copy.close() }
                var total = 0
                for name in try tx.tableNames() { total += try tx.table(name)?.count ?? 0 }
                var copied = 0
                for name in try tx.tableNames() {
                    guard let table = try tx.table(name) else { continue }
                    let cursor = try table.makeCursor()
                    var more = try cursor.first()
                    _ = try copy.write { try $0.createTable(name) }
                    while more {
                        try copy.write { w in
                            let target = try w.createTable(name)
                            var n = 0
                            while more && n < 20_000 {
                                try target.put(cursor.key, try cursor.value())
                                n += 1
                                more = try cursor.next()
                            }
                            copied += n
                        }
                        progress(copied, total)
                    }
                }
                try copy.checkpoint()
            }
        } catch {
            unlink(path)
            unlink(path + "-wal")
            throw error
        }
    }
}
