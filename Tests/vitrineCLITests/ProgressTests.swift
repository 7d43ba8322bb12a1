// Progress lines: every long command takes --quiet, and with stderr not a terminal (as here)
// nothing but data reaches stdout and nothing at all reaches stderr.

import Foundation
import Testing

@Suite(.serialized) struct ProgressTests {
    @Test func longCommandsTakeQuietAndStaySilentOffATerminal() throws {
        let s = try Sandbox()
        try s.ok("generate", "--products", "400", "--quiet")
        for quiet in [[], ["--quiet"]] {
            let check = try s.run(["check"] + quiet)
            #expect(check.status == 0 && check.stdout == "ok\n" && check.stderr.isEmpty, "check \(quiet): \(check)")
            let dump = try s.run(["dump"] + quiet)
            #expect(dump.status == 0 && dump.stderr.isEmpty && dump.lines.allSatisfy { $0.hasPrefix("{") }, "dump \(quiet)")
            let out = "copy\(quiet.count).db"
            let compact = try s.run(["compact", out] + quiet)
            #expect(compact.status == 0 && compact.stderr.isEmpty && compact.stdout == "compacted vitrine.db into \(out)\n")
            let workload = try s.run(["workload", "--ops", "50", "--threads", "2"] + quiet)
            #expect(workload.status == 0 && workload.stderr.isEmpty && workload.lines.allSatisfy { $0.hasPrefix("ACK ") })
        }
        try s.write("records.jsonl", try s.ok("dump").stdout)
        let load = try s.ok("load", "records.jsonl", "--db", "again.db", "--quiet")
        #expect(load.stderr.isEmpty)
    }
}
