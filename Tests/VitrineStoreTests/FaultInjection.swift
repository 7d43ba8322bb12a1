import Foundation
import Glibc
import Synchronization
@testable import VitrineStore

/// One I/O event the engine made through `StorageFile`.
enum IOEvent {
    case write(file: Int, offset: Int64, bytes: [UInt8])
    case sync(file: Int)
    case truncate(file: Int, length: Int64)

    var file: Int {
        switch self {
        case .write(let f, _, _), .sync(let f), .truncate(let f, _): return f
        }
    }
}

/// Records every write, sync and truncate (in order, across files), and can make one of them
/// fail with an errno. Files: 0 = data file, 1 = log, 2 = anything else.
final class IOTrace: @unchecked Sendable {
    private let state = Mutex<(events: [IOEvent], failAt: Int?, failErrno: Int32, failKinds: Set<String>)>(([], nil, EIO, []))

    var events: [IOEvent] { state.withLock { $0.events } }
    var count: Int { state.withLock { $0.events.count } }

    /// Fails the `index`-th event (counting from 0 over all events) if its kind is in `kinds`
    /// ("write", "sync", "truncate"), with `errno`.
    func failEvent(at index: Int, errno: Int32, kinds: Set<String> = ["write", "sync", "truncate"]) {
        state.withLock { $0.failAt = index; $0.failErrno = errno; $0.failKinds = kinds }
    }

    /// Appends `event`, or returns an errno if this event is the one to fail.
    func record(_ event: IOEvent, kind: String) -> Int32? {
        state.withLock { s in
            if let at = s.failAt, s.events.count >= at, s.failKinds.contains(kind) {
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

    func write(_ buffer: UnsafeRawPointer, count: Int, at offset: Int64) throws {
        let bytes = [UInt8](UnsafeRawBufferPointer(start: buffer, count: count))
        if let e = trace.record(.write(file: index, offset: offset, bytes: bytes), kind: "write") {
            throw StoreError.io(operation: "pwrite", path: path, errno: e)
        }
        try inner.write(buffer, count: count, at: offset)
    }

    func sync() throws {
        if let e = trace.record(.sync(file: index), kind: "sync") {
            throw StoreError.io(operation: "fdatasync", path: path, errno: e)
        }
        try inner.sync()
    }

    func size() throws -> Int64 { try inner.size() }

    func truncate(to length: Int64) throws {
        if let e = trace.record(.truncate(file: index, length: length), kind: "truncate") {
            throw StoreError.io(operation: "ftruncate", path: path, errno: e)
        }
        try inner.truncate(to: length)
    }

    func close() { inner.close() }
}

struct RecordingFileSystem: StorageFileSystem {
    let trace: IOTrace
    func open(path: String, create: Bool) throws -> StorageFile {
        let index = path.hasSuffix("-wal") ? 1 : (path.hasSuffix(".db") ? 0 : 2)
        return RecordingFile(inner: try PosixFile(path: path, create: create), index: index, trace: trace)
    }
    func fileExists(path: String) -> Bool { access(path, F_OK) == 0 }
    func syncDirectory(of path: String) throws { try Syscalls.syncDirectory(of: path) }
}

/// Writes `bytes` as the whole content of the file at `path` (plain POSIX, no Foundation).
func writeFile(_ path: String, _ bytes: [UInt8]) {
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

/// Builds the disk contents a power cut after event `cut` could leave, from base images and a
/// trace. `synced` holds, per file, the image with every write before that file's last sync
/// (before `cut`); `volatile` the writes after it.
struct DiskImage {
    var files: [[UInt8]]

    static func apply(_ event: IOEvent, to files: inout [[UInt8]], tornAt: Int? = nil) {
        switch event {
        case .write(let f, let offset, let bytes):
            let o = Int(offset)
            let n = tornAt.map { min($0, bytes.count) } ?? bytes.count
            if files[f].count < o + n { files[f].append(contentsOf: [UInt8](repeating: 0, count: o + n - files[f].count)) }
            if n > 0 {
                files[f].withUnsafeMutableBytes { dst in
                    bytes.withUnsafeBytes { src in (dst.baseAddress.unsafelyUnwrapped + o).copyMemory(from: src.baseAddress.unsafelyUnwrapped, byteCount: n) }
                }
            }
        case .truncate(let f, let length):
            let l = Int(length)
            if files[f].count > l { files[f].removeSubrange(l...) } else { files[f].append(contentsOf: repeatElement(0, count: l - files[f].count)) }
        case .sync:
            break
        }
    }
}
