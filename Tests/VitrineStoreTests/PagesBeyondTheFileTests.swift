import Foundation
import Testing

@_spi(Testing) @testable import VitrineStore

/// Pages a snapshot counts but the file does not hold (allocated, never written): reading one
/// through the map would raise SIGBUS; it must be `corruptPage` instead.
@Suite struct PagesBeyondTheFileTests {
    @Test func pageBeyondTheEndOfTheFileIsCorruptNotASignal() throws {
        let dir = TempDir(); defer { dir.remove() }
        let db = try Database(path: dir.file())
        defer { db.close() }
        try db.write { try $0.createTable("t").put(bytes("k"), bytes("v")) }
        let filePages = UInt64(try db.dataFile.size()) / UInt64(PageLayout.size)
        // A snapshot whose page count runs past the end of the file, as after pages were
        // allocated and given up without being written.
        let reader = PageReader(pager: db.pager, mapping: db.latest.mapping, limit: filePages + 8)
        for p in filePages..<(filePages + 8) {
            #expect(throws: StoreError.corruptPage(page: p, reason: "page beyond the end of the file (\(filePages) pages)")) {
                _ = try reader.page(p)
            }
            #expect(db.pager.validateFresh(p, in: db.latest.mapping, limit: filePages + 8) != nil)
        }
        // Pages the file holds still read.
        #expect(try db.read { try $0.table("t")?.get(bytes("k")) } == bytes("v"))
    }
}
