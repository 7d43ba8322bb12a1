// Which kernel page cache a session's page writes went to: the machine's boot (its boot id) and
// the data file instance (device, inode, birth time). Every log record carries its writer's
// origin (Format/LogRecord.swift, the page summary), so that recovery can tell a process crash
// from a power cut.
//
// Why it is enough: a commit `pwrite`s its pages into the data file before its log record is
// written. Once `pwrite` has returned, the pages are in the kernel's page cache, which outlives
// the process: after a `kill -9` (or any death of the process) every page a logged commit wrote
// is still there, and reads see it, until the machine stops. So when the recovering process runs
// in the same boot as the writer of every record, on the same file instance, the state of the
// last record is already in the file and recovery only has to adopt it (its roots, from the
// record's summary), instead of re-executing every record on top of the checkpoint. After a
// reboot (power loss, kernel crash: a new boot id) unsynced pages may be missing, and the log is
// replayed as before. A copy of the files, a file restored from elsewhere, or a new file that
// reused the inode number has another identity (inode or birth time), and is replayed too.
//
// Where the file system reports no birth time, there is no origin: recovery always replays.

import CFileIdentity
import Glibc

/// The page cache a session writes to: see the top of the file.
struct PageCacheOrigin: Equatable {
    /// /proc/sys/kernel/random/boot_id, as 16 bytes.
    var bootHigh: UInt64
    var bootLow: UInt64
    var device: UInt64
    var inode: UInt64
    /// The data file's birth time, in nanoseconds since the epoch.
    var birthNanoseconds: UInt64

    static let encodedSize = 40

    /// The origin of writes to the data file open as `descriptor`, or nil where it cannot be
    /// known (no boot id, or no birth time from the file system).
    static func current(descriptor: Int32) -> PageCacheOrigin? {
        guard let (high, low) = bootId() else { return nil }
        var identity = vitrine_file_identity()
        guard vitrine_file_identity(descriptor, &identity) == 1, identity.birth_seconds >= 0 else { return nil }
        let (nanos, overflow) = UInt64(identity.birth_seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        return PageCacheOrigin(
            bootHigh: high, bootLow: low, device: identity.device, inode: identity.inode,
            birthNanoseconds: nanos &+ UInt64(identity.birth_nanoseconds))
    }

    /// The boot id: 36 characters of hexadecimal digits and dashes, read once per call.
    private static func bootId() -> (UInt64, UInt64)? {
        let fd = Glibc.open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 64) }
        guard n > 0 else { return nil }
        var digits: [UInt64] = []
        for c in buffer[0..<n] {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digits.append(UInt64(c - UInt8(ascii: "0")))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digits.append(UInt64(c - UInt8(ascii: "a") + 10))
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digits.append(UInt64(c - UInt8(ascii: "A") + 10))
            default: continue
            }
        }
        guard digits.count == 32 else { return nil }
        let high = digits[0..<16].reduce(0) { $0 << 4 | $1 }
        let low = digits[16..<32].reduce(0) { $0 << 4 | $1 }
        return (high, low)
    }

    func encode(into bytes: inout [UInt8]) {
        for v in [bootHigh, bootLow, device, inode, birthNanoseconds] {
            withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
        }
    }
}

/// Whether recovery may adopt the state a crashed session's pages already hold (see the top of
/// PageCacheOrigin.swift) instead of re-executing its log records.
enum PageCacheTrust: Sendable {
    /// When every record's origin is this boot and this data file instance (the default).
    case sameOrigin
    /// Never: always re-execute the records. Tests that build what a power cut leaves in the
    /// files of the same machine use it: the engine cannot see that power was "cut".
    case never
    /// Whatever the origin says (the records' page summaries are still checked). Tests that
    /// build what a process kill leaves, in new files, use it.
    case ignoringOrigin
}
