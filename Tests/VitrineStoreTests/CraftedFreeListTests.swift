import Foundation
import Testing
import VitrineTestSupport

@testable import VitrineStore

/// Free lists crafted to name live pages (with valid checksums), found by session 9's review of
/// the shrink: each used to kill the process with SIGBUS. The allocator trusts the free list, so
/// such a page is handed out while the transaction still reaches it; the write must refuse
/// (`corruptPage`), never lay a page out over the cells it reads from.
@Suite struct CraftedFreeListTests {
    static func key(_ i: Int) -> [UInt8] { bytes(String(format: "k%05d", i)) }
    /// Varied lengths (so cells do not line up), bytes 0x7F (so a misread length is huge).
    static func value(_ i: Int) -> [UInt8] { [UInt8](repeating: 0x7F, count: 40 + (i * 37) % 200) }

    /// Builds a table of two levels, then rewrites the free list so that the second page the
    /// next transaction allocates is the right sibling S of a full leaf L (a live page).
    /// Returns the path, the keys of L, and S.
    static func craft(_ dir: TempDir) throws -> (path: String, leafKeys: [[UInt8]], sibling: PageNumber) {
        let path = dir.file()
        let meta: Meta
        var leafKeys: [[UInt8]] = []
        var sibling: PageNumber = 0
        var realFree: [PageNumber] = []
        do {
            let db = try Database(path: path)
            try db.write { tx in
                let t = try tx.createTable("t")
                for i in 0..<300 { try t.put(key(i), value(i)) }
            }
            // Some genuinely free pages: rewrite a few values (copies of the root and leaves).
            try db.write { tx in
                let t = try #require(try tx.table("t"))
                for i in stride(from: 250, to: 300, by: 10) { try t.put(key(i), value(i + 1)) }
            }
            try db.checkpoint()
            try db.checkpoint()
            meta = db.meta
            let reader = PageReader(pager: db.pager, mapping: db.writerMapping, limit: meta.pageCount)
            let root = try db.write { tx in try #require(try tx.table("t")).state.root }
            let (free, _) = try Recovery.loadFreeList(meta: meta, pager: db.pager, mapping: db.writerMapping)
            realFree = free.sorted()
            let r = try reader.treePage(root)
            #expect(!r.isLeaf)
            // A leaf k (not the last) whose right sibling S lies above the lowest free page.
            for k in 0..<(r.count - 1) {
                let s = r.child(k + 1)
                guard let f0 = realFree.first, f0 < s else { continue }
                let leaf = try reader.treePage(r.child(k))
                leafKeys = (0..<leaf.count).map { leaf.keyBytes($0) }
                sibling = s
                break
            }
            db.close()
        }
        #expect(sibling != 0)
        // Entries: the lowest free page (the root's copy), then S (the leaf's copy), then the
        // free pages above S.
        Self.rewriteFreeList(path, meta: meta, entries: [realFree[0], sibling] + realFree.filter { $0 > sibling })
        return (path, leafKeys, sibling)
    }

    /// Makes the free list of the database at `path` (one chain page, at `meta`'s head) hold
    /// `entries`, with valid checksums on the page and on `meta`'s slot.
    static func rewriteFreeList(_ path: String, meta: Meta, entries: [PageNumber]) {
        var meta = meta
        var data = readFile(path)
        let head = Int(meta.freeListHead)
        var b = PageBuilder(kind: .freeList, pageNumber: UInt64(head), txid: meta.txid)
        b.setU16(entries.count, at: 6)
        b.setU64(0, at: 24)
        for (e, p) in entries.enumerated() { b.setU64(p, at: PageLayout.headerSize + 8 * e) }
        data.replaceSubrange(head * PageLayout.size..<(head + 1) * PageLayout.size, with: b.finish())
        meta.freeCount = UInt64(entries.count)
        let slot = Int(meta.slot)
        data.replaceSubrange(slot * PageLayout.size..<(slot + 1) * PageLayout.size, with: meta.encode())
        writeFile(path, data)
    }

    @Test func aLiveRightSiblingHandedOutAsTheLeafsCopy() throws {
        let dir = TempDir(); defer { dir.remove() }
        let (path, leafKeys, sibling) = try Self.craft(dir)
        #expect(leafKeys.count > 1 && sibling != 0)
        let db = try Database(path: path)
        defer { db.close() }
        // A key inside the full leaf: the insert splits it, with S as its "right sibling".
        let newKey = leafKeys[leafKeys.count / 2] + bytes("x")
        // Before: the leaf's copy was its own "right sibling", laid out over the cells it was
        // laid out from; the commit succeeded and the next read ran off the page (SIGBUS).
        #expect(throws: StoreError.self) {
            try db.write { tx in
                let t = try #require(try tx.table("t"))
                try t.put(newKey, [UInt8](repeating: 0x7F, count: 300))
            }
        }
        // An ordinary reader in this process reads every entry, none longer than written.
        let (n, longest) = try db.read { tx in
            let t = try #require(try tx.table("t"))
            let c = try t.makeCursor()
            var ok = try c.first()
            var n = 0
            var longest = 0
            while ok && n < 100_000 {
                longest = max(longest, c.key.count, try c.value().count)
                n += 1
                ok = try c.next()
            }
            return (n, longest)
        }
        #expect(n == 300)
        #expect(longest <= 300)
    }

    /// shrink(): a leaf below the boundary holds a value whose chain reaches past it. The free
    /// list names the leaf itself (second lowest): the leaf's copy takes the lowest free page,
    /// and the value's rewritten chain the leaf's own page, while `movePages` still iterates
    /// the leaf through its mapped view.
    @Test func shrinkOverwritesTheLeafItIsReading() throws {
        let dir = TempDir(); defer { dir.remove() }
        let path = dir.file()
        let meta: Meta
        var leaf: PageNumber = 0
        var realFree: [PageNumber] = []
        do {
            let db = try Database(path: path)
            let small = [UInt8](repeating: 0xFF, count: 20)
            try db.write { tx in
                let t = try tx.createTable("t")
                for k in ["a", "b", "c", "n", "o", "p", "q"] { try t.put(bytes(k), small) }
            }
            try db.write { tx in
                let z = try tx.createTable("zbig")
                for i in 0..<60 { try z.put(bytes(String(format: "z%04d", i)), [UInt8](repeating: 1, count: 400)) }
            }
            try db.checkpoint()
            try db.write { tx in try tx.dropTable("zbig") }
            try db.write { tx in try #require(try tx.table("t")).put(bytes("m"), [UInt8](repeating: 0xFF, count: 5000)) }
            try db.checkpoint()
            try db.checkpoint()
            db.close()
        }
        var aLeaf: PageNumber = 0
        do {
            // Reopened: the free list is loaded sorted, lowest first.
            let db = try Database(path: path)
            let small = [UInt8](repeating: 0xFF, count: 20)
            try db.write { tx in
                try tx.createTable("a").put(bytes("k"), small)
                try #require(try tx.table("t")).put(bytes("b2"), small)
            }
            try db.checkpoint()
            try db.checkpoint()
            aLeaf = try db.write { tx in try #require(try tx.table("a")).state.root }
            meta = db.meta
            leaf = try db.write { tx in try #require(try tx.table("t")).state.root }
            let (free, _) = try Recovery.loadFreeList(meta: meta, pager: db.pager, mapping: db.writerMapping)
            realFree = free.sorted()
            db.close()
        }
        // The lowest entry: table "a"'s leaf (read before "t", never again); then the leaf.
        #expect(aLeaf < leaf)
        Self.rewriteFreeList(path, meta: meta, entries: [aLeaf, leaf] + realFree.filter { $0 > leaf })

        let db = try Database(path: path)
        defer { db.close() }
        try db.write { _ in } // loads the free list
        #expect(db.allocator.shrinkBoundary() != nil)
        // Before: the value's new chain took the leaf's own page and was written over it while
        // the move still read the leaf's cells through the map (SIGBUS). Now the move reads the
        // leaf first; whatever it then meets, it ends in a typed error or a shrink, and the
        // leaf's small values still read back.
        do {
            _ = try db.shrink()
        } catch is StoreError {}
        let b2 = try? db.read { tx in try tx.table("t")?.get(bytes("b2")) }
        #expect(b2 == nil || b2 == [UInt8](repeating: 0xFF, count: 20))
    }
}
