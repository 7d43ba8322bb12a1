// `vitrine shrink`: gives the data file's free pages back to the file system, in place.

import Foundation
import Vitrine
import VitrineStore

enum ShrinkCommand: Command {
    static let spec = CommandSpec(
        name: "shrink",
        summary: "move pages out of the data file's tail into its free pages and cut the file",
        options: [.db, .json],
        details:
            "In place, unlike compact: the database stays the same file. Pages at the end of the file move into free pages nearer its start, then the file is cut after its last page in use. What cannot be given back is the spare the move keeps for the branches it copies (about 1/128 of the file)."
    )

    static func run(_ args: ParsedArguments) throws -> Int32 {
        try withDatabase(args) { db in
            let pages = try db.database.shrink()
            let pageSize = Int64(try db.database.statistics().pageSize)
            let bytes = { (pages: UInt64) in Int64(pages) * pageSize }
            if args.json {
                struct Result: Encodable { var pagesBefore: UInt64; var pagesAfter: UInt64; var bytesBefore: Int64; var bytesAfter: Int64 }
                try printJSON(
                    Result(
                        pagesBefore: pages.pagesBefore, pagesAfter: pages.pagesAfter,
                        bytesBefore: bytes(pages.pagesBefore), bytesAfter: bytes(pages.pagesAfter)))
            } else {
                print(
                    "shrank \(db.path): \(pages.pagesBefore) -> \(pages.pagesAfter) pages (\(bytes(pages.pagesBefore)) -> \(bytes(pages.pagesAfter)) bytes)"
                )
            }
            return 0
        }
    }
}
