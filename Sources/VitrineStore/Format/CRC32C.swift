// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum on every page and every
// log record. Check value: crc32c("123456789") == 0xE3069283.
//
// Where the CPU has a CRC-32C instruction (x86-64 SSE4.2, AArch64 CRC), it does the work: Swift
// cannot emit it, so a small C target of this package (CRC32CHardware, built by the toolchain's
// own compiler) wraps it, and one run-time check picks it. A page checksum then takes ~0.4 µs
// instead of ~2 µs, and a commit seals about seven pages (perf put the software checksum at 15%
// of a bulk load). Elsewhere, software: slice-by-8 runs at about 1.5 GB/s here, limited by the
// dependency of each step on the previous one. Page images (the hot case: every page is
// verified once per process, and every page a commit writes is sealed) are therefore cut into
// four streams that run interleaved, each with its own register, and combined at the end:
//
//   register(s, A ++ B) = shift_|B|(register(s, A)) xor register(0, B)
//
// where shift_n advances a register over n zero bytes, which is a multiplication by x^(8n) mod P
// (a table of those for n up to a page). The result is the same CRC-32C as the plain loop, about
// twice as fast. Pages being sealed also skip their zero gap with the same shift. On the hardware
// path (three streams of the instruction) the shifts are a carry-less multiply where the CPU has
// one (x86-64 PCLMULQDQ): the bit-by-bit multiply's data-dependent branches, up to five a page,
// were ~7% of a random-order load's instructions. (AArch64's PMULL is not used yet.)

import CRC32CHardware

enum CRC32C {
    /// Whether the CPU's instruction is used (asked once).
    static let usesHardware = vitrine_crc32c_hardware_available() != 0

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

    /// Bytes a page checksum covers (PageLayout.size - 4).
    static let pageBytes = 4092

    /// CRC-32C of `count` bytes at `pointer`, continuing from `crc` (start with 0).
    static func checksum(_ pointer: UnsafeRawPointer, count: Int, continuing crc: UInt32 = 0) -> UInt32 {
        // A page image (the checksum of bytes [4, 4096)): the interleaved path, with no gap.
        if usesHardware { return ~hardwareUpdate(~crc, pointer, count) }
        if count == pageBytes && crc == 0 { return pageChecksum(pointer - 4, gapFrom: 4, to: 4) }
        return tables.withUnsafeBufferPointer { tb in
            ~update(~crc, pointer, count, tb.baseAddress.unsafelyUnwrapped)
        }
    }

    /// Advances register `c` over `count` bytes (slice-by-8).
    @inline(__always)
    private static func update(
        _ register: UInt32, _ pointer: UnsafeRawPointer, _ count: Int,
        _ t: UnsafePointer<UInt32>
    ) -> UInt32 {
        var c = register
        var p = pointer
        var n = count
        while n >= 8 {
            c = step8(c, p, t)
            p += 8
            n -= 8
        }
        while n > 0 {
            c = t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)] ^ (c >> 8)
            p += 1
            n -= 1
        }
        return c
    }

    @inline(__always)
    private static func step8(_ c: UInt32, _ p: UnsafeRawPointer, _ t: UnsafePointer<UInt32>) -> UInt32 {
        let lo = p.loadUnaligned(as: UInt32.self).littleEndian ^ c
        let hi = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
        return t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
            ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
            ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
            ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
    }

    // MARK: - Page images with a zero gap

    /// x^(8n) mod P for n in 0...4096, reflected (x^0 = 1 << 31): multiplying a register by
    /// zeroShift[n] advances it over n zero bytes. Entry n is entry n - 1 advanced over one zero
    /// byte, which is one table step.
    private static let zeroShift: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 4097)
        t[0] = 1 << 31
        for n in 1...4096 { t[n] = tables[Int(t[n - 1] & 0xFF)] ^ (t[n - 1] >> 8) }
        return t
    }()

    /// Whether the CPU's carry-less multiply does the shifts of the hardware path (asked once):
    /// one instruction pair (CRC32CHardware.c) where `multiply` takes ~100 steps, up to five
    /// times a page (callgrind: ~7% of a random-order load's instructions).
    static let usesCarrylessMultiply = usesHardware && vitrine_crc32c_multiply_available() != 0

    /// x^-1 mod P, reflected: (P - 1) / x, since x * (P - 1) / x = P - 1 = 1 mod P.
    static let xInverse: UInt32 = (0x82F6_3B78 << 1) | 1
    /// x^-33 mod P, reflected: `xInverse` to the 33rd power (a test checks it); entry 0 of the
    /// C module's zero-shift table (ZeroShift.c).
    static let xInverse33: UInt32 = 0xA9CD_DA0D

    /// `advanceOverZeros` with the bit-by-bit multiply (tests compare the two).
    static func advanceOverZerosBitByBit(_ register: UInt32, _ count: Int) -> UInt32 {
        zeroShift.withUnsafeBufferPointer { multiply($0[count], register) }
    }

    /// Advances `register` over `count` zero bytes (0...4096), on the hardware path. With the
    /// carry-less multiply, by the C module's table of zeroShift[n] * x^-33 mod P (ZeroShift.c,
    /// written out by scripts/crc32c-zero-shift.py: built here on first use, it was ~25 us of
    /// opening a database), since the multiply's result comes back times x^33.
    @inline(__always)
    static func advanceOverZeros(_ register: UInt32, _ count: Int) -> UInt32 {
        if usesCarrylessMultiply { return vitrine_crc32c_advance_zeros_x33(register, count) }
        return zeroShift.withUnsafeBufferPointer { multiply($0[count], register) }
    }

    /// a * b mod P, both reflected polynomials (as zlib's multmodp).
    static func multiply(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var m: UInt32 = 1 << 31
        var b = b
        var p: UInt32 = 0
        while m != 0 {
            if a & m != 0 {
                p ^= b
                if a & (m - 1) == 0 { break }
            }
            m >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ 0x82F6_3B78 : b >> 1
        }
        return p
    }

    /// The checksum of a page image (bytes [4, 4096) of `page`) whose bytes [gapStart, gapEnd)
    /// are known to be zero, without reading the gap: equal to
    /// `checksum(page + 4, count: 4092)` when the gap is zero. Why: a commit seals every page it
    /// changed, and leaves, branches and the catalog are on average a third empty.
    static func pageChecksum(_ page: UnsafeRawPointer, gapFrom gapStart: Int, to gapEnd: Int) -> UInt32 {
        let size = pageBytes + 4
        guard 4 <= gapStart, gapStart <= gapEnd, gapEnd <= size else { return checksum(page + 4, count: pageBytes) }
        if usesHardware {
            var r = hardwareUpdate(~0, page + 4, gapStart - 4)
            if gapEnd > gapStart { r = advanceOverZeros(r, gapEnd - gapStart) }
            return ~hardwareUpdate(r, page + gapEnd, size - gapEnd)
        }
        return softwarePageChecksum(page, gapFrom: gapStart, to: gapEnd)
    }

    /// Advances `register` over `count` bytes with the instruction: long runs as three interleaved
    /// chains combined by shifts (`register(s, A ++ B) = shift_|B|(register(s, A)) xor register(0, B)`),
    /// about three times the speed of one chain.
    private static func hardwareUpdate(_ register: UInt32, _ pointer: UnsafeRawPointer, _ count: Int) -> UInt32 {
        var c = register
        var p = pointer
        var n = count
        // Segments of at most 4096 bytes, so that the shift comes from the table.
        while n >= 768 {
            let segment = min(4096, (n / 3) & ~7)
            var registers: (UInt32, UInt32, UInt32) = (c, 0, 0)
            withUnsafeMutableBytes(of: &registers) { raw in
                vitrine_crc32c_hardware_update3(raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt32.self), p, segment)
            }
            c = advanceOverZeros(registers.0, segment) ^ registers.1
            c = advanceOverZeros(c, segment) ^ registers.2
            p += 3 * segment
            n -= 3 * segment
        }
        return vitrine_crc32c_hardware_update(c, p, n)
    }

    /// `pageChecksum` in software: four interleaved streams (see the top of the file).
    static func softwarePageChecksum(_ page: UnsafeRawPointer, gapFrom gapStart: Int, to gapEnd: Int) -> UInt32 {
        let size = pageBytes + 4
        return tables.withUnsafeBufferPointer { tb in
            zeroShift.withUnsafeBufferPointer { zb in
                let t = tb.baseAddress.unsafelyUnwrapped
                let z = zb.baseAddress.unsafelyUnwrapped
                var r = update(~0, page + 4, gapStart - 4, t)
                r = multiply(z[gapEnd - gapStart], r)
                let length = size - gapEnd
                let p = page + gapEnd
                if length < 512 { return ~update(r, p, length, t) }
                // Four interleaved streams, each with its own register, combined by shifts.
                let q = length / 4
                var c0 = r, c1: UInt32 = 0, c2: UInt32 = 0, c3: UInt32 = 0
                var o = 0
                while o + 8 <= q {
                    c0 = step8(c0, p + o, t)
                    c1 = step8(c1, p + q + o, t)
                    c2 = step8(c2, p + 2 * q + o, t)
                    c3 = step8(c3, p + 3 * q + o, t)
                    o += 8
                }
                c0 = update(c0, p + o, q - o, t)
                c1 = update(c1, p + q + o, q - o, t)
                c2 = update(c2, p + 2 * q + o, q - o, t)
                c3 = update(c3, p + 3 * q + o, length - 3 * q - o, t)
                var c = multiply(z[q], c0) ^ c1
                c = multiply(z[q], c) ^ c2
                c = multiply(z[length - 3 * q], c) ^ c3
                return ~c
            }
        }
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return 0 }
            return checksum(base, count: raw.count)
        }
    }

    /// The plain software loop over `count` bytes, whatever the length (tests compare the page
    /// path and the hardware path with it).
    static func checksumOneStream(_ pointer: UnsafeRawPointer, count: Int) -> UInt32 {
        tables.withUnsafeBufferPointer { ~update(~0, pointer, count, $0.baseAddress.unsafelyUnwrapped) }
    }
}
