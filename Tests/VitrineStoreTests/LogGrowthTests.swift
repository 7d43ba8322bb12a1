import Foundation
import Testing
@_spi(Testing) import VitrineTestSupport

@_spi(Testing) @testable import VitrineStore

/// How the log file grows (formats/write-ahead-log.md section 7): the durable modes write the
/// zeros ahead of their synchronous appends, `.relaxed` only extends the file.
@Suite struct LogGrowthTests {
    /// Commits enough to grow the log past several steps, checks every value after a reopen,
    /// and returns the log file's events.
    private static func grow(_ durability: Durability, dir: TempDir) throws -> [IOEvent] {
        let path = dir.file()
        let trace = IOTrace()
        trace.register(path)
        trace.register(path + "-wal")
        var options = DatabaseOptions(durability: durability)
        options.fileSystem = RecordingFileSystem(trace: trace)
        options.logGrowthBytes = 64 << 10
        let db = try Database(path: path, options: options)
        let value = [UInt8](repeating: 7, count: 1000)
        for i in 0..<300 {
            try db.write { try $0.createTable("t").put(bytes("k\(i)"), value) }
        }
        #expect(db.log.logBytes > 200 << 10, "the log grew past several steps")
        db.close()
        let reopened = try Database(path: path)
        defer { reopened.close() }
        for i in 0..<300 {
            #expect(try reopened.read { try $0.table("t")?.get(bytes("k\(i)")) } == value)
        }
        return trace.events.filter { $0.file == 1 }
    }

    private static func isExtension(_ event: IOEvent) -> Bool {
        if case .truncate(_, let length) = event { return length > 4096 }
        return false
    }

    /// A write of nothing but zeros: growth (a record never is one).
    private static func isZeroWrite(_ event: IOEvent) -> Bool {
        if case .write(_, _, let b) = event { return !b.isEmpty && b.allSatisfy { $0 == 0 } }
        return false
    }

    @Test func relaxedGrowsByExtendingTheFileWithoutWritingZeros() throws {
        let dir = TempDir(); defer { dir.remove() }
        let events = try Self.grow(.relaxed, dir: dir)
        let extensions = events.filter(Self.isExtension).count
        #expect(extensions >= 3, "one extension per step")
        let zeroWrites = events.filter(Self.isZeroWrite).count
        #expect(zeroWrites == 0)
    }

    @Test(arguments: [Durability.full, .grouped])
    func durableModesWriteTheirGrowthZerosAhead(durability: Durability) throws {
        let dir = TempDir(); defer { dir.remove() }
        let events = try Self.grow(durability, dir: dir)
        let zeroWrites = events.filter(Self.isZeroWrite).count
        #expect(zeroWrites >= 3, "zeros written ahead of the records")
        let extensions = events.filter(Self.isExtension).count
        #expect(extensions == 0, "a durable log never grows by extending the file")
    }
}
