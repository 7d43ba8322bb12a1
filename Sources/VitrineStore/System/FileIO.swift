// The one file-I/O interface of the engine. The database and its log reach the disk only through
// `StorageFile`; tests substitute a recording, fault-injecting implementation (see the crash and
// I/O-error tests) to cut power at every write/sync boundary or to fail a call with EIO/ENOSPC.
// The interface is SPI (`@_spi(Testing)`), not API: the shared test-support module implements it.
//
// The data file is additionally mapped read-only with mmap through `descriptor`; every byte a
// reader sees through the map was first written through `write(_:at:)` here.

import Glibc
import Synchronization

/// An open file. Implementations must be safe to call from several threads.
@_spi(Testing) public protocol StorageFile: AnyObject, Sendable {
    var path: String { get }
    /// The OS descriptor (used for mmap and flock).
    var descriptor: Int32 { get }
    /// Reads up to `count` bytes at `offset`; returns how many were read (short at end of file).
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int
    /// Writes all bytes at `offset`, extending the file if needed.
    func write(_ buffer: UnsafeRawPointer, count: Int, at offset: Int64) throws
    /// Makes every write so far durable (fdatasync).
    func sync() throws
    func size() throws -> Int64
    func truncate(to length: Int64) throws
    func close()
    /// From now on, writes whose buffer, length and offset are all multiples of
    /// `directWriteAlignment` bypass the page cache (O_DIRECT) when the file system allows it.
    func useDirectWrites()
    /// Whether aligned writes go to the disk directly (O_DIRECT | O_DSYNC) now.
    var usesDirectWrites: Bool { get }
    /// Whether the file system accepted O_DIRECT at open but refused a direct write (EINVAL),
    /// so that writes went back to the page cache + fdatasync until the file is closed.
    var directWritesRefused: Bool { get }
}

/// Alignment (bytes) of writes that may go to the disk directly.
let directWriteAlignment = 4096

extension StorageFile {
    @_spi(Testing) public func useDirectWrites() {}
    @_spi(Testing) public var usesDirectWrites: Bool { false }
    @_spi(Testing) public var directWritesRefused: Bool { false }
}

/// Opens files. `create` makes the file with mode 0600 if missing.
@_spi(Testing) public protocol StorageFileSystem: Sendable {
    func open(path: String, create: Bool) throws -> StorageFile
    /// Creates a file that must not exist yet (mode 0600): fails with EEXIST if anything is at
    /// `path`, a symlink included, dangling or not (O_CREAT | O_EXCL | O_NOFOLLOW). The only
    /// way the engine makes a file it will write before checking it: nothing planted at the
    /// name can be followed or truncated.
    func createNew(path: String) throws -> StorageFile
    func fileExists(path: String) -> Bool
    func syncDirectory(of path: String) throws
}

extension StorageFile {
    func write(_ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            try write(base, count: raw.count, at: offset)
        }
    }

    /// Reads exactly `count` bytes, or returns nil when the file is shorter.
    func readBytes(count: Int, at offset: Int64) throws -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { raw -> Int in
            guard let base = raw.baseAddress else { return 0 }
            return try read(into: base, count: count, at: offset)
        }
        return n == count ? bytes : nil
    }
}

/// The real thing: POSIX calls on a descriptor.
@_spi(Testing) public final class PosixFile: StorageFile, @unchecked Sendable {
    @_spi(Testing) public let path: String
    @_spi(Testing) public let descriptor: Int32
    private var isClosed = false
    /// O_DIRECT | O_DSYNC descriptor for aligned writes, or -1. Set once, at open, before other
    /// threads can reach the file.
    private var directDescriptor: Int32 = -1
    /// Set once a direct write was refused with EINVAL (see `write`); never cleared.
    private let directRefused = Atomic<Bool>(false)
    /// Whether anything went through the page cache (or changed the size) since the last sync;
    /// writes through `directDescriptor` are durable when they return.
    private let needsSync = Atomic<Bool>(true)

    /// Fault injection for tests: called before each direct write; an errno it returns fails
    /// that write as if `pwrite` had returned it.
    private let directWriteFault: (@Sendable (_ offset: Int64, _ count: Int) -> Int32?)?

    /// - Parameter directWriteFault: tests only (see the property).
    /// - Parameters:
    ///   - create: make the file if missing; a symlink at `path` is never followed (O_NOFOLLOW,
    ///     the open fails with ELOOP): the engine creates and writes only its own files (the
    ///     log), so a link planted at that name cannot redirect its writes into another file.
    ///   - exclusive: with `create`, fail with EEXIST if anything is at `path` (O_EXCL | O_NOFOLLOW).
    ///   - directWriteFault: tests only (see the property).
    @_spi(Testing) public init(
        path: String, create: Bool, exclusive: Bool = false,
        directWriteFault: (@Sendable (_ offset: Int64, _ count: Int) -> Int32?)? = nil
    ) throws {
        self.path = path
        self.directWriteFault = directWriteFault
        let flags = O_RDWR | (create ? O_CREAT | O_NOFOLLOW : 0) | (create && exclusive ? O_EXCL : 0)
        descriptor = try Syscalls.open(path, flags: flags, mode: 0o600)
    }

    @_spi(Testing) public func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int {
        try Syscalls.pread(descriptor, buffer, count: count, offset: offset, path: path)
    }

    @_spi(Testing) public func write(_ buffer: UnsafeRawPointer, count: Int, at offset: Int64) throws {
        let a = directWriteAlignment
        if usesDirectWrites && Int(bitPattern: buffer) % a == 0 && count % a == 0 && offset % Int64(a) == 0 {
            do {
                if let e = directWriteFault?(offset, count) { throw StoreError.io(operation: "pwrite", path: path, errno: e) }
                try Syscalls.pwrite(directDescriptor, buffer, count: count, offset: offset, path: path)
                return
            } catch let StoreError.io(_, _, code) where code == EINVAL {
                // Some file systems and devices accept O_DIRECT at open and refuse the write
                // (alignment rules stricter than 4 KiB, or no direct I/O at all). Nothing was
                // written: take the buffered path (durable at the next fdatasync) from now on,
                // rather than poison every durable commit. The direct descriptor stays open
                // until close: another thread may be writing through it at this moment.
                directRefused.store(true, ordering: .sequentiallyConsistent)
            } catch {
                needsSync.store(true, ordering: .sequentiallyConsistent) // maybe partly written
                throw error
            }
        }
        needsSync.store(true, ordering: .sequentiallyConsistent)
        try Syscalls.pwrite(descriptor, buffer, count: count, offset: offset, path: path)
    }

    /// A second descriptor opened with O_DIRECT | O_DSYNC. Why: a durable commit writes a few
    /// KiB to the log and must then be on stable storage. Buffered write + fdatasync costs
    /// ~240 us here; a direct write + fdatasync ~195 us (the data is on the device when the sync
    /// starts, which only flushes the device cache); a direct O_DSYNC write ~177 us (one call:
    /// the kernel flushes the cache as part of the write). `sync()` then has nothing left to do
    /// unless something went through the page cache since.
    @_spi(Testing) public func useDirectWrites() {
        guard directDescriptor < 0, let flag = Syscalls.directFlag else { return }
        directDescriptor = (try? Syscalls.open(path, flags: O_WRONLY | O_DSYNC | flag)) ?? -1
    }

    @_spi(Testing) public var usesDirectWrites: Bool {
        directDescriptor >= 0 && !directRefused.load(ordering: .sequentiallyConsistent)
    }

    @_spi(Testing) public var directWritesRefused: Bool { directRefused.load(ordering: .sequentiallyConsistent) }

    @_spi(Testing) public func sync() throws {
        if usesDirectWrites && !needsSync.exchange(false, ordering: .sequentiallyConsistent) { return }
        do {
            try Syscalls.fdatasync(descriptor, path: path)
        } catch {
            needsSync.store(true, ordering: .sequentiallyConsistent)
            throw error
        }
    }

    @_spi(Testing) public func size() throws -> Int64 { try Syscalls.fileSize(descriptor, path: path) }

    @_spi(Testing) public func truncate(to length: Int64) throws {
        needsSync.store(true, ordering: .sequentiallyConsistent)
        try Syscalls.ftruncate(descriptor, length: length, path: path)
    }

    @_spi(Testing) public func close() {
        if !isClosed {
            isClosed = true
            Syscalls.close(descriptor)
            if directDescriptor >= 0 { Syscalls.close(directDescriptor) }
        }
    }

    deinit { close() }
}

@_spi(Testing) public struct PosixFileSystem: StorageFileSystem {
    @_spi(Testing) public init() {}
    @_spi(Testing) public func open(path: String, create: Bool) throws -> StorageFile { try PosixFile(path: path, create: create) }
    @_spi(Testing) public func createNew(path: String) throws -> StorageFile {
        try PosixFile(path: path, create: true, exclusive: true)
    }
    @_spi(Testing) public func fileExists(path: String) -> Bool { access(path, F_OK) == 0 }
    @_spi(Testing) public func syncDirectory(of path: String) throws { try Syscalls.syncDirectory(of: path) }
}
