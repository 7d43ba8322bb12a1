// File names of pages, derived from ids. Ids are any Unicode (up to 128 bytes of UTF-8), so the
// raw id is never a file name: "../index", "a/b", "CON", "Ａ", "x\u{0}y" or an id that differs
// from another only in case (on a case-insensitive file system) must not reach the file system.
//
//   plain ids    1...128 bytes, all of [a-z0-9-], not a reserved device name -> the id itself
//                ("prd-000001" -> "prd-000001.html")
//   other ids    "_" + base32 of the UTF-8 bytes (RFC 4648 alphabet in lowercase, no padding)
//                ("Mei Li" -> "_jvswsicmne.html"); at most 1 + 205 characters
//   longer ids   (more than 150 bytes: only a damaged record holds one) -> no file name; the
//                page is skipped and counted
//
// The two forms cannot meet ("_" is never in a plain id), and base32 is injective, so two ids
// never share a file; every name is lowercase ASCII letters, digits, "-" and "_", at most 211
// bytes with ".html" (a file name may have 255).

/// Safe file names for the pages of ids (see the top of PageFileName.swift).
public enum PageFileName {
    /// The page file name for `id` (with ".html"), or nil when the id is too long for one.
    public static func forID(_ id: String) -> String? {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty, bytes.count <= 150 else { return nil }
        let plain =
            bytes.count <= 128
            && bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
            && !isReservedDeviceName(id)
        return (plain ? id : "_" + base32(bytes)) + ".html"
    }

    /// Names Windows keeps for devices, with any extension ("con.html" opens the console there).
    static func isReservedDeviceName(_ id: String) -> Bool {
        if ["con", "prn", "aux", "nul"].contains(id) { return true }
        if id.count == 4, id.hasPrefix("com") || id.hasPrefix("lpt"), let last = id.last, ("1"..."9").contains(last) { return true }
        return false
    }

    /// RFC 4648 base32 in lowercase, without padding.
    static func base32(_ bytes: [UInt8]) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for b in bytes {
            buffer = (buffer << 8) | UInt32(b)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 31)])
                bits -= 5
            }
            buffer &= (1 << UInt32(bits)) - 1
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
