import Foundation
import Synchronization
import Testing
@_spi(Testing) import VitrineTestSupport

@_spi(Testing) @testable import VitrineStore

/// Creating files safely: a database is made under a temporary name that nobody can predict or
/// pre-empt (O_CREAT | O_EXCL | O_NOFOLLOW, random suffix) and linked into place; compact(to:)
/// claims its destination names the same way instead of checking and then opening; every open
/// syncs the directory, since the process that created or renamed an entry may have died before
/// it synced it.
@Suite struct FileCreationTests {
    static func isSymlink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK
    }

    /// Names planted where the old code put its temporary file (`<path>.creating-<pid>`): a
    /// symlink to a file the user can write, and another process's file (same pid in another
    /// container on a shared volume). Neither may be followed, truncated or linked into place.
    @Test func plantedTemporaryNamesAreNeverOpened() throws {
        let dir = TempDir(); defer { dir.remove() }
        let victim = dir.file("victim")
        writeFile(victim, bytes("precious"))
        let first = dir.file("a.db")
        #expect(symlink(victim, first + ".creating-\(getpid())") == 0)
        let second = dir.file("b.db")
        writeFile(second + ".creating-\(getpid())", bytes("another process's database in the making"))

        for path in [first, second] {
            let db = try Database(path: path)
            try db.write { try $0.createTable("t").put(bytes("k"), bytes("v")) }
            db.close()
            #expect(!Self.isSymlink(path))
        }
        let victimKept = readFile(victim) == bytes("precious")
        #expect(victimKept, "the file a planted symlink points to was written")
        let otherKept = readFile(second + ".creating-\(getpid())") == bytes("another process's database in the making")
        #expect(otherKept, "another process's temporary file was truncated")
        // No temporary file of ours is left behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".creating-") }
        #expect(left.sorted() == ["a.db.creating-\(getpid())", "b.db.creating-\(getpid())"])
    }

    /// The file system's exclusive creation refuses anything already at the name.
    @Test func createNewRefusesExistingNamesAndSymlinks() throws {
        let dir = TempDir(); defer { dir.remove() }
        let fs = PosixFileSystem()
        writeFile(dir.file("exists"), bytes("x"))
        #expect(symlink(dir.file("nowhere"), dir.file("dangling")) == 0)
        for name in ["exists", "dangling"] {
            #expect(throws: StoreError.io(operation: "open", path: dir.file(name), errno: EEXIST)) {
                _ = try fs.createNew(path: dir.file(name))
            }
        }
        #expect(!fs.fileExists(path: dir.file("nowhere")))
        #expect(readFile(dir.file("exists")) == bytes("x"))
    }

    /// compact(to:) used to check with access() (which follows symlinks) and then open: dangling
    /// symlinks at the destination passed the check, and opening through them created or wrote
    /// the files they point to. Now it claims both names exclusively and leaves what it finds.
    @Test func compactNeverOpensAnExistingName() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        try db.write { try $0.createTable("t").put(bytes("k"), bytes("v")) }

        let target = dir.file("copy.db")
        #expect(symlink(dir.file("elsewhere-wal"), target + "-wal") == 0)
        #expect(throws: StoreError.io(operation: "compact", path: target, errno: EEXIST)) { try db.compact(to: target) }
        #expect(Self.isSymlink(target + "-wal"))
        #expect(access(dir.file("elsewhere-wal"), F_OK) != 0)
        #expect(access(target, F_OK) != 0)

        let other = dir.file("other.db")
        #expect(symlink(dir.file("elsewhere"), other) == 0)
        #expect(throws: StoreError.io(operation: "compact", path: other, errno: EEXIST)) { try db.compact(to: other) }
        #expect(Self.isSymlink(other))
        #expect(access(dir.file("elsewhere"), F_OK) != 0)
        #expect(access(other + "-wal", F_OK) != 0)

        // And a free destination still works.
        try db.compact(to: dir.file("fresh.db"))
        let copy = try Database(path: dir.file("fresh.db"))
        #expect(try copy.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
        copy.close()
    }

    /// Counts directory syncs.
    struct CountingFileSystem: StorageFileSystem {
        let syncs = Counter()
        let posix = PosixFileSystem()
        final class Counter: Sendable {
            let n = Atomic<Int>(0)
        }
        func open(path: String, create: Bool) throws -> StorageFile { try posix.open(path: path, create: create) }
        func createNew(path: String) throws -> StorageFile { try posix.createNew(path: path) }
        func fileExists(path: String) -> Bool { posix.fileExists(path: path) }
        func syncDirectory(of path: String) throws {
            syncs.n.add(1, ordering: .sequentiallyConsistent)
            try posix.syncDirectory(of: path)
        }
    }

    /// A process that creates the database (or its log) and dies before syncing the directory
    /// leaves entries a power cut can still take away: the next session, which acknowledges
    /// commits through them, syncs the directory itself before its first commit returns, in
    /// every durability mode and also when that commit is a large one (committed by checkpoint).
    /// A session that only reads syncs nothing (opening costs no sync).
    @Test(arguments: [Durability.full, .grouped, .relaxed])
    func everySessionSyncsTheDirectoryBeforeItsFirstCommit(durability: Durability) throws {
        for large in [false, true] {
            let dir = TempDir(); defer { dir.remove() }
            let made = try Database(path: dir.file())
            made.close()
            #expect(access(dir.file() + "-wal", F_OK) == 0)
            var options = DatabaseOptions(durability: durability, largeTransactionBytes: 64 << 10)
            let fs = CountingFileSystem()
            options.fileSystem = fs
            let db = try Database(path: dir.file(), options: options)
            _ = try db.read { try $0.table("t") }
            #expect(fs.syncs.n.load(ordering: .sequentiallyConsistent) == 0, "a read-only session synced the directory")
            try db.write { tx in
                let table = try tx.createTable("t")
                try table.put(bytes("k"), [UInt8](repeating: 7, count: large ? 200_000 : 10))
            }
            #expect(fs.syncs.n.load(ordering: .sequentiallyConsistent) == 1, "large: \(large)")
            try db.write { tx in try tx.createTable("t").put(bytes("k2"), bytes("v")) }
            #expect(fs.syncs.n.load(ordering: .sequentiallyConsistent) == 1, "synced again in the same session")
            db.close()
        }
    }

    /// A symlink planted at the log's name (`<db>-wal`) is refused, not followed: the open fails
    /// with a typed error and the file it points to is untouched.
    @Test func aSymlinkAtTheLogsNameIsRefused() throws {
        let dir = TempDir()
        defer { dir.remove() }
        let path = dir.file()
        let made = try Database(path: path)
        try made.write { tx in try tx.createTable("t").put(bytes("k"), bytes("v")) }
        made.close()
        let victim = dir.file("victim.txt")
        writeFile(victim, Array("precious".utf8))
        unlink(path + "-wal")
        #expect(symlink(victim, path + "-wal") == 0)
        var refused = false
        do {
            let db = try Database(path: path)
            db.close()
        } catch StoreError.io(_, _, let code) {
            refused = code == ELOOP
        }
        #expect(refused)
        #expect(readFile(victim) == Array("precious".utf8))
    }

    /// Opening, reading and closing a database writes, truncates and syncs nothing: a reader
    /// process costs the disk nothing (and no sync stalls its open or close).
    @Test func aReadOnlySessionTouchesNothingOnDisk() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let made = try Database(path: path)
        try made.write { tx in try tx.createTable("t").put(bytes("k"), bytes("v")) }
        made.close()
        let trace = IOTrace()
        trace.register(path)
        trace.register(path + "-wal")
        var options = DatabaseOptions()
        options.fileSystem = RecordingFileSystem(trace: trace)
        let db = try Database(path: path, options: options)
        #expect(try db.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
        db.close()
        #expect(trace.events.isEmpty, "\(trace.events.map { "\($0)".prefix(40) })")
    }

    /// An open that replays a killed process's commits makes them durable (a log sync or a
    /// checkpoint): the directory is synced first.
    @Test func aRecoveringOpenSyncsTheDirectory() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let killed = try Database(path: path)
        try killed.write { tx in try tx.createTable("t").put(bytes("k"), bytes("v")) }
        let files = [readFile(path), readFile(path + "-wal")] // kill -9: the files as they are
        killed.close()
        writeFile(path, files[0])
        writeFile(path + "-wal", files[1])
        var options = DatabaseOptions()
        let fs = CountingFileSystem()
        options.fileSystem = fs
        let db = try Database(path: path, options: options)
        defer { db.close() }
        #expect(fs.syncs.n.load(ordering: .sequentiallyConsistent) == 1)
        #expect(try db.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
    }

    /// A file system whose directory syncs fail with EIO.
    struct FailingDirectorySyncs: StorageFileSystem {
        let posix = PosixFileSystem()
        func open(path: String, create: Bool) throws -> StorageFile { try posix.open(path: path, create: create) }
        func createNew(path: String) throws -> StorageFile { try posix.createNew(path: path) }
        func fileExists(path: String) -> Bool { posix.fileExists(path: path) }
        func syncDirectory(of path: String) throws { throw StoreError.io(operation: "fsync", path: path, errno: EIO) }
    }

    /// A recovering open whose directory sync fails fails, with the sync's own error, before
    /// the recovered commits are made durable or readable; a later open with a sound directory
    /// recovers them.
    @Test func aRecoveringOpenWhoseDirectorySyncFailsFails() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let killed = try Database(path: path)
        try killed.write { tx in try tx.createTable("t").put(bytes("k"), bytes("v")) }
        let files = [readFile(path), readFile(path + "-wal")]
        killed.close()
        writeFile(path, files[0])
        writeFile(path + "-wal", files[1])
        var options = DatabaseOptions()
        options.fileSystem = FailingDirectorySyncs()
        var failure: StoreError? = nil
        do {
            let db = try Database(path: path, options: options)
            db.close()
        } catch let error as StoreError {
            failure = error
        }
        guard case .io(let operation, _, let code) = failure else {
            Issue.record("the open did not fail with the directory sync's error: \(String(describing: failure))")
            return
        }
        #expect(operation == "fsync" && code == EIO)
        let db = try Database(path: path)
        defer { db.close() }
        #expect(try db.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
    }
}
