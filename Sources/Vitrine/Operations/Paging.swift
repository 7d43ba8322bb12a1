// Opaque paging cursors for newest-first lists (showcases, feeds, favourites, orders), and for an
// expert's earnings per order (there the position is the order id, in key order: Store+Orders.swift).
//
// A cursor names the last item of a page by its position in the index: (time, id). The next page
// is the range strictly before that position in reverse key order, so items added later (which
// sort after it) never shift or repeat the pages that follow.
//
// Token: base64url without padding of the tuple (1, time, id) (Coding/Tuple.swift); the leading
// 1 is the cursor format version.

import Foundation

/// Where the next page starts. Pass `token` to clients and back; it is opaque to them.
public struct PageCursor: Hashable, Sendable, Codable {
    let time: Timestamp
    let id: String

    init(time: Timestamp, id: String) {
        self.time = time
        self.id = id
    }

    /// The cursor as a URL-safe string.
    public var token: String {
        Data(Tuple([1, .int(time.millisecondsSinceEpoch), .string(id)]).packed).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Reads a cursor from its token.
    /// - Throws: ``VitrineError/invalidCursor`` when `token` is not one this library made.
    public init(token: String) throws {
        guard token.utf8.count <= 1024 else { throw VitrineError.invalidCursor }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
            let tuple = try? Tuple(unpacking: Array(data)),
            tuple.elements.count == 3, tuple.elements[0] == .int(1),
            case .int(let ms) = tuple.elements[1], case .string(let id) = tuple.elements[2],
            !id.isEmpty, id.utf8.count <= maxIdentifierBytes
        else { throw VitrineError.invalidCursor }
        self.init(time: Timestamp(millisecondsSinceEpoch: ms), id: id)
    }

    public init(from decoder: Decoder) throws {
        try self.init(token: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(token)
    }
}

/// One page of a newest-first list.
public struct Page<Item: Sendable>: Sendable {
    /// The items of this page, in the list's order.
    public var items: [Item]
    /// The cursor for the next page, nil when this is the last page.
    public var next: PageCursor?
}

extension Page: Equatable where Item: Equatable {}
extension Page: Hashable where Item: Hashable {}

/// Validates a page size.
func validateLimit(_ limit: Int) throws {
    guard (1...1000).contains(limit) else {
        throw VitrineError.invalidArgument(field: "limit", reason: "must be 1...1000")
    }
}

/// Reads up to `limit` index positions (time, id) under `prefix`, newest first, strictly before
/// `cursor`. Index keys are `prefix + (time, id)`.
func indexPositions<R: OrderedKeyValueReader>(
    _ tx: R, _ prefix: Tuple, before cursor: PageCursor?, limit: Int
) throws -> [PageCursor] {
    let range = prefix.range
    let end = cursor.map { Tuple(prefix.elements + [.int($0.time.millisecondsSinceEpoch), .string($0.id)]).packed } ?? range.end
    let pairs = try tx.getRange(from: range.begin, to: end, limit: limit, reverse: true)
    return try pairs.map { pair in
        let elements = try Tuple(unpacking: pair.key).elements
        guard elements.count == prefix.elements.count + 2,
            case .int(let ms) = elements[elements.count - 2], case .string(let id) = elements[elements.count - 1]
        else { throw VitrineError.corruptRecord(key: pair.key, .unexpectedShape("index key must end with (time, id)")) }
        return PageCursor(time: Timestamp(millisecondsSinceEpoch: ms), id: id)
    }
}

/// Newest first: later time first, then larger id (by UTF-8 bytes, the order of the index keys).
func isNewer(_ a: PageCursor, _ b: PageCursor) -> Bool {
    a.time != b.time ? a.time > b.time : utf8Precedes(b.id, a.id)
}
