// Fault-injecting file layer for the power-loss campaign, copied (and adapted) from
// Tests/VitrineStoreTests/FaultInjection.swift: a test target cannot import another one.
//
// Differences from the original: files are numbered by path in the order they are first opened
// (not by suffix), so any number of files can be traced without two of them sharing a number;
// nothing here injects errors.

import Foundation
import Glibc
import Synchronization
@testable import VitrineStore

/// One I/O event the engine made through `StorageFile`.
enum PLEvent {
    case write(file: Int, offset: Int64, bytes: [UInt8])
    case sync(file: Int)
    case truncate(file: Int, length: Int64)

    var file: Int {
        switch self {
        case .write(let f, _, _), .sync(let f), .truncate(let f, _): return f
        }
    }
    var isSync: Bool { if case .sync = self { return true }; return false }
}

/// Records every write, sync and truncate in order, across files; files are numbered by path.
final class PLTrace: @unchecked Sendable {
    private let state = Mutex<(events: [PLEvent], paths: [String])>(([], []))

    var events: [PLEvent] { state.withLock { $0.events } }
    var count: Int { state.withLock { $0.events.count } }
    var paths: [String] { state.withLock { $0.paths } }

    /// The number of the file at `path` (registering it on first use).
    func index(of path: String) -> Int {
        state.withLock { s in
            if let i = s.paths.firstIndex(of: path) { return i }
            s.paths.append(path)
            return s.paths.count - 1
        }
    }

    /// Registers `path` with a fixed number (used for the files that exist before recording).
    func register(_ path: String) { _ = index(of: path) }

    func record(_ event: PLEvent) { state.withLock { $0.events.append(event) } }
}

final class PLRecordingFile: StorageFile, @unchecked Sendable {
    let inner: PosixFile
    let index: Int
    let trace: PLTrace
    var path: String { inner.path }
    var descriptor: Int32 { inner.descriptor }

    init(inner: PosixFile, index: Int, trace: PLTrace) {
        self.inner = inner
        self.index = index
        self.trace = trace
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int {
        try inner.read(into: buffer, count: count, at: offset)
    }

    func write(_ buffer: UnsafeRawPointer, count: Int, at offset: Int64) throws {
        trace.record(.write(file: index, offset: offset, bytes: [UInt8](UnsafeRawBufferPointer(start: buffer, count: count))))
        try inner.write(buffer, count: count, at: offset)
    }

    func sync() throws {
        trace.record(.sync(file: index))
        try inner.sync()
    }

    func size() throws -> Int64 { try inner.size() }

    func truncate(to length: Int64) throws {
        trace.record(.truncate(file: index, length: length))
        try inner.truncate(to: length)
    }

    func close() { inner.close() }
}

struct PLRecordingFileSystem: StorageFileSystem {
    let trace: PLTrace
    func open(path: String, create: Bool) throws -> StorageFile {
        PLRecordingFile(inner: try PosixFile(path: path, create: create), index: trace.index(of: path), trace: trace)
    }
    func fileExists(path: String) -> Bool { access(path, F_OK) == 0 }
    func syncDirectory(of path: String) throws { try Syscalls.syncDirectory(of: path) }
}

/// Writes `bytes` as the whole content of the file at `path` (plain POSIX).
func plWriteFile(_ path: String, _ bytes: [UInt8]) {
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

func plReadFile(_ path: String) -> [UInt8] {
    (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))) ?? []
}

/// Applies one event to in-memory file images; `tornAt` keeps only that many leading bytes of a write.
func plApply(_ event: PLEvent, to files: inout [[UInt8]], tornAt: Int? = nil) {
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
        if files[f].count > l { files[f].removeSubrange(l...) } else { files[f].append(contentsOf: repeatElement(0, count: l - files[f].count)) }
    case .sync:
        break
    }
}

func plEnvInt(_ name: String, default d: Int) -> Int {
    if let v = ProcessInfo.processInfo.environment[name], let n = Int(v) { return n }
    return d
}
