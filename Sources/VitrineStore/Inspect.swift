// inspectPage(_:): one page, raw, for `vitrine inspect --page N`. It reads the file directly
// (not through a snapshot): a page may be rewritten while it is being looked at. For looking,
// not for building on.

/// One page as the inspector decodes it.
public struct PageInspection: Sendable {
    /// The page number.
    public var number: UInt64
    /// "meta", "branch", "leaf", "overflow", "free-list", "unused" or "unknown (k)".
    public var kind: String
    /// Header fields in on-disk order, e.g. ("checksum", "0x1a2b3c4d (ok)").
    public var header: [(name: String, value: String)]
    /// One line per cell or entry, decoded where possible.
    public var cells: [String]
    /// Why the page fails its checks, or nil.
    public var problem: String?
    /// The page's bytes as read from the file.
    public var bytes: [UInt8]
}

extension Database {
    /// Reads and decodes page `number` straight from the file.
    /// - Throws: `.corruptPage` when `number` is beyond the file; `.io`.
    public func inspectPage(_ number: UInt64) throws -> PageInspection {
        let pageCount = UInt64(try dataFile.size()) / UInt64(PageLayout.size)
        guard number < pageCount else {
            throw StoreError.corruptPage(page: number, reason: "no such page (the file has \(pageCount) pages)")
        }
        guard let bytes = try dataFile.readBytes(count: PageLayout.size, at: Int64(number) * Int64(PageLayout.size)) else {
            throw StoreError.corruptPage(page: number, reason: "short read")
        }
        var result = PageInspection(number: number, kind: "", header: [], cells: [], problem: nil, bytes: bytes)
        if number < 2 {
            result.kind = "meta"
            switch Meta.decode(bytes) {
            case .valid(let m):
                result.header = [
                    ("checkpoint sequence", "\(m.checkpointSequence)"), ("txid", "\(m.txid)"),
                    ("page count", "\(m.pageCount)"), ("catalog root", "\(m.catalogRoot)"),
                    ("free-list head", "\(m.freeListHead)"), ("free pages", "\(m.freeCount)"),
                    ("log generation", "\(m.logGeneration)"), ("next table id", "\(m.nextTableId)"),
                    ("database id", String(m.databaseId, radix: 16)), ("log salt", String(m.logSalt, radix: 16)),
                ]
            case .wrongMagic: result.problem = "no magic number"
            case .newerVersion(let v): result.problem = "format version \(v) is newer than this build"
            case .damaged(let reason): result.problem = reason
            }
            return result
        }
        return bytes.withUnsafeBytes { raw -> PageInspection in
            let base = raw.baseAddress.unsafelyUnwrapped
            let view = PageView(base: base)
            let computed = CRC32C.checksum(base + 4, count: PageLayout.size - 4)
            let kind = PageKind(rawValue: view.kindByte)
            switch kind {
            case .branch: result.kind = "branch"
            case .leaf: result.kind = "leaf"
            case .overflow: result.kind = "overflow"
            case .freeList: result.kind = "free-list"
            default: result.kind = bytes.allSatisfy({ $0 == 0 }) ? "unused" : "unknown (\(view.kindByte))"
            }
            result.header = [
                ("checksum", hex(view.storedChecksum) + (computed == view.storedChecksum ? " (ok)" : " (expected \(hex(computed)))")),
                ("kind", "\(view.kindByte)"), ("count", "\(view.count)"), ("page number", "\(view.pageNumber)"),
                ("txid", "\(view.txid)"), ("next", "\(view.next)"),
            ]
            result.problem = PageView.validate(base, pageNumber: number)
            // Cells are decoded only when every offset is in bounds.
            let decodable: Bool
            switch kind {
            case .leaf, .branch: decodable = boundsOK(view, kind)
            case .freeList: decodable = view.count <= PageLayout.freeListEntries
            default: decodable = false
            }
            guard decodable else { return result }
            switch kind {
            case .leaf:
                for i in 0..<view.count {
                    let v = view.value(i)
                    let key = printable(view.keyBytes(i))
                    if v.overflow {
                        result.cells.append("\(i): key \(key) -> \(v.length) bytes on overflow pages from \(view.overflowStart(i))")
                    } else {
                        let value = [UInt8](UnsafeRawBufferPointer(start: v.pointer, count: min(v.length, 48)))
                        result.cells.append("\(i): key \(key) -> \(v.length) bytes \(printable(value))\(v.length > 48 ? "..." : "")")
                    }
                }
            case .branch:
                for i in 0..<view.count {
                    result.cells.append("\(i): \(i == 0 ? "(lowest)" : "key " + printable(view.keyBytes(i))) -> page \(view.child(i))")
                }
            case .freeList:
                for i in 0..<view.count { result.cells.append("\(i): free page \(view.u64(PageLayout.headerSize + 8 * i))") }
            default:
                break
            }
            return result
        }
    }
}

/// Whether every cell of a tree page lies inside the page (so it can be decoded even when the
/// checksum fails).
private func boundsOK(_ view: PageView, _ kind: PageKind?) -> Bool {
    let n = view.count
    let pointersEnd = PageLayout.headerSize + 2 * n
    guard pointersEnd <= PageLayout.size else { return false }
    for i in 0..<n {
        let o = view.cellOffset(i)
        let headerLength = kind == .leaf ? PageLayout.leafCellHeader : PageLayout.branchCellHeader
        guard o >= pointersEnd, o + headerLength <= PageLayout.size else { return false }
        let keyEnd = o + headerLength + view.u16(o)
        guard keyEnd <= PageLayout.size else { return false }
        if kind == .leaf {
            let info = view.u32(o + 2)
            let end = keyEnd + ((info & PageLayout.overflowFlag) != 0 ? 8 : Int(info & ~PageLayout.overflowFlag))
            guard end <= PageLayout.size else { return false }
        }
    }
    return true
}

/// Bytes as text when they are printable ASCII/UTF-8, as hex otherwise.
private func printable(_ bytes: [UInt8]) -> String {
    if let s = String(validating: bytes, as: UTF8.self), s.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) {
        return "\"" + s + "\""
    }
    return "0x" + bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
