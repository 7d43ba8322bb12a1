import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@_spi(Testing) @testable import VitrineStore

/// O_DIRECT accepted at open but refused at write time (EINVAL, as some file systems and devices
/// do): the log falls back to buffered writes + fdatasync for as long as the database stays open,
/// says so in `statistics()`, and no commit fails or is lost.
@Suite struct DirectIOTests {
    @Test(arguments: [Durability.full, .grouped])
    func directWritesRefusedAtWriteTimeFallBackToBuffered(durability: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let refusals = DirectWriteRefusals()
        var options = DatabaseOptions(durability: durability)
        options.fileSystem = DirectWriteRefusingFileSystem(refusals: refusals)
        let db = try Database(path: dir.file(), options: options)
        guard db.log.file.usesDirectWrites else {
            // This file system refuses O_DIRECT at open already: nothing to fall back from.
            print("DirectIOTests: O_DIRECT unavailable here, fallback not exercised")
            db.close()
            return
        }
        #expect(try db.statistics().logWrites == .direct)
        for i in 0..<20 {
            try db.write { try $0.createTable("t").put(bytes("k\(i)"), bytes("v\(i)")) }
        }
        #expect(refusals.count >= 1)
        // Refused once, never tried again until reopened.
        #expect(refusals.count == 1)
        #expect(try db.statistics().logWrites == .bufferedAfterDirectRefused)
        db.close()

        let reopened = try Database(path: dir.file())
        defer { reopened.close() }
        for i in 0..<20 {
            #expect(try reopened.read { try $0.table("t")?.get(bytes("k\(i)")) } == bytes("v\(i)"))
        }
    }

    /// What the fallback must not cover: any other write error still fails the commit.
    @Test func otherDirectWriteErrorsStillFail() throws {
        let dir = TempDir(); defer { dir.remove() }
        var options = DatabaseOptions(durability: .full)
        options.fileSystem = DirectWriteRefusingFileSystem(refusals: DirectWriteRefusals(), errno: EIO)
        let db = try Database(path: dir.file(), options: options)
        defer { db.close() }
        guard db.log.file.usesDirectWrites else { return }
        #expect(throws: StoreError.io(operation: "pwrite", path: dir.file() + "-wal", errno: EIO)) {
            try db.write { try $0.createTable("t").put(bytes("k"), bytes("v")) }
        }
    }
}
