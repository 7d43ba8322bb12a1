// The kill campaign (issue 5, "Processes and load"): `vitrine workload` SIGKILLed at seeded random
// moments, for every cell of 1/4/8 threads and 64 async tasks (`--tasks`, the batch commit path)
// x full/grouped/relaxed durability, each cell on a file
// of its own that lives through all of the cell's rounds. After every round: `check` prints ok,
// every acknowledged checkout is stored with its units, every acknowledged cancel is cancelled.
//
// `.relaxed` may lose a recent tail (commits not yet synced by the flusher), never more and
// never with corruption: an acknowledged commit that is missing must have been acknowledged in
// the last `relaxedTailWindow` before the kill. (A SIGKILL is not a power loss: the log records
// were written with pwrite before the commit returned, so the page cache keeps them and the
// expected tail loss under SIGKILL is zero; the allowance is what the mode promises.)
//
// VITRINE_KILL_ROUNDS sets the rounds per cell (default 1: the matrix takes well under a minute),
// VITRINE_KILL_SEED replays a run. Prints one summary line:
//   kill-campaign: 12 kills (1/4/8 threads, 64 tasks x full/grouped/relaxed), ... acked orders verified, 0 lost, 0 corrupt, relaxed tail lost: 0
//
// The two-process tests extend CrashTests' check (a second `inspect` is refused while a workload
// runs): a second writer, and every other command, is refused with exit 2 naming the lock,
// without disturbing the holder; after the holder is SIGKILLed the kernel drops its flock and a
// new process opens the file; two workloads racing to create the same new file end with exactly
// one database and one holder.

import Foundation
import Testing

@Suite(.serialized) struct KillCampaignTests {
    /// The workload's drivers: threads on the plain (and, contended, batch) path; tasks on the
    /// async API, all through the batch path.
    static let drivers: [(args: [String], label: String)] = [
        (["--threads", "1"], "1 thread"), (["--threads", "4"], "4 threads"), (["--threads", "8"], "8 threads"),
        (["--tasks", "64"], "64 tasks"),
    ]
    static let modes = ["full", "grouped", "relaxed"]
    /// How far before the kill a `.relaxed` ACK may be and still be lost: the flusher's interval
    /// (100 ms), a sync's duration on a loaded machine, and our polling granularity.
    static let relaxedTailWindow: TimeInterval = 0.6

    /// Totals over the whole campaign.
    struct Totals {
        var kills = 0
        var acked = 0
        var verified = 0
        var checks = 0
        var lost = 0
        var corrupt = 0
        var relaxedTailLost = 0
        var cancels = 0
        var confirms = 0
    }

    @Test func killCampaignMatrix() throws {
        let env = ProcessInfo.processInfo.environment
        let rounds = max(1, Int(env["VITRINE_KILL_ROUNDS"] ?? "") ?? 1)
        let seed = UInt64(env["VITRINE_KILL_SEED"] ?? "20261106") ?? UInt64.random(in: 1...UInt64(UInt32.max))
        print("kill-campaign: \(rounds) round(s) per cell, VITRINE_KILL_SEED=\(seed)")
        let started = Date()
        var totals = Totals()
        var rng = CrashTests.SplitMix(state: seed)
        for (d, driver) in Self.drivers.enumerated() {
            for mode in Self.modes {
                // The thread cells keep the seeds they had before the tasks cell was added.
                let salt = driver.args[0] == "--threads" ? Int(driver.args[1]) ?? d : 1000 + d
                let cellSeed = seed &+ UInt64(salt * 31 + (Self.modes.firstIndex(of: mode) ?? 0))
                try runCell(driver: driver, mode: mode, rounds: rounds, seed: cellSeed, rng: &rng, totals: &totals)
            }
        }
        let seconds = Date().timeIntervalSince(started)
        print(
            "kill-campaign: \(totals.kills) kills (1/4/8 threads, 64 tasks x full/grouped/relaxed), \(totals.verified) acked orders verified, "
                + "\(totals.lost) lost, \(totals.corrupt) corrupt, relaxed tail lost: \(totals.relaxedTailLost) "
                + "(\(totals.checks) order checks over all rounds, \(totals.acked) checkout ACKs, \(totals.cancels) cancel ACKs, \(totals.confirms) confirm ACKs, \(String(format: "%.1f", seconds)) s, seed \(seed))"
        )
        #expect(totals.lost == 0 && totals.corrupt == 0, "seed \(seed)")
        #expect(totals.verified > 0, "no acknowledged order was verified")
    }

    /// One ACK line and when the test first saw it in the output file.
    struct Ack {
        var line: Substring
        var seenAt: Date
    }

    /// One cell of the matrix: `rounds` kills on one file, verified after each.
    func runCell(
        driver: (args: [String], label: String), mode: String, rounds: Int, seed: UInt64, rng: inout CrashTests.SplitMix,
        totals: inout Totals
    ) throws {
        let s = try Sandbox()
        let db = "kill.db"
        // order id -> acknowledged units, and the cancels; carried over the rounds (an order from
        // round 1 must still be there after round 5).
        var checkouts: [String: Int64] = [:]
        var cancels: Set<String> = []
        var confirms: [String: String] = [:] // "order partner" -> acknowledged reference
        for round in 0..<rounds {
            let process = try s.start(
                ["workload", "--db", db, "--seed", "\(seed)"] + driver.args + ["--durability", mode],
                stdout: "acks-\(round).out", stderr: "acks-\(round).err")
            // Round 0 kills only after the first ACK (so every cell has something to verify);
            // later rounds, and one in four of them from the start, kill at any moment,
            // including during open/recovery.
            let fromStart = round > 0 && rng.below(4) == 0
            let delay = TimeInterval(fromStart ? 20 + rng.below(600) : rng.below(700)) / 1000
            var acks: [Ack] = []
            var consumed = 0
            var pending = Data()
            let outURL = s.dir.appendingPathComponent("acks-\(round).out")
            func poll() {
                guard let data = try? Data(contentsOf: outURL), data.count > consumed else { return }
                let now = Date()
                pending.append(data[consumed...])
                consumed = data.count
                while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<nl], as: UTF8.self)
                    acks.append(Ack(line: Substring(line), seenAt: now))
                    pending = Data(pending[(nl + 1)...])
                }
            }
            if !fromStart {
                let deadline = Date().addingTimeInterval(30)
                while Date() < deadline, process.isRunning, acks.isEmpty { usleep(2_000); poll() }
            }
            let killAt = Date().addingTimeInterval(delay)
            while Date() < killAt, process.isRunning { usleep(3_000); poll() }
            kill(process.processIdentifier, SIGKILL)
            let killedAt = Date()
            process.waitUntilExit()
            poll()
            totals.kills += 1
            let stderr = (try? s.read("acks-\(round).err")) ?? ""
            #expect(
                process.terminationReason == .uncaughtSignal,
                "\(driver.label) \(mode) round \(round): workload stopped by itself (\(process.terminationStatus)): \(stderr)")

            // This round's ACKs.
            var roundCheckouts: [(id: String, units: Int64, seenAt: Date)] = []
            var roundCancels: [(id: String, seenAt: Date)] = []
            var roundConfirms: [(key: String, reference: String, seenAt: Date)] = []
            for ack in acks {
                let fields = Self.fields(ack.line)
                if ack.line.hasPrefix("ACK checkout "), let id = fields["order"], let units = fields["units"].flatMap({ Int64($0) }) {
                    roundCheckouts.append((id, units, ack.seenAt))
                } else if ack.line.hasPrefix("ACK cancel "), let id = fields["order"] {
                    roundCancels.append((id, ack.seenAt))
                } else if ack.line.hasPrefix("ACK confirm "), let id = fields["order"], let partner = fields["partner"],
                    let reference = fields["ref"]
                {
                    roundConfirms.append((id + " " + partner, reference, ack.seenAt))
                } else if !ack.line.hasPrefix("ACK restock product=") {
                    Issue.record("\(driver.label) \(mode) round \(round): unexpected line \(ack.line)")
                }
            }
            totals.acked += roundCheckouts.count
            totals.cancels += roundCancels.count
            for c in roundCheckouts { checkouts[c.id] = c.units }
            for c in roundCancels { cancels.insert(c.id) }
            totals.confirms += roundConfirms.count
            for c in roundConfirms { confirms[c.key] = c.reference }

            // Verify: check, then one dump of the order table.
            let what =
                "\(driver.label), \(mode), round \(round) (seed \(seed), kill after \(Int(delay * 1000)) ms\(fromStart ? " from start" : " after first ACK"))"
            let check = try s.run(["check", "--db", db])
            if check.status != 0 || check.stdout != "ok\n" {
                totals.corrupt += 1
                Issue.record("check failed after \(what): \(check.status) \(check.stdout) \(check.stderr)")
                return
            }
            let dump = try s.run(["dump", "--table", "order", "--db", db])
            guard dump.status == 0 else {
                totals.corrupt += 1
                Issue.record("dump failed after \(what): \(dump.status) \(dump.stderr)")
                return
            }
            let orders = try ordersInDump(dump.stdout)
            let tailStart = killedAt.addingTimeInterval(-Self.relaxedTailWindow)
            let seenAt = Dictionary(roundCheckouts.map { ($0.id, $0.seenAt) }, uniquingKeysWith: { a, _ in a })
            for (id, units) in checkouts.sorted(by: { $0.key < $1.key }) {
                guard let stored = orders[id] else {
                    if mode == "relaxed", let t = seenAt[id], t >= tailStart {
                        totals.relaxedTailLost += 1
                        checkouts[id] = nil
                        cancels.remove(id)
                    } else {
                        totals.lost += 1
                        Issue.record("acknowledged order \(id) (\(units) units) missing after \(what)")
                    }
                    continue
                }
                totals.checks += 1
                if stored.units != units {
                    totals.corrupt += 1
                    Issue.record("order \(id): \(stored.units) units stored, \(units) acknowledged, after \(what)")
                }
            }
            let cancelSeenAt = Dictionary(roundCancels.map { ($0.id, $0.seenAt) }, uniquingKeysWith: { a, _ in a })
            for id in cancels.sorted() where orders[id] != nil && orders[id]?.status != 3 {
                if mode == "relaxed", let t = cancelSeenAt[id], t >= tailStart {
                    totals.relaxedTailLost += 1
                    cancels.remove(id)
                } else {
                    totals.lost += 1
                    Issue.record("acknowledged cancel of \(id) not stored (status \(orders[id]?.status ?? -1)) after \(what)")
                }
            }
            // Every acknowledged confirmation is stored with its reference.
            let pay = try s.run(["dump", "--table", "pay", "--db", db])
            var payments: [String: String] = [:]
            for line in pay.stdout.split(separator: "\n") {
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let value = object["value"] as? [String: Any], let order = value["order"] as? String,
                    let partner = value["partner"] as? String, let reference = value["reference"] as? String
                else { continue }
                payments[order + " " + partner] = reference
            }
            let confirmSeenAt = Dictionary(roundConfirms.map { ($0.key, $0.seenAt) }, uniquingKeysWith: { a, _ in a })
            for (key, reference) in confirms.sorted(by: { $0.key < $1.key }) where payments[key] != reference {
                let order = String(key.split(separator: " ")[0])
                if mode == "relaxed", (confirmSeenAt[key].map { $0 >= tailStart } ?? false) || checkouts[order] == nil {
                    totals.relaxedTailLost += 1
                    confirms[key] = nil
                } else {
                    totals.lost += 1
                    Issue.record("acknowledged confirmation \(key) ref \(reference) not stored (\(payments[key] ?? "none")) after \(what)")
                }
            }
            // One order through `vitrine order --json` too (the reader path of the CLI).
            if let (id, units) = checkouts.first(where: { orders[$0.key] != nil }) {
                let order = try s.run(["order", id, "--db", db, "--json"])
                let json = order.status == 0 ? try? order.json() : nil
                #expect(
                    json?["id"] as? String == id && (json?["units"] as? NSNumber)?.int64Value == units,
                    "order \(id) --json after \(what): \(order.status) \(order.stdout) \(order.stderr)")
            }
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(atPath: s.path("acks-\(round).err"))
        }
        // Distinct acknowledged orders, each found intact after every round since its ACK.
        totals.verified += checkouts.count
    }

    static func fields(_ line: Substring) -> [String: String] {
        Dictionary(
            line.split(separator: " ").compactMap { part -> (String, String)? in
                guard let eq = part.firstIndex(of: "=") else { return nil }
                return (String(part[..<eq]), String(part[part.index(after: eq)...]))
            }, uniquingKeysWith: { a, _ in a })
    }

    // MARK: - Two processes

    /// While a workload holds the database, a second workload (a writer) and the other commands
    /// that open it are refused with exit 2 and one stderr line naming the lock, and they leave
    /// the holder's file alone (no recovery, no log cut under its feet). After the holder is
    /// SIGKILLed the kernel releases the flock: a new writer opens the file, and every ACK of the
    /// holder survived.
    @Test func secondOpenerIsRefusedAndAKilledHolderReleasesTheLock() throws {
        let s = try Sandbox()
        let holder = try s.start(
            ["workload", "--db", "held.db", "--seed", "7", "--threads", "2", "--durability", "grouped"],
            stdout: "holder.out", stderr: "holder.err")
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, holder.isRunning, try !s.read("holder.out").contains("ACK checkout") { usleep(5_000) }
        #expect(holder.isRunning, "holder exited early: \((try? s.read("holder.err")) ?? "")")

        let openers: [[String]] = [
            ["workload", "--db", "held.db", "--seed", "8", "--threads", "1", "--ops", "10"],
            ["workload", "--db", "held.db", "--seed", "8", "--threads", "4", "--durability", "relaxed"],
            ["check", "--db", "held.db"],
            ["inspect", "--db", "held.db"],
            ["dump", "--table", "order", "--db", "held.db"],
        ]
        for args in openers {
            let r = try s.run(args, timeout: 30)
            #expect(r.status == 2 && !r.killedBySignal, "vitrine \(args.joined(separator: " ")) while held: exit \(r.status): \(r.stderr)")
            #expect(r.stderr.contains("locked"), "vitrine \(args.joined(separator: " ")): stderr does not name the lock: \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "stderr is not one line: \(r.stderr)")
            #expect(r.stdout.isEmpty || !r.stdout.contains("ACK"), "a refused workload acknowledged something: \(r.stdout)")
            #expect(holder.isRunning, "the holder died when \(args[0]) was refused: \((try? s.read("holder.err")) ?? "")")
        }
        // The holder keeps committing after the refusals.
        let before = try s.read("holder.out").count
        let until = Date().addingTimeInterval(10)
        while Date() < until, holder.isRunning, try s.read("holder.out").count == before { usleep(5_000) }
        #expect(try s.read("holder.out").count > before, "the holder made no progress after the refused openers")

        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        #expect(holder.terminationReason == .uncaughtSignal)

        // The lock went with the process: a new writer opens, recovers and works.
        let next = try s.run(["workload", "--db", "held.db", "--seed", "9", "--threads", "2", "--ops", "40"], timeout: 60)
        #expect(next.status == 0 && !next.killedBySignal, "workload after the holder was killed: \(next.status) \(next.stderr)")
        let check = try s.run(["check", "--db", "held.db"])
        #expect(check.status == 0 && check.stdout == "ok\n", "check: \(check.stdout) \(check.stderr)")

        // Every ACK of the holder and of the new writer is there.
        let orders = try ordersInDump(try s.ok("dump", "--table", "order", "--db", "held.db").stdout)
        var acked = 0
        for line in (try s.read("holder.out") + "\n" + next.stdout).split(separator: "\n") where line.hasPrefix("ACK checkout ") {
            let f = Self.fields(line)
            guard let id = f["order"], let units = f["units"].flatMap({ Int64($0) }) else { continue }
            // A line cut by the kill (no units yet) is not an ACK.
            acked += 1
            #expect(orders[id]?.units == units, "acknowledged order \(id) (\(units) units): stored \(String(describing: orders[id]))")
        }
        #expect(acked > 0)
        print("two-processes: \(openers.count) refused openers while held, lock released on SIGKILL, \(acked) acked orders verified")
    }

    /// Two workloads started at the same moment on a file that does not exist yet: whoever links
    /// the new file first holds it; the other is refused (exit 2, locked), or, if it came second
    /// to an open that had already failed, runs. Never two holders, never a clobbered file.
    @Test func twoWorkloadsRacingToCreateTheSameFile() throws {
        for attempt in 0..<3 {
            let s = try Sandbox()
            let a = try s.start(["workload", "--db", "new.db", "--seed", "1", "--threads", "2"], stdout: "a.out", stderr: "a.err")
            let b = try s.start(["workload", "--db", "new.db", "--seed", "2", "--threads", "2"], stdout: "b.out", stderr: "b.err")
            usleep(1_000_000)
            let running = [a, b].filter(\.isRunning)
            #expect(
                running.count == 1,
                "attempt \(attempt): \(running.count) workloads hold new.db: \((try? s.read("a.err")) ?? "") | \((try? s.read("b.err")) ?? "")"
            )
            for p in running { kill(p.processIdentifier, SIGKILL) }
            a.waitUntilExit()
            b.waitUntilExit()
            for (p, name) in [(a, "a"), (b, "b")] where p.terminationReason == .exit {
                let err = try s.read("\(name).err")
                #expect(
                    p.terminationStatus == 2 && err.contains("locked"),
                    "attempt \(attempt): workload \(name) exited \(p.terminationStatus): \(err)")
            }
            let check = try s.run(["check", "--db", "new.db"])
            #expect(check.status == 0 && check.stdout == "ok\n", "attempt \(attempt): check: \(check.stdout) \(check.stderr)")
            let orders = try ordersInDump(try s.ok("dump", "--table", "order", "--db", "new.db").stdout)
            for name in ["a", "b"] {
                for line in try s.read("\(name).out").split(separator: "\n") where line.hasPrefix("ACK checkout ") {
                    let f = Self.fields(line)
                    guard let id = f["order"], let units = f["units"].flatMap({ Int64($0) }) else { continue }
                    #expect(orders[id]?.units == units, "attempt \(attempt): acknowledged order \(id) missing or changed")
                }
            }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: s.dir.path).filter { $0.contains(".creating-") }
            #expect(leftovers.isEmpty, "temporary files left behind: \(leftovers)")
        }
    }
}
