// The fault-injecting file layer shared by the engine's crash and I/O-error tests and the domain
// power-loss campaign: a `StorageFile` that records every write, sync and truncate the engine
// makes (in order, across files), can fail one of them with an errno, and the in-memory disk
// model that replays a prefix of those events onto file images, as a power cut would leave them.
//
// It implements the engine's file interface, which is SPI (`@_spi(Testing)`), so this module is
// a plain target the test targets depend on (`@_spi(Testing) import VitrineTestSupport`).

import Foundation
import Glibc
import Synchronization
@_spi(Testing) import VitrineStore

/// One I/O event the engine made through `StorageFile`.
public enum IOEvent: Sendable {
    case write(file: Int, offset: Int64, bytes: [UInt8])
    case sync(file: Int)
    case truncate(file: Int, length: Int64)

    public var file: Int {
        switch self {
        case .write(let f, _, _), .sync(let f), .truncate(let f, _): return f
        }
    }

    public var isSync: Bool { if case .sync = self { return true }; return false }
}

/// Records every write, sync and truncate in order, across files, and can make one of them
/// fail with an errno. Files are numbered by path, in the order they are first opened or
/// registered (register the files that exist before recording, in the order of their images).
public final class IOTrace: @unchecked Sendable {
    private struct State {
        var events: [IOEvent] = []
        var paths: [String] = []
        var failAt: Int? = nil
        var failErrno: Int32 = EIO
        var failKinds: Set<String> = []
        var failFile: Int? = nil
        var usesAfterClose = 0
    }
    private let state = Mutex(State())

    public init() {}

    public var events: [IOEvent] { state.withLock { $0.events } }
    public var count: Int { state.withLock { $0.events.count } }
    public var paths: [String] { state.withLock { $0.paths } }
    /// Writes, syncs and truncates attempted on a file after it was closed (each one refused
    /// with EBADF instead of reaching a descriptor number that may belong to another file by then).
    public var usesAfterClose: Int { state.withLock { $0.usesAfterClose } }

    func recordUseAfterClose() { state.withLock { $0.usesAfterClose += 1 } }

    /// The number of the file at `path` (registering it on first use).
    public func index(of path: String) -> Int {
        state.withLock { s in
            if let i = s.paths.firstIndex(of: path) { return i }
            s.paths.append(path)
            return s.paths.count - 1
        }
    }

    /// Gives `path` the next number now.
    public func register(_ path: String) { _ = index(of: path) }

    /// Fails the first event from the `index`-th on (counting from 0 over all events) whose kind
    /// is in `kinds` ("write", "sync", "truncate") and, if `file` is given, that is on that file,
    /// with `errno`.
    public func failEvent(at index: Int, errno: Int32, kinds: Set<String> = ["write", "sync", "truncate"], file: Int? = nil) {
        state.withLock {
            $0.failAt = index; $0.failErrno = errno; $0.failKinds = kinds; $0.failFile = file
        }
    }

    /// Appends `event`, or returns an errno if this event is the one to fail.
    func record(_ event: IOEvent, kind: String) -> Int32? {
        state.withLock { s in
            if let at = s.failAt, s.events.count >= at, s.failKinds.contains(kind), s.failFile.map({ $0 == event.file }) ?? true {
                s.failAt = nil
                return s.failErrno
            }
            s.events.append(event)
            return nil
        }
    }
}

final class RecordingFile: StorageFile, @unchecked Sendable {
    let inner: PosixFile
    let index: Int
    let trace: IOTrace
    private let isClosed = Atomic<Bool>(false)
    var path: String { inner.path }
    var descriptor: Int32 { inner.descriptor }

    init(inner: PosixFile, index: Int, trace: IOTrace) {
        self.inner = inner
        self.index = index
        self.trace = trace
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int {
        try inner.read(into: buffer, count: count, at: offset)
    }

    /// Refuses a call on a closed file (and counts it in the trace).
    private func checkOpen() throws {
        if isClosed.load(ordering: .sequentiallyConsistent) {
            trace.recordUseAfterClose()
            throw StoreError.io(operation: "use after close", path: path, errno: EBADF)
        }
    }

    func write(_ buffer: UnsafeRawPointer, count: Int, at offset: Int64) throws {
        try checkOpen()
        let bytes = [UInt8](UnsafeRawBufferPointer(start: buffer, count: count))
        if let e = trace.record(.write(file: index, offset: offset, bytes: bytes), kind: "write") {
            throw StoreError.io(operation: "pwrite", path: path, errno: e)
        }
        try inner.write(buffer, count: count, at: offset)
    }

    func sync() throws {
        try checkOpen()
        if let e = trace.record(.sync(file: index), kind: "sync") {
            throw StoreError.io(operation: "fdatasync", path: path, errno: e)
        }
        try inner.sync()
    }

    func size() throws -> Int64 { try inner.size() }

    func truncate(to length: Int64) throws {
        try checkOpen()
        if let e = trace.record(.truncate(file: index, length: length), kind: "truncate") {
            throw StoreError.io(operation: "ftruncate", path: path, errno: e)
        }
        try inner.truncate(to: length)
    }

    func close() {
        isClosed.store(true, ordering: .sequentiallyConsistent)
        inner.close()
    }
}

/// Opens every file as a `RecordingFile` on `trace`. (No direct I/O: the recorded writes are the
/// model of what reaches the disk.)
@_spi(Testing) public struct RecordingFileSystem: StorageFileSystem {
    public let trace: IOTrace
    private let posix = PosixFileSystem()

    public init(trace: IOTrace) { self.trace = trace }

    public func open(path: String, create: Bool) throws -> StorageFile {
        RecordingFile(inner: try PosixFile(path: path, create: create), index: trace.index(of: path), trace: trace)
    }
    public func createNew(path: String) throws -> StorageFile {
        RecordingFile(inner: try PosixFile(path: path, create: true, exclusive: true), index: trace.index(of: path), trace: trace)
    }
    public func fileExists(path: String) -> Bool { posix.fileExists(path: path) }
    public func syncDirectory(of path: String) throws { try posix.syncDirectory(of: path) }
}

/// Counts the direct writes a `DirectWriteRefusingFileSystem` refused.
public final class DirectWriteRefusals: Sendable {
    private let counter = Atomic<Int>(0)
    public init() {}
    public var count: Int { counter.load(ordering: .sequentiallyConsistent) }
    func refuse() { counter.add(1, ordering: .sequentiallyConsistent) }
}

/// Real POSIX files whose direct (O_DIRECT) writes all fail with `errno` (EINVAL by default),
/// as on file systems and devices that accept O_DIRECT at open and refuse it at write time.
@_spi(Testing) public struct DirectWriteRefusingFileSystem: StorageFileSystem {
    public let refusals: DirectWriteRefusals
    public let errno: Int32
    private let posix = PosixFileSystem()

    public init(refusals: DirectWriteRefusals, errno: Int32 = EINVAL) {
        self.refusals = refusals
        self.errno = errno
    }

    public func open(path: String, create: Bool) throws -> StorageFile {
        let (refusals, code) = (refusals, errno)
        return try PosixFile(path: path, create: create) { _, _ in
            refusals.refuse()
            return code
        }
    }
    public func createNew(path: String) throws -> StorageFile { try posix.createNew(path: path) }
    public func fileExists(path: String) -> Bool { posix.fileExists(path: path) }
    public func syncDirectory(of path: String) throws { try posix.syncDirectory(of: path) }
}

/// Holds one write of a log record until released: in `.grouped`, whose leader writes records
/// outside the writer lock, a commit is then committed (visible to the next writer) and not yet
/// durable for as long as a test needs to see what other callers get meanwhile. (A `.full`
/// commit writes its record under the writer lock, before its state is visible: holding that
/// write holds the writer, and nothing is committed meanwhile.) Only writes to a `-wal` file at
/// or past the first record (offset 4096) that are not all zeros (growth) are held.
public final class LogWriteGate: Sendable {
    private struct State {
        var armed = false
        var holding = false
        var released = false
        var failure: Int32? = nil
    }
    private let state = Mutex(State())

    public init() {}

    /// The next record write is held until `release()`.
    public func arm() { state.withLock { $0 = State(armed: true) } }
    /// Whether a write is being held.
    public var isHolding: Bool { state.withLock { $0.holding } }
    /// Lets the held write go on; with `failingWith`, it fails with that errno instead of
    /// writing (a device error on the log, as the leader's sync would see it).
    public func release(failingWith errno: Int32? = nil) {
        state.withLock {
            $0.failure = errno
            $0.released = true
        }
    }

    func write(offset: Int64, buffer: UnsafeRawPointer, count: Int, _ body: () throws -> Void) throws {
        guard offset >= 4096, UnsafeRawBufferPointer(start: buffer, count: count).contains(where: { $0 != 0 }) else {
            return try body()
        }
        let hold = state.withLock { s in
            guard s.armed else { return false }
            s.armed = false
            s.holding = true
            return true
        }
        if hold {
            while !state.withLock({ $0.released }) { usleep(50) }
            defer { state.withLock { $0.holding = false } }
            if let errno = state.withLock({ $0.failure }) {
                throw StoreError.io(operation: "pwrite", path: "(the held log write)", errno: errno)
            }
            return try body()
        }
        try body()
    }
}

/// `inner`'s files, the log's record writes passing through `gate`.
@_spi(Testing) public struct LogWriteHoldingFileSystem: StorageFileSystem {
    public let inner: any StorageFileSystem
    public let gate: LogWriteGate

    public init(inner: any StorageFileSystem, gate: LogWriteGate) {
        self.inner = inner
        self.gate = gate
    }

    public func open(path: String, create: Bool) throws -> StorageFile { wrap(try inner.open(path: path, create: create)) }
    public func createNew(path: String) throws -> StorageFile { wrap(try inner.createNew(path: path)) }
    public func fileExists(path: String) -> Bool { inner.fileExists(path: path) }
    public func syncDirectory(of path: String) throws { try inner.syncDirectory(of: path) }

    private func wrap(_ file: StorageFile) -> StorageFile {
        file.path.hasSuffix("-wal") ? HeldLogFile(inner: file, gate: gate) : file
    }
}

final class HeldLogFile: StorageFile, @unchecked Sendable {
    let inner: StorageFile
    let gate: LogWriteGate
    var path: String { inner.path }
    var descriptor: Int32 { inner.descriptor }

    init(inner: StorageFile, gate: LogWriteGate) {
        self.inner = inner
        self.gate = gate
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int {
        try inner.read(into: buffer, count: count, at: offset)
    }
    func write(_ buffer: UnsafeRawPointer, count: Int, at offset: Int64) throws {
        try gate.write(offset: offset, buffer: buffer, count: count) { try inner.write(buffer, count: count, at: offset) }
    }
    func sync() throws { try inner.sync() }
    func size() throws -> Int64 { try inner.size() }
    func truncate(to length: Int64) throws { try inner.truncate(to: length) }
    func close() { inner.close() }
    func useDirectWrites() { inner.useDirectWrites() }
    var usesDirectWrites: Bool { inner.usesDirectWrites }
    var directWritesRefused: Bool { inner.directWritesRefused }
}

/// Disk images: what a power cut leaves is built by applying a prefix of the recorded events,
/// some of the unsynced ones, or a torn last write, to the images of the files before recording.
public enum DiskImage {
    /// Applies one event to in-memory file images (growing the list for files first seen);
    /// `tornAt` keeps only that many leading bytes of a write.
    public static func apply(_ event: IOEvent, to files: inout [[UInt8]], tornAt: Int? = nil) {
        switch event {
        case .write(let f, let offset, let bytes):
            while files.count <= f { files.append([]) }
            let o = Int(offset)
            let n = tornAt.map { min($0, bytes.count) } ?? bytes.count
            if files[f].count < o + n { files[f].append(contentsOf: repeatElement(0, count: o + n - files[f].count)) }
            if n > 0 {
                files[f].withUnsafeMutableBytes { dst in
                    bytes.withUnsafeBytes { src in
                        (dst.baseAddress.unsafelyUnwrapped + o).copyMemory(from: src.baseAddress.unsafelyUnwrapped, byteCount: n)
                    }
                }
            }
        case .truncate(let f, let length):
            while files.count <= f { files.append([]) }
            let l = Int(length)
            if files[f].count > l {
                files[f].removeSubrange(l...)
            } else {
                files[f].append(contentsOf: repeatElement(0, count: l - files[f].count))
            }
        case .sync:
            break
        }
    }
}

/// The disk as a power cut would find it while a trace is replayed event by event: `durable`
/// holds every write some sync covered; `volatile` the writes since, which a cut may drop,
/// apply, apply in part or tear.
public struct PowerCutState {
    public private(set) var durable: [[UInt8]]
    public private(set) var volatile: [IOEvent] = []
    /// How many of `volatile`'s first writes were inherited: made by a process killed before the
    /// recording began, which nothing synced (they sit in the page cache the recording starts from).
    public private(set) var inherited = 0

    public init(base: [[UInt8]], inheriting unsynced: [IOEvent] = []) {
        durable = base
        volatile = unsynced
        inherited = unsynced.count
    }

    /// Moves past `event`: a sync makes that file's volatile writes durable, inherited ones included.
    public mutating func advance(past event: IOEvent) {
        if case .sync(let f) = event {
            for v in volatile where v.file == f { DiskImage.apply(v, to: &durable) }
            inherited -= volatile[..<inherited].filter { $0.file == f }.count
            volatile.removeAll { $0.file == f }
        } else {
            volatile.append(event)
        }
    }
}

/// A small seeded generator (SplitMix64), so seeded tests replay exactly from their seed.
public struct SeededRandom: RandomNumberGenerator {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes `bytes` as the whole content of the file at `path` (plain POSIX, no Foundation).
public func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return }
    bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count {
            let n = Glibc.write(fd, raw.baseAddress.unsafelyUnwrapped + done, raw.count - done)
            if n <= 0 { break }
            done += n
        }
    }
    close(fd)
}

/// The whole content of the file at `path`, or empty if it cannot be read.
public func readFile(_ path: String) -> [UInt8] {
    (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
}

/// An integer from the environment (the tests' size knobs), or `d`.
public func envInt(_ name: String, default d: Int) -> Int {
    if let v = ProcessInfo.processInfo.environment[name], let n = Int(v) { return n }
    return d
}

/// Runs `body` on a thread of its own (8 MiB stack); nil if it has not finished after `seconds`
/// (the corruption fuzzers' hang detector: a hung case is reported, and its thread abandoned).
public func runBounded<T: Sendable>(seconds: Double, _ body: @escaping @Sendable () -> T) -> T? {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        box.value = body()
        done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    return done.wait(timeout: .now() + seconds) == .timedOut ? nil : box.value
}

private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// A seed from the environment: a number replays it, `random` (or anything else that is not a
/// number) explores with a fresh one, unset gives `default` (so CI is reproducible). Print it.
public func envSeed(_ name: String = "VITRINE_SEED", default d: UInt64) -> UInt64 {
    guard let v = ProcessInfo.processInfo.environment[name] else { return d }
    return UInt64(v) ?? UInt64.random(in: 1...UInt64(UInt32.max))
}
