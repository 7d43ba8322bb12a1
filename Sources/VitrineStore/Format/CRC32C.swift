// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum on every page and every
// log record. Slice-by-8 in software: about 1-2 GB/s here, so a 4 KiB page costs a few
// microseconds, and each page is verified once per process (see `PageCache`).
// Check value: crc32c("123456789") == 0xE3069283.

enum CRC32C {
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            t[i] = c
        }
        for i in 0..<256 {
            var c = t[i]
            for k in 1..<8 {
                c = t[Int(c & 0xFF)] ^ (c >> 8)
                t[k * 256 + i] = c
            }
        }
        return t
    }()

    /// CRC-32C of `count` bytes at `pointer`, continuing from `crc` (start with 0).
    static func checksum(_ pointer: UnsafeRawPointer, count: Int, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        var p = pointer
        var n = count
        tables.withUnsafeBufferPointer { tb in
            let t = tb.baseAddress.unsafelyUnwrapped
            while n >= 8 {
                let lo = p.loadUnaligned(as: UInt32.self).littleEndian ^ c
                let hi = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
                p += 1
                n -= 1
            }
        }
        return ~c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return 0 }
            return checksum(base, count: raw.count)
        }
    }
}
