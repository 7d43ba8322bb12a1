// LMDB, configured as lmdb.h documents for speed and safety.
//
// - One environment (`MDB_NOSUBDIR`, one data file + lock file) with one named database per
//   logical table; the map size is set far above the data (64 GiB of address space, the file
//   grows only as used), so `MDB_MAP_FULL` never happens.
// - Durable: default flags, so every commit is synced (LMDB syncs the data pages, then the meta
//   page: two `fdatasync`s per commit). Relaxed: `MDB_NOSYNC`, which lmdb.h says keeps ACI and
//   only loses D on a system crash (without `MDB_WRITEMAP`).
// - Not used: `MDB_WRITEMAP` ("may be slightly faster for DBs that fit entirely in RAM" but "loses
//   protection from application bugs like wild pointer writes" — not safe), `MDB_NORDAHEAD` (only
//   helps "when the DB is larger than RAM"; ours fits), `MDB_NOMETASYNC` (loses the last commit:
//   not durable), `MDB_NOMEMINIT` (writes leftover heap bytes into the file), `MDB_NOTLS` (each
//   thread keeps its own transactions).
// - Reads reuse one read-only transaction per thread with `mdb_txn_reset`/`mdb_txn_renew`, and
//   its cursors with `mdb_cursor_renew`, as lmdb.h recommends to avoid allocation per read.
// - Sorted bulk loads use `MDB_APPEND` ("allows fast bulk loading when keys are already known to
//   be in the correct order"), through the `appending` hint.

import CLMDB

final class LMDBEngine: BenchEngine, @unchecked Sendable {
    static let name = "LMDB"
    static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        _ = mdb_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    static func configuration(_ durability: Durability) -> String {
        let sync = durability == .relaxed ? "MDB_NOSYNC" : "sync on commit (default flags)"
        return "\(sync), MDB_NOSUBDIR, named DBs, 64 GiB map, read txns reused (reset/renew), "
            + "MDB_APPEND for sorted loads; no WRITEMAP/NORDAHEAD/NOMETASYNC"
    }

    fileprivate let env: OpaquePointer
    fileprivate var dbis: [MDB_dbi] = []
    private var isOpen = true

    init(directory: String, durability: Durability) throws {
        var handle: OpaquePointer?
        try check(mdb_env_create(&handle), "mdb_env_create")
        env = handle!
        do {
            try check(mdb_env_set_maxdbs(env, MDB_dbi(BenchTable.allCases.count + 2)), "mdb_env_set_maxdbs")
            try check(mdb_env_set_mapsize(env, 64 << 30), "mdb_env_set_mapsize")
            try check(mdb_env_set_maxreaders(env, 256), "mdb_env_set_maxreaders")
            var flags = UInt32(MDB_NOSUBDIR)
            if durability == .relaxed { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(env, directory + "/bench.lmdb", flags, 0o600), "mdb_env_open")
            var txn: OpaquePointer?
            try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin")
            for table in BenchTable.allCases {
                var dbi: MDB_dbi = 0
                let code = mdb_dbi_open(txn, table.name, UInt32(MDB_CREATE), &dbi)
                if code != 0 { mdb_txn_abort(txn); try check(code, "mdb_dbi_open \(table.name)") }
                dbis.append(dbi)
            }
            try check(mdb_txn_commit(txn), "mdb_txn_commit")
        } catch {
            mdb_env_close(env)
            throw error
        }
    }

    func makeSession() throws -> LMDBSession { LMDBSession(engine: self) }

    func checkpoint() throws {
        try check(mdb_env_sync(env, 1), "mdb_env_sync")
    }

    func close() {
        guard isOpen else { return }
        isOpen = false
        mdb_env_close(env)
    }
}

final class LMDBSession: BenchSession {
    private let engine: LMDBEngine
    /// The thread's read-only transaction, reset between reads and renewed for the next.
    private var readTxn: OpaquePointer?
    private var readCursors: [OpaquePointer?]
    private var cursorIsCurrent: [Bool]

    fileprivate init(engine: LMDBEngine) {
        self.engine = engine
        readCursors = Array(repeating: nil, count: BenchTable.allCases.count)
        cursorIsCurrent = Array(repeating: false, count: BenchTable.allCases.count)
    }

    deinit {
        for cursor in readCursors where cursor != nil { mdb_cursor_close(cursor) }
        if let readTxn { mdb_txn_abort(readTxn) }
    }

    func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        if let readTxn {
            try check(mdb_txn_renew(readTxn), "mdb_txn_renew")
        } else {
            try check(mdb_txn_begin(engine.env, nil, UInt32(MDB_RDONLY), &readTxn), "mdb_txn_begin(read)")
        }
        defer {
            mdb_txn_reset(readTxn)
            for i in cursorIsCurrent.indices { cursorIsCurrent[i] = false }
        }
        return try body(LMDBTransaction(txn: readTxn!, dbis: engine.dbis, session: self))
    }

    func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(engine.env, nil, 0, &txn), "mdb_txn_begin(write)")
        do {
            let result = try body(LMDBTransaction(txn: txn!, dbis: engine.dbis, session: nil))
            try check(mdb_txn_commit(txn), "mdb_txn_commit")
            return result
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
    }

    /// The reusable cursor on `table` for the current read transaction.
    fileprivate func readCursor(_ table: BenchTable, txn: OpaquePointer, dbi: MDB_dbi) throws -> OpaquePointer {
        let i = table.rawValue
        if let cursor = readCursors[i] {
            if !cursorIsCurrent[i] {
                try check(mdb_cursor_renew(txn, cursor), "mdb_cursor_renew")
                cursorIsCurrent[i] = true
            }
            return cursor
        }
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "mdb_cursor_open")
        readCursors[i] = cursor
        cursorIsCurrent[i] = true
        return cursor!
    }
}

struct LMDBTransaction: BenchWriter {
    fileprivate let txn: OpaquePointer
    fileprivate let dbis: [MDB_dbi]
    /// Set for read transactions: their cursors are reused.
    fileprivate let session: LMDBSession?

    func withValue<R>(_ table: BenchTable, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) throws -> R? {
        var data = MDB_val()
        let code = key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_get(txn, dbis[table.rawValue], &k, &data)
        }
        if code == MDB_NOTFOUND { return nil }
        try check(code, "mdb_get")
        return body(UnsafeRawBufferPointer(start: data.mv_data, count: data.mv_size))
    }

    func scan(
        _ table: BenchTable, from start: [UInt8],
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
    ) throws {
        let dbi = dbis[table.rawValue]
        let cursor: OpaquePointer
        if let session {
            cursor = try session.readCursor(table, txn: txn, dbi: dbi)
        } else {
            var opened: OpaquePointer?
            try check(mdb_cursor_open(txn, dbi, &opened), "mdb_cursor_open")
            cursor = opened!
        }
        defer { if session == nil { mdb_cursor_close(cursor) } }

        var k = MDB_val()
        var v = MDB_val()
        var code = start.withUnsafeBytes { startBytes in
            if start.isEmpty { return mdb_cursor_get(cursor, &k, &v, MDB_FIRST) }
            k = MDB_val(mv_size: startBytes.count, mv_data: UnsafeMutableRawPointer(mutating: startBytes.baseAddress))
            return mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE)
        }
        while code == 0 {
            let more = body(
                UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size),
                UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
            if !more { return }
            code = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)
        }
        if code != MDB_NOTFOUND { try check(code, "mdb_cursor_get") }
    }

    func put(_ table: BenchTable, _ key: [UInt8], _ value: [UInt8], appending: Bool) throws {
        let code = key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var v = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                return mdb_put(txn, dbis[table.rawValue], &k, &v, appending ? UInt32(MDB_APPEND) : 0)
            }
        }
        try check(code, "mdb_put")
    }

    func delete(_ table: BenchTable, _ key: [UInt8]) throws -> Bool {
        let code = key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_del(txn, dbis[table.rawValue], &k, nil)
        }
        if code == MDB_NOTFOUND { return false }
        try check(code, "mdb_del")
        return true
    }
}

private func check(_ code: Int32, _ operation: String) throws {
    guard code != 0 else { return }
    throw EngineError(engine: "LMDB", operation: operation, code: code, message: String(cString: mdb_strerror(code)))
}
