// Errors the engine throws. Every failure a caller can meet is one of these cases: corruption
// names the page (or log offset) and what was wrong, system errors keep errno and the call.

import Glibc

/// An error from the storage engine.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file is not a Vitrine database (wrong magic number or too short to hold a header).
    case notADatabase(path: String)
    /// The file was written by a newer format version than this build understands.
    case unsupportedFormatVersion(found: UInt32, supported: UInt32)
    /// Another process (or another `Database` in this process) holds the database open.
    case databaseLocked(path: String)
    /// A page failed its checksum or structural checks.
    case corruptPage(page: UInt64, reason: String)
    /// The write-ahead log is damaged beyond its torn tail (for example it belongs to a newer
    /// checkpoint than the database file).
    case corruptLog(offset: Int64, reason: String)
    /// The data file is shorter than its header says.
    case truncatedFile(expectedBytes: Int64, actualBytes: Int64)
    /// A system call failed. `errno` is kept so callers can tell ENOSPC from EIO.
    case io(operation: String, path: String, errno: Int32)
    /// A key was longer than `Limits.maxKeyLength`.
    case keyTooLong(length: Int, limit: Int)
    /// A value was longer than `Limits.maxValueLength`.
    case valueTooLarge(length: Int, limit: Int)
    /// A table name was empty or too long.
    case invalidTableName(String)
    /// No table of that name exists.
    case noSuchTable(String)
    /// A table of that name already exists.
    case tableExists(String)
    /// The transaction handle was used after its closure returned, or a write was attempted on
    /// a read-only handle.
    case transactionClosed
    /// `write` was called from inside another `write` on the same thread (it would deadlock).
    case nestedWriteTransaction
    /// An earlier I/O failure left the on-disk state unknown: writes are refused until the
    /// database is closed and reopened (recovery then restores the last durable state).
    case needsReopen(cause: String)
    /// The database has been closed.
    case closed
    /// An atomic add would overflow a 64-bit integer, or the stored value is not 8 bytes.
    case invalidCounter(reason: String)

    public var description: String {
        switch self {
        case .notADatabase(let path): return "\(path): not a Vitrine database"
        case .unsupportedFormatVersion(let found, let supported):
            return "database format version \(found) is newer than this build supports (\(supported))"
        case .databaseLocked(let path): return "\(path): database is locked by another process"
        case .corruptPage(let page, let reason): return "corrupt page \(page): \(reason)"
        case .corruptLog(let offset, let reason): return "corrupt write-ahead log at offset \(offset): \(reason)"
        case .truncatedFile(let expected, let actual):
            return "database file is truncated: \(actual) bytes, header needs \(expected)"
        case .io(let op, let path, let err):
            return "\(op) failed on \(path): \(String(cString: strerror(err))) (errno \(err))"
        case .keyTooLong(let length, let limit): return "key of \(length) bytes exceeds the limit of \(limit)"
        case .valueTooLarge(let length, let limit): return "value of \(length) bytes exceeds the limit of \(limit)"
        case .invalidTableName(let name): return "invalid table name '\(name)'"
        case .noSuchTable(let name): return "no table named '\(name)'"
        case .tableExists(let name): return "table '\(name)' already exists"
        case .transactionClosed: return "transaction used outside its closure or written through a read-only handle"
        case .nestedWriteTransaction: return "write transaction started inside another write transaction"
        case .needsReopen(let cause): return "database refuses writes after an I/O failure (\(cause)); reopen it"
        case .closed: return "database is closed"
        case .invalidCounter(let reason): return "atomic add: \(reason)"
        }
    }

    /// True for errors that mean the files on disk are damaged.
    public var isCorruption: Bool {
        switch self {
        case .corruptPage, .corruptLog, .truncatedFile: return true
        default: return false
        }
    }
}

/// Engine limits. Keys stay far below FoundationDB's 10 KB so the domain layer can move there.
public enum Limits {
    /// Longest key, in bytes.
    public static let maxKeyLength = 1024
    /// Longest value, in bytes (larger values live on overflow pages).
    public static let maxValueLength = 256 << 20
    /// Longest table name, in UTF-8 bytes.
    public static let maxTableNameLength = 200
}
