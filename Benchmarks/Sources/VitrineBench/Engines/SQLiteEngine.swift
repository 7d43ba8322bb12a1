// SQLite, configured as its documentation recommends for speed.
//
// - One `WITHOUT ROWID` table per logical table, `k BLOB PRIMARY KEY, v BLOB`: the primary key is
//   the clustered B-tree, so a lookup is one tree descent (a rowid table plus a unique index
//   would be two). The recommendations key (expert, inverted time) is that table's index.
// - `page_size=4096`, `journal_mode=WAL`, `synchronous=FULL` (durable) or `NORMAL` (relaxed, the
//   documented WAL setting that can lose the last commits on power loss but never corrupts),
//   `cache_size` 1 GiB, `mmap_size` at the library's compile-time maximum, `secure_delete=OFF`
//   (Debian compiles it on), `temp_store=MEMORY`.
// - Two checkpoint schedules, as two engine configurations (`SQLiteProfile`): the default
//   `wal_autocheckpoint` (1000 pages) and 16,384 pages, matched to Vitrine's checkpoint volume
//   (Vitrine checkpoints after 16,384 pages written or 8 MiB of log). The report shows, per row,
//   the better of the two and says which it was.
// - Rows are written with an UPSERT (`INSERT ... ON CONFLICT(k) DO UPDATE SET v = excluded.v`),
//   which updates an existing row in place; `INSERT OR REPLACE` deletes and reinserts it (see
//   `putStatement` for the measurement).
// - Connections opened `SQLITE_OPEN_NOMUTEX` (each used by one thread at a time), memory
//   accounting off (`SQLITE_CONFIG_MEMSTATUS`), every statement prepared once
//   (`SQLITE_PREPARE_PERSISTENT`) and reused with `SQLITE_STATIC` bindings (no copies).
// - Writers share one connection behind a mutex, taken before `BEGIN IMMEDIATE` (as GRDB's
//   DatabasePool does): SQLite allows one writer at a time anyway, and a mutex hands over at once
//   where SQLite's busy handler would sleep and retry. Each reading thread has its own
//   connection; WAL lets them read while the writer commits.

import CBenchSupport
import CSQLite
import Foundation

/// One SQLite configuration the suite runs: its checkpoint schedule.
protocol SQLiteProfile: Sendable {
    /// The engine name of this configuration, in logs and the JSON report.
    static var name: String { get }
    /// What the report's cells say when this configuration was the better one.
    static var variant: String { get }
    /// `PRAGMA wal_autocheckpoint`: WAL pages after which a commit checkpoints.
    static var autocheckpoint: Int { get }
}

/// SQLite's default checkpoint schedule.
enum SQLiteDefaultCheckpoint: SQLiteProfile {
    static let name = "SQLite"
    static let variant = "d"
    static let autocheckpoint = 1000
}

/// A checkpoint schedule matched to Vitrine's (16,384 pages between checkpoints).
enum SQLiteMatchedCheckpoint: SQLiteProfile {
    static let name = "SQLite-ckpt16k"
    static let variant = "m"
    static let autocheckpoint = 16_384
}

final class SQLiteEngine<Profile: SQLiteProfile>: BenchEngine, @unchecked Sendable {
    static var name: String { Profile.name }
    static var family: String { "SQLite" }
    static var variant: String? { Profile.variant }
    static var version: String { String(cString: sqlite3_libversion()) }

    static func configuration(_ durability: Durability) -> String {
        let sync = durability == .relaxed ? "NORMAL" : "FULL"
        return "WAL, synchronous=\(sync), wal_autocheckpoint=\(Profile.autocheckpoint), page_size=4096, cache_size=1GiB, "
            + "mmap_size=\(SQLiteMmap.size), secure_delete=OFF, WITHOUT ROWID tables, prepared statements, UPSERT, "
            + "one writer connection behind a mutex"
    }

    let path: String
    let durability: Durability
    private let writerLock = NSLock()
    private var writer: SQLiteConnection?

    init(directory: String, durability: Durability) throws {
        _ = SQLiteLibrary.configure
        self.path = directory + "/bench.sqlite"
        self.durability = durability
        self.writer = try SQLiteConnection(
            path: path, durability: durability, autocheckpoint: Profile.autocheckpoint,
            createSchema: true)
    }

    func makeSession() throws -> SQLiteSession<Profile> { try SQLiteSession(engine: self) }

    func checkpoint() throws {
        writerLock.lock()
        defer { writerLock.unlock() }
        try writer!.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    }

    func diagnostics() -> (busyCalls: Int, logBytes: Int)? {
        var info = stat()
        return (SQLiteLibrary.busyCalls, stat(path + "-wal", &info) == 0 ? Int(info.st_size) : 0)
    }

    func close() {
        writerLock.lock()
        defer { writerLock.unlock() }
        writer?.close()
        writer = nil
    }

    /// Runs a write transaction on the shared writer connection.
    fileprivate func write<T>(_ body: (SQLiteTransaction) throws -> T) throws -> T {
        writerLock.lock()
        defer { writerLock.unlock() }
        let connection = writer!
        try connection.step(connection.beginImmediate)
        do {
            let result = try body(SQLiteTransaction(connection: connection))
            try connection.step(connection.commit)
            return result
        } catch {
            try? connection.step(connection.rollback)
            throw error
        }
    }
}

final class SQLiteSession<Profile: SQLiteProfile>: BenchSession {
    private let engine: SQLiteEngine<Profile>
    /// This thread's read connection, opened with the session so no measurement pays for it.
    private let reader: SQLiteConnection

    fileprivate init(engine: SQLiteEngine<Profile>) throws {
        self.engine = engine
        reader = try SQLiteConnection(
            path: engine.path, durability: engine.durability,
            autocheckpoint: Profile.autocheckpoint, createSchema: false)
    }

    deinit { reader.close() }

    func read<T>(_ body: (SQLiteTransaction) throws -> T) throws -> T {
        let connection = reader
        try connection.step(connection.begin)
        defer { try? connection.step(connection.commit) }
        return try body(SQLiteTransaction(connection: connection))
    }

    func write<T>(_ body: (SQLiteTransaction) throws -> T) throws -> T {
        try engine.write(body)
    }
}

struct SQLiteTransaction: BenchWriter {
    fileprivate let connection: SQLiteConnection

    func withValue<R>(_ table: BenchTable, _ key: [UInt8], _ body: (UnsafeRawBufferPointer) -> R) throws -> R? {
        let statement = connection.get[table.rawValue]
        defer { sqlite3_reset(statement) }
        return try key.withUnsafeBytes { keyBytes in
            sqlite3_bind_blob(statement, 1, keyBytes.baseAddress, Int32(keyBytes.count), nil)
            switch sqlite3_step(statement) {
            case SQLITE_ROW:
                let bytes = UnsafeRawBufferPointer(
                    start: sqlite3_column_blob(statement, 0), count: Int(sqlite3_column_bytes(statement, 0)))
                return body(bytes)
            case SQLITE_DONE:
                return nil
            case let code:
                throw connection.error(code, "get")
            }
        }
    }

    func scan(
        _ table: BenchTable, from start: [UInt8],
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Bool
    ) throws {
        let statement = start.isEmpty ? connection.scanAll[table.rawValue] : connection.scanFrom[table.rawValue]
        defer { sqlite3_reset(statement) }
        try start.withUnsafeBytes { startBytes in
            if !start.isEmpty {
                sqlite3_bind_blob(statement, 1, startBytes.baseAddress, Int32(startBytes.count), nil)
            }
            while true {
                switch sqlite3_step(statement) {
                case SQLITE_ROW:
                    let key = UnsafeRawBufferPointer(
                        start: sqlite3_column_blob(statement, 0), count: Int(sqlite3_column_bytes(statement, 0)))
                    let value = UnsafeRawBufferPointer(
                        start: sqlite3_column_blob(statement, 1), count: Int(sqlite3_column_bytes(statement, 1)))
                    if !body(key, value) { return }
                case SQLITE_DONE:
                    return
                case let code:
                    throw connection.error(code, "scan")
                }
            }
        }
    }

    func put(_ table: BenchTable, _ key: [UInt8], _ value: [UInt8], appending: Bool) throws {
        let statement = connection.put[table.rawValue]
        defer { sqlite3_reset(statement) }
        let code = key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                sqlite3_bind_blob(statement, 1, keyBytes.baseAddress, Int32(keyBytes.count), nil)
                sqlite3_bind_blob(
                    statement, 2, valueBytes.baseAddress ?? UnsafeRawPointer(keyBytes.baseAddress),
                    Int32(valueBytes.count), nil)
                return sqlite3_step(statement)
            }
        }
        guard code == SQLITE_DONE else { throw connection.error(code, "put") }
    }

    func delete(_ table: BenchTable, _ key: [UInt8]) throws -> Bool {
        let statement = connection.delete[table.rawValue]
        defer { sqlite3_reset(statement) }
        let code = key.withUnsafeBytes { keyBytes in
            sqlite3_bind_blob(statement, 1, keyBytes.baseAddress, Int32(keyBytes.count), nil)
            return sqlite3_step(statement)
        }
        guard code == SQLITE_DONE else { throw connection.error(code, "delete") }
        return sqlite3_changes(connection.db) > 0
    }
}

enum SQLiteMmap {
    /// SQLite caps `mmap_size` at SQLITE_MAX_MMAP_SIZE (0x7fff0000 in Debian's build); asking for
    /// the cap maps the whole database file.
    static let size: Int64 = 0x7fff_0000
}

enum SQLiteLibrary {
    /// Must run before the first SQLite call of the process.
    static let configure: Void = {
        _ = bench_sqlite3_disable_memstatus()
    }()

    /// How a row is written. Measured (smoke size, `BENCH_SQLITE_PUT=replace|upsert`, see README):
    /// the UPSERT updates an existing row in place, where `INSERT OR REPLACE` deletes it and
    /// inserts it again (two B-tree edits).
    static let upsert = ProcessInfo.processInfo.environment["BENCH_SQLITE_PUT"] != "replace"

    static func putStatement(_ table: String) -> String {
        upsert
            ? "INSERT INTO \(table) (k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v"
            : "INSERT OR REPLACE INTO \(table) (k, v) VALUES (?1, ?2)"
    }

    /// Calls of the busy handler so far (every connection of the process).
    static var busyCalls: Int { bench_sqlite3_busy_calls() }
}

/// One SQLite connection with its prepared statements. Used by one thread at a time.
final class SQLiteConnection {
    fileprivate let db: OpaquePointer
    fileprivate var get: [OpaquePointer] = []
    fileprivate var scanFrom: [OpaquePointer] = []
    fileprivate var scanAll: [OpaquePointer] = []
    fileprivate var put: [OpaquePointer] = []
    fileprivate var delete: [OpaquePointer] = []
    fileprivate var begin: OpaquePointer!
    fileprivate var beginImmediate: OpaquePointer!
    fileprivate var commit: OpaquePointer!
    fileprivate var rollback: OpaquePointer!
    private var statements: [OpaquePointer] = []
    private var isOpen = true

    init(path: String, durability: Durability, autocheckpoint: Int, createSchema: Bool) throws {
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            if let handle { sqlite3_close_v2(handle) }
            throw EngineError(
                engine: "SQLite", operation: "open \(path)", code: code,
                message: String(cString: sqlite3_errstr(code)))
        }
        db = handle
        // As sqlite3_busy_timeout(db, 60_000), counting the busy handler's calls.
        _ = bench_sqlite3_busy_counting(db, 60_000)
        // page_size takes effect only before the file's first page is written.
        try execute("PRAGMA page_size=4096")
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=\(durability == .relaxed ? "NORMAL" : "FULL")")
        try execute("PRAGMA cache_size=-1048576")
        try execute("PRAGMA mmap_size=\(SQLiteMmap.size)")
        try execute("PRAGMA wal_autocheckpoint=\(autocheckpoint)")
        try execute("PRAGMA secure_delete=OFF")
        try execute("PRAGMA temp_store=MEMORY")
        if createSchema {
            for table in BenchTable.allCases {
                try execute("CREATE TABLE IF NOT EXISTS \(table.name) (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID")
            }
        }
        for table in BenchTable.allCases {
            let t = table.name
            get.append(try prepare("SELECT v FROM \(t) WHERE k = ?1"))
            scanFrom.append(try prepare("SELECT k, v FROM \(t) WHERE k >= ?1 ORDER BY k"))
            scanAll.append(try prepare("SELECT k, v FROM \(t) ORDER BY k"))
            put.append(try prepare(SQLiteLibrary.putStatement(t)))
            delete.append(try prepare("DELETE FROM \(t) WHERE k = ?1"))
        }
        begin = try prepare("BEGIN DEFERRED")
        beginImmediate = try prepare("BEGIN IMMEDIATE")
        commit = try prepare("COMMIT")
        rollback = try prepare("ROLLBACK")
    }

    deinit { close() }

    func close() {
        guard isOpen else { return }
        isOpen = false
        for statement in statements { sqlite3_finalize(statement) }
        statements = []
        sqlite3_close_v2(db)
    }

    func execute(_ sql: String) throws {
        let code = sqlite3_exec(db, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw error(code, sql) }
    }

    /// The value of a one-row, one-column pragma or query, as text.
    func queryText(_ sql: String) throws -> String? {
        let statement = try prepare(sql)
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return nil }
        return String(cString: text)
    }

    fileprivate func step(_ statement: OpaquePointer) throws {
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw error(code, String(cString: sqlite3_sql(statement))) }
    }

    private func prepare(_ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error(code, "prepare \(sql)") }
        statements.append(statement)
        return statement
    }

    fileprivate func error(_ code: Int32, _ operation: String) -> EngineError {
        EngineError(engine: "SQLite", operation: operation, code: code, message: String(cString: sqlite3_errmsg(db)))
    }
}
