// The read-ahead size of the block device under a file: how much the kernel's own read-around
// reads on a page fault, and the most one POSIX_FADV_WILLNEED call reads (the kernel caps a
// call at the larger of this and the device's largest request, so a window of this size is
// always read whole). The pager reads ahead this much for cold readers (ReadAhead.swift), so it
// reads what the kernel would have read, no more: 128 KiB on most machines, 8 MiB on this one.
//
// Where it is: sysfs, /sys/dev/block/MAJOR:MINOR/queue/read_ahead_kb for a whole disk, one
// directory up (../queue) for a partition, whose directory sits inside its disk's. A file system
// with no block device of its own (tmpfs, overlayfs, btrfs, NFS: an anonymous device number)
// has no such entry, and gets the kernel's default, 128 KiB.

import Glibc

enum DeviceReadAhead {
    /// The kernel's default read-ahead (VM_READAHEAD_PAGES).
    static let defaultBytes = 128 << 10

    /// The read-ahead size in bytes for the device holding the file open as `descriptor`
    /// (0 when the device's read-ahead is turned off).
    static func bytes(descriptor: Int32, sysfs: String = "/sys") -> Int {
        var st = stat()
        guard fstat(descriptor, &st) == 0 else { return defaultBytes }
        return bytes(device: UInt64(st.st_dev), sysfs: sysfs) ?? defaultBytes
    }

    /// The read-ahead size in bytes of device `device` (a `dev_t`), from the sysfs tree at
    /// `sysfs`, or nil if it has no entry there.
    static func bytes(device: UInt64, sysfs: String) -> Int? {
        // dev_t as glibc packs it: major in bits 8-19 and 32-63, minor in 0-7 and 20-31.
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        let entry = "\(sysfs)/dev/block/\(major):\(minor)"
        for queue in ["\(entry)/queue", "\(entry)/../queue"] {
            if let kib = readNumber("\(queue)/read_ahead_kb") {
                let (bytes, overflow) = kib.multipliedReportingOverflow(by: 1024)
                return overflow ? nil : bytes
            }
        }
        return nil
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
