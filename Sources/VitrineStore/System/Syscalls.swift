// Every system call the engine makes, wrapped once: EINTR is retried, failures become
// `StoreError.io` carrying errno, the call and the path. Nothing else in the engine calls Glibc
// for file I/O directly.

import Glibc

enum Syscalls {
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw StoreError.io(operation: "open", path: path, errno: errno)
        }
    }

    /// The corresponding C function is `pread`. Reads until `count` bytes or end of file;
    /// returns the number of bytes read.
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, offset: Int64, path: String) throws -> Int {
        var done = 0
        while done < count {
            let n = Glibc.pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n > 0 { done += n; continue }
            if n == 0 { break }
            if errno == EINTR { continue }
            throw StoreError.io(operation: "pread", path: path, errno: errno)
        }
        return done
    }

    /// O_DIRECT, which Glibc's Swift overlay does not export (its value depends on the
    /// architecture).
    static var directFlag: Int32? {
        #if arch(x86_64) || arch(i386)
            return 0o40000
        #elseif arch(arm64) || arch(arm)
            return 0o200000
        #else
            return nil
        #endif
    }

    /// The corresponding C function is `pwrite`. Writes all `count` bytes or throws.
    static func pwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, count: Int, offset: Int64, path: String) throws {
        var done = 0
        while done < count {
            let n = Glibc.pwrite(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw StoreError.io(operation: "pwrite", path: path, errno: n == 0 ? EIO : errno)
        }
    }

    /// The corresponding C function is `fdatasync`.
    static func fdatasync(_ fd: Int32, path: String) throws {
        while Glibc.fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw StoreError.io(operation: "fdatasync", path: path, errno: errno)
        }
    }

    /// The corresponding C function is `fsync`.
    static func fsync(_ fd: Int32, path: String) throws {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw StoreError.io(operation: "fsync", path: path, errno: errno)
        }
    }

    static func fileSize(_ fd: Int32, path: String) throws -> Int64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw StoreError.io(operation: "fstat", path: path, errno: errno) }
        return Int64(st.st_size)
    }

    static func ftruncate(_ fd: Int32, length: Int64, path: String) throws {
        while Glibc.ftruncate(fd, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw StoreError.io(operation: "ftruncate", path: path, errno: errno)
        }
    }

    /// Takes an exclusive `flock`, waiting at most `patienceMilliseconds`. The kernel drops it
    /// when the process dies. The short wait matters: a process that forks (to spawn a child)
    /// just as another thread closes the database lends its lock to the child until the child
    /// execs, so a reopen in the next instant would otherwise be refused.
    static func lockExclusive(_ fd: Int32, path: String, patienceMilliseconds: Int = 250) throws {
        var waited = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK {
                if waited >= patienceMilliseconds { throw StoreError.databaseLocked(path: path) }
                usleep(5_000)
                waited += 5
                continue
            }
            throw StoreError.io(operation: "flock", path: path, errno: errno)
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Syncs the directory holding `path`, so that a newly created file's entry is durable.
    static func syncDirectory(of path: String) throws {
        var dir = "."
        if let slash = path.lastIndex(of: "/") {
            dir = slash == path.startIndex ? "/" : String(path[..<slash])
        }
        let fd = try open(dir, flags: O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: dir)
    }

    /// Maps `length` bytes of `fd` shared and read-only, with no read-around on faults
    /// (`MADV_RANDOM`; the pager reads ahead itself, see Pager.swift). Checks both nil and
    /// MAP_FAILED.
    static func mapShared(_ fd: Int32, length: Int, path: String) throws -> UnsafeRawPointer {
        let p = mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0)
        guard let p, p != MAP_FAILED else { throw StoreError.io(operation: "mmap", path: path, errno: errno) }
        _ = madvise(p, length, MADV_RANDOM) // a hint: a kernel that refuses it changes only speed
        return UnsafeRawPointer(p)
    }

    /// The corresponding C function is `posix_fadvise(POSIX_FADV_WILLNEED)`: asks the kernel to
    /// start reading [`offset`, `offset + length`) of `fd` into the page cache (it submits the
    /// reads and returns without waiting for them; nothing past the end of the file is read).
    /// A hint: errors are ignored.
    static func adviseWillNeed(_ fd: Int32, offset: Int64, length: Int) {
        _ = posix_fadvise(fd, off_t(offset), off_t(length), POSIX_FADV_WILLNEED)
    }

    /// The corresponding C function is `mincore`: the share (0...1) of the `length` bytes mapped
    /// at `address` (within one mapping) that is in the page cache with its contents read (a
    /// page still being read counts as absent). The range is widened to whole pages of the
    /// system (16 or 64 KiB on some arm64 kernels). Nil when the kernel refuses.
    static func residentShare(_ address: UnsafeRawPointer, length: Int) -> Double? {
        let systemPage = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard systemPage > 0, length > 0 else { return nil }
        let start = Int(bitPattern: address) / systemPage * systemPage
        let end = Int(bitPattern: address) + length
        let pages = (end - start + systemPage - 1) / systemPage
        guard let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return nil }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: pages) { vector -> Double? in
            guard let v = vector.baseAddress, mincore(aligned, pages * systemPage, v) == 0 else { return nil }
            return Double(vector.reduce(0) { $0 + Int($1 & 1) }) / Double(pages)
        }
    }

    /// Reserves zero-filled anonymous memory that the kernel backs lazily.
    static func mapAnonymous(length: Int) -> UnsafeMutableRawPointer? {
        let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { return nil }
        return p
    }

    static func unmap(_ pointer: UnsafeRawPointer, length: Int) {
        _ = munmap(UnsafeMutableRawPointer(mutating: pointer), length)
    }
}
