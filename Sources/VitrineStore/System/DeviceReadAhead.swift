// The read-ahead sizes of the block device under a file: how much the kernel's own read-around
// reads on a page fault (`read_ahead_kb`), and the most one POSIX_FADV_WILLNEED call reads: the
// kernel caps a call (force_page_cache_ra) at the larger of the file's read-ahead size and the
// device's largest request (`max_sectors_kb`). The pager reads ahead `read_ahead_kb` for cold
// readers (ReadAhead.swift), about what the kernel would have read: 128 KiB on most machines,
// 8 MiB on this one.
//
// Where they are: sysfs, /sys/dev/block/MAJOR:MINOR/queue/ for a whole disk, one directory up
// (../queue) for a partition, whose directory sits inside its disk's. A file system with no
// block device of its own (tmpfs, overlayfs, btrfs, NFS: an anonymous device number) has no
// such entry, and gets the kernel's default, 128 KiB, for both (btrfs and NFS read ahead more
// themselves; reading ahead less than the kernel would is the safe side of the guess).

import Glibc

enum DeviceReadAhead {
    /// The kernel's default read-ahead (VM_READAHEAD_PAGES).
    static let defaultBytes = 128 << 10

    /// A device's read-ahead size and the most one read-ahead call reads, in bytes.
    struct Limits: Equatable {
        var readAheadBytes: Int
        var largestCallBytes: Int
    }

    /// The limits of the device holding the file open as `descriptor` (a read-ahead size of 0:
    /// the device's read-ahead is turned off).
    static func limits(descriptor: Int32, sysfs: String = "/sys") -> Limits {
        var st = stat()
        let fallback = Limits(readAheadBytes: defaultBytes, largestCallBytes: defaultBytes)
        guard fstat(descriptor, &st) == 0 else { return fallback }
        return limits(device: UInt64(st.st_dev), sysfs: sysfs) ?? fallback
    }

    /// The limits of device `device` (a `dev_t`), from the sysfs tree at `sysfs`, or nil if it
    /// has no entry there.
    static func limits(device: UInt64, sysfs: String) -> Limits? {
        // dev_t as glibc packs it: major in bits 8-19 and 32-63, minor in 0-7 and 20-31.
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & 0xffff_f000)
        let minor = (device & 0xff) | ((device >> 12) & 0xffff_ff00)
        let entry = "\(sysfs)/dev/block/\(major):\(minor)"
        for queue in ["\(entry)/queue", "\(entry)/../queue"] {
            guard let readAhead = kibibytes("\(queue)/read_ahead_kb") else { continue }
            let request = kibibytes("\(queue)/max_sectors_kb") ?? 0
            return Limits(readAheadBytes: readAhead, largestCallBytes: max(readAhead, request, PageLayout.size))
        }
        return nil
    }

    /// A size in KiB from a sysfs file, in bytes.
    private static func kibibytes(_ path: String) -> Int? {
        guard let kib = readNumber(path) else { return nil }
        let (bytes, overflow) = kib.multipliedReportingOverflow(by: 1024)
        return overflow ? nil : bytes
    }

    /// The non-negative decimal number a small sysfs file holds, or nil.
    private static func readNumber(_ path: String) -> Int? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 32) }
        guard n > 0, n < 32 else { return nil }
        let text = buffer[0..<n].prefix { $0 != UInt8(ascii: "\n") }
        guard !text.isEmpty, text.count <= 12, text.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return text.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
