// A read transaction: one committed snapshot, read through the map. It never blocks and is
// never blocked: the writer does not overwrite any page the snapshot can reach until the
// snapshot ends (PageAllocator rule 2), and checkpoints do not move pages at all.

/// The state of one commit, as readers see it.
struct Snapshot: Sendable {
    var txid: UInt64
    var catalogRoot: PageNumber
    var pageCount: UInt64
    var nextTableId: UInt64
    var mapping: Mapping
}

/// A snapshot of the database, valid only inside the `Database.read` closure that received it.
public final class ReadTransaction {
    let database: Database
    let snapshot: Snapshot
    let reader: PageReader
    private(set) var isOpen = true

    init(database: Database, snapshot: Snapshot) {
        self.database = database
        self.snapshot = snapshot
        self.reader = PageReader(pager: database.pager, mapping: snapshot.mapping, limit: snapshot.pageCount)
    }

    /// The id of the last transaction this snapshot contains.
    public var txid: UInt64 { snapshot.txid }

    func close() { isOpen = false }

    @inline(__always) func checkOpen() throws {
        if !isOpen { throw StoreError.transactionClosed }
    }

    /// The table named `name`, or nil if there is none.
    /// - Throws: `StoreError.corruptPage` when the catalog is damaged, `.transactionClosed`.
    public func table(_ name: String) throws -> Table? {
        try checkOpen()
        let key = Array(name.utf8)
        let found = try key.withUnsafeBytes { try reader.find($0, root: snapshot.catalogRoot) }
        guard let (leaf, i) = found else { return nil }
        let entry = try CatalogEntry.decode(try reader.value(leaf, i), page: leaf.pageNumber)
        return Table(transaction: self, name: name, entry: entry)
    }

    /// Names of all tables, in byte order.
    public func tableNames() throws -> [String] {
        try checkOpen()
        let c = Cursor(source: .snapshot(self, root: snapshot.catalogRoot))
        var names: [String] = []
        var ok = try c.first()
        while ok {
            names.append(String(decoding: c.key, as: UTF8.self))
            ok = try c.next()
        }
        return names
    }
}

/// A table's entry in the catalog (the tree whose root the meta page names): keyed by the table
/// name's UTF-8 bytes, value = u32 table id | u64 root page (0 = empty) | u64 entry count.
struct CatalogEntry: Equatable {
    var id: UInt32
    var root: PageNumber
    var count: UInt64

    static let encodedSize = 20
    /// No tree holds more entries: at most 2^40 pages (MetaPage.maxPageCount) of at most 508
    /// cells (4064 bytes of 8-byte minimal cells) each, below 2^49. A larger count is hostile
    /// and would leave no room to count inserts.
    static let maxCount: UInt64 = 1 << 49

    func encode() -> [UInt8] {
        var b = [UInt8]()
        b.reserveCapacity(Self.encodedSize)
        withUnsafeBytes(of: id.littleEndian) { b.append(contentsOf: $0) }
        withUnsafeBytes(of: root.littleEndian) { b.append(contentsOf: $0) }
        withUnsafeBytes(of: count.littleEndian) { b.append(contentsOf: $0) }
        return b
    }

    static func decode(_ b: [UInt8], page: PageNumber) throws -> CatalogEntry {
        guard b.count == encodedSize else {
            throw StoreError.corruptPage(page: page, reason: "catalog entry of \(b.count) bytes")
        }
        let entry = b.withUnsafeBytes { raw in
            CatalogEntry(
                id: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self)),
                root: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt64.self)),
                count: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 12, as: UInt64.self)))
        }
        guard entry.count <= maxCount else {
            throw StoreError.corruptPage(page: page, reason: "catalog entry count \(entry.count) out of range")
        }
        return entry
    }
}
