// Failover under load, and a cluster without quorum (issue 13, tests b and c). Each test starts
// a 3-member cluster of its own and stops it at the end.
//
// b: 8 callers (threads, each a store of its own, each starting at another member) buy one unit
//    at a time of a limited-stock product through a recommendation, while the leader is
//    SIGKILLed and restarted and then the new leader is paused (SIGSTOP) and resumed. A caller
//    retries a failed checkout with the same idempotency key until it is placed or the product
//    is sold out. Afterwards, read through each member alone: every ACKed order is there; the
//    units sold are exactly the ACKed orders' units (nothing oversold, nothing placed without an
//    ACK); no idempotency key has two orders; the integrity check (stock ledger, recommendation
//    quantities, pending commission) finds nothing. Prints one summary line.
//    VITRINE_ETCD_FAILOVER_OPS: the units on sale (160 by default; more for a longer run: the
//    callers buy at a paced 16 units/s during the chaos, then at full speed).
// c: with one member killed and one paused, a checkout and a read fail with a typed error in
//    bounded time (no hang, no ACK); once quorum is back, the same key places exactly one order.

import Foundation
import Testing
import VitrineEtcd

@testable import Vitrine

@Suite(.enabled(if: etcdSuiteEnabled), .serialized)
struct FailoverTests {
    @Test func flashSaleSurvivesALeaderKillAndAPausedMember() throws {
        let cluster = try EtcdCluster.start("failover")
        defer { cluster.stop() }
        let units = Int64(ProcessInfo.processInfo.environment["VITRINE_ETCD_FAILOVER_OPS"].flatMap { Int64($0) } ?? 160)
        let callers = 8
        let prefix = "sale-" + UUID().uuidString
        let started = Date()
        func store(through endpoints: [URL]) throws -> Store<EtcdKeyValueStore> {
            let backend = try cluster.store(prefix: prefix, endpoints: endpoints) {
                $0.requestTimeout = 1
                $0.operationTimeout = 20
            }
            return try Store(backend: backend)
        }
        func rotated(_ i: Int) -> [URL] { (0..<3).map { cluster.endpoints[(i + $0) % 3] } }

        let admin = try store(through: cluster.endpoints)
        try admin.upsertExpert(Expert(id: "mei", displayName: "小美", categories: ["beauty"], commissionBasisPoints: 800))
        try admin.upsertProduct(
            Product(
                id: "mask", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=1", title: "补水面膜", priceFen: 9_900,
                merchant: "云朵官方旗舰店", category: "beauty", initialStock: units))
        let rec = try admin.postRecommendation(id: "rec-mask", expert: "mei", product: "mask", reason: "好用", quantity: units * 2)

        let state = SaleState()
        let group = DispatchGroup()
        var buyers: [Store<EtcdKeyValueStore>] = []
        for i in 0..<callers {
            let buyer = try store(through: rotated(i))
            buyers.append(buyer)
            DispatchQueue.global().async(group: group) {
                Self.buy(i, buyer, rec.id, state, deadline: started.addingTimeInterval(240))
            }
        }
        // The chaos, while they buy: the leader killed and restarted, then the leader paused.
        Thread.sleep(forTimeInterval: 1)
        let killed = cluster.leader() ?? 1
        cluster.member("kill", killed)
        Thread.sleep(forTimeInterval: 2)
        cluster.member("restart", killed)
        Thread.sleep(forTimeInterval: 2)
        let paused = cluster.leader() ?? (killed % 3 + 1)
        cluster.member("pause", paused)
        Thread.sleep(forTimeInterval: 3)
        cluster.member("resume", paused)
        Thread.sleep(forTimeInterval: 1)
        state.chaosDone = true
        let finished = group.wait(timeout: .now() + 300) == .success
        #expect(finished, "callers still buying after 300 s")
        #expect(state.unexpected.isEmpty, "\(state.unexpected)")

        let acked = state.acked
        var checkedMembers = 0
        for endpoint in cluster.endpoints {
            let member = try store(through: [endpoint])
            let product = try member.product("mask")
            #expect(product.stock >= 0)
            #expect(product.stock + product.sold == units, "the stock ledger: stock \(product.stock) + sold \(product.sold)")
            #expect(product.sold == Int64(acked.count), "units sold \(product.sold), ACKed orders \(acked.count)")
            for (order, _) in acked {
                #expect(try member.order(order).lines.map(\.quantity) == [1])
            }
            var keys: [String: Int] = [:]
            for i in 0..<callers {
                var cursor: PageCursor? = nil
                repeat {
                    let page = try member.orders(of: UserID("buyer-\(i)"), after: cursor, limit: 100)
                    for o in page.items { keys[o.idempotencyKey, default: 0] += 1 }
                    cursor = page.next
                } while cursor != nil
            }
            #expect(keys.values.allSatisfy { $0 == 1 }, "an idempotency key with two orders")
            #expect(keys.count == acked.count)
            #expect(try member.checkIntegrity().isEmpty)
            checkedMembers += 1
        }
        #expect(state.soldOut)
        let stats = state.counts
        let backends = buyers.map(\.backend.statistics)
        print(
            String(
                format:
                    "etcd failover: %d callers, %lld units, %d orders ACKed, 0 oversold, leader m%d SIGKILLed+restarted, m%d SIGSTOPped 3 s, "
                    + "%d requests failed over to another member, %d conflicts retried, "
                    + "%d checkout retries after a typed error (%d unavailable, %d lost commits), %d replays of a lost commit, "
                    + "orders checked on %d members, %.1f s",
                callers, units, acked.count, killed, paused, backends.map(\.failovers).reduce(0, +), backends.map(\.retries).reduce(0, +),
                stats.retries, stats.unavailable, stats.unknown, stats.replays, checkedMembers, Date().timeIntervalSince(started)))
    }

    @Test func aClusterWithoutQuorumFailsInBoundedTimeAndNeverAcks() throws {
        let cluster = try EtcdCluster.start("quorum")
        defer { cluster.stop() }
        let prefix = "quorum-" + UUID().uuidString
        let backend = try cluster.store(prefix: prefix) {
            $0.requestTimeout = 1
            $0.operationTimeout = 3
        }
        let store = try Store(backend: backend)
        try store.upsertProduct(
            Product(
                id: "mask", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=1", title: "补水面膜", priceFen: 9_900,
                merchant: "云朵官方旗舰店", category: "beauty", initialStock: 5))
        try store.addToCart(.user("ann"), product: "mask", quantity: 1)
        let line = [CheckoutLine(product: "mask", quantity: 1)]

        // One member down, one paused (it accepts connections and never answers): no quorum.
        cluster.member("kill", 1)
        cluster.member("pause", 2)
        let outcome = Outcome()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            do {
                let order = try store.checkout(user: "ann", lines: line, idempotencyKey: "ann-1").order
                outcome.set("ACK \(order.id)")
            } catch let error as EtcdError {
                outcome.set("typed: \(error)")
            } catch {
                outcome.set("other: \(error)")
            }
            do {
                let p = try store.product("mask")
                outcome.set("read \(p.stock)")
            } catch let error as EtcdError {
                if case .unavailable = error { outcome.set("read: unavailable") } else { outcome.set("read: \(error)") }
            } catch {
                outcome.set("read other: \(error)")
            }
        }
        // A liveness bound, not a timing assertion: 4 operation timeouts for checkout (its own
        // resolution of lost commits included) and one for the read fit well inside it.
        let returned = group.wait(timeout: .now() + 60) == .success
        #expect(returned, "a checkout or read on a cluster without quorum hung")
        let seen = outcome.all
        #expect(seen.count == 2)
        #expect(seen.first?.hasPrefix("typed: ") == true, "\(seen)")
        #expect(seen.last == "read: unavailable", "\(seen)")

        // Quorum back: the same key places exactly one order.
        cluster.member("resume", 2)
        cluster.member("restart", 1)
        let order = try retrying { try store.checkout(user: "ann", lines: line, idempotencyKey: "ann-1").order }
        let again = try store.checkout(user: "ann", lines: line, idempotencyKey: "ann-1")
        #expect(again.isReplay && again.order.id == order.id)
        #expect(try store.orders(of: "ann").items.map(\.id) == [order.id])
        #expect(try store.product("mask").stock == 4)
        #expect(try store.checkIntegrity().isEmpty)
        print("etcd without quorum: \(seen.joined(separator: "; "))")
    }

    /// A commit sent to a member that is then paused: its answer is lost, so its outcome is
    /// unknown; checkout resolves it through its key (same order id), whichever way it went.
    @Test func checkoutResolvesALostCommitThroughItsKey() throws {
        let cluster = try EtcdCluster.start("lost")
        defer { cluster.stop() }
        let prefix = "lost-" + UUID().uuidString
        let inner = try cluster.store(prefix: prefix) {
            $0.requestTimeout = 1
            $0.operationTimeout = 10
        }
        let hook = PauseBeforeCommit(cluster: cluster, member: 1)
        let store = try Store(backend: HookedBackend(inner: inner, hook: hook))
        try store.upsertProduct(
            Product(
                id: "mask", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=1", title: "补水面膜", priceFen: 9_900,
                merchant: "云朵官方旗舰店", category: "beauty", initialStock: 5))
        try store.addToCart(.user("ann"), product: "mask", quantity: 2)
        hook.arm()
        let result = try store.checkout(user: "ann", lines: [CheckoutLine(product: "mask", quantity: 1)], idempotencyKey: "ann-1")
        #expect(hook.lostCommits == 1)
        #expect(!result.isReplay)
        #expect(try store.orders(of: "ann").items.map(\.id) == [result.order.id])
        #expect(try store.product("mask").stock == 4)
        #expect(try store.cart(.user("ann")).checkoutLines.map(\.quantity) == [1])
        #expect(try store.checkIntegrity().isEmpty)
    }

    /// One caller: add one unit, check out with a fresh key (again with the same key after a
    /// typed backend error), until sold out. Paced during the chaos, and keeps the last units
    /// for after it.
    static func buy(_ i: Int, _ store: Store<EtcdKeyValueStore>, _ rec: RecommendationID, _ state: SaleState, deadline: Date) {
        let user = UserID("buyer-\(i)")
        var n = 0
        purchases: while Date() < deadline {
            if !state.chaosDone {
                // Paced, so that the sale lasts through the chaos; the last units wait for its end.
                Thread.sleep(forTimeInterval: 0.5)
                let left = (try? store.product("mask").stock) ?? 0
                if left <= 8 { continue }
            }
            n += 1
            let key = "buyer-\(i)-\(n)"
            while true {
                guard Date() < deadline else { break purchases }
                do {
                    try store.addToCart(.user(user), product: "mask", recommendation: rec, quantity: 1, requestID: "add-\(i)-\(n)")
                    break
                } catch VitrineError.outOfStock {
                    state.soldOut = true
                    break purchases
                } catch let error as EtcdError {
                    state.count(error)
                    Thread.sleep(forTimeInterval: 0.05)
                } catch {
                    state.unexpected(error)
                    break purchases
                }
            }
            var tries = 0
            while true {
                guard Date() < deadline else { break purchases }
                tries += 1
                do {
                    let result = try store.checkout(
                        user: user, lines: [CheckoutLine(product: "mask", recommendation: rec, quantity: 1)], idempotencyKey: key)
                    state.ack(result.order.id, key, replay: result.isReplay && tries > 1)
                    if result.isReplay && tries == 1 { state.unexpected("a first checkout with a new key was a replay") }
                    break
                } catch VitrineError.outOfStock {
                    state.soldOut = true
                    break purchases
                } catch let error as EtcdError {
                    state.count(error)
                    Thread.sleep(forTimeInterval: 0.05)
                } catch {
                    state.unexpected(error)
                    break purchases
                }
            }
        }
    }
}

/// What the callers of the failover test saw.
final class SaleState: @unchecked Sendable {
    private let lock = NSLock()
    private var _acked: [(OrderID, String)] = []
    private var _unexpected: [String] = []
    private var _counts = (retries: 0, unavailable: 0, unknown: 0, replays: 0)
    private var _soldOut = false
    private var _chaosDone = false

    var acked: [(OrderID, String)] { lock.withLock { _acked } }
    var unexpected: [String] { lock.withLock { _unexpected } }
    var counts: (retries: Int, unavailable: Int, unknown: Int, replays: Int) { lock.withLock { _counts } }
    var soldOut: Bool {
        get { lock.withLock { _soldOut } }
        set { lock.withLock { _soldOut = newValue } }
    }
    var chaosDone: Bool {
        get { lock.withLock { _chaosDone } }
        set { lock.withLock { _chaosDone = newValue } }
    }

    func ack(_ order: OrderID, _ key: String, replay: Bool) {
        lock.withLock {
            _acked.append((order, key))
            if replay { _counts.replays += 1 }
        }
    }

    func count(_ error: EtcdError) {
        lock.withLock {
            _counts.retries += 1
            switch error {
            case .unavailable: _counts.unavailable += 1
            case .commitOutcomeUnknown: _counts.unknown += 1
            default: break
            }
        }
    }

    func unexpected(_ error: Any) { lock.withLock { _unexpected.append("\(error)") } }
}

/// `body`, again after typed backend errors while a cluster recovers (at most 60 times, 0.5 s apart).
func retrying<T>(_ body: () throws -> T) throws -> T {
    var attempts = 0
    while true {
        do {
            return try body()
        } catch let error as EtcdError {
            attempts += 1
            if attempts >= 60 { throw error }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }
}

/// What a background call saw.
final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func set(_ s: String) { lock.withLock { items.append(s) } }
    var all: [String] { lock.withLock { items } }
}

/// An etcd store whose writes call `hook` after the body returns, just before the commit.
struct HookedBackend: OrderedKeyValueStore {
    let inner: EtcdKeyValueStore
    let hook: PauseBeforeCommit
    func read<T>(_ body: (EtcdKeyValueStore.Reader) throws -> T) throws -> T { try inner.read(body) }
    func write<T>(_ body: (EtcdKeyValueStore.Writer) throws -> T) throws -> T {
        do {
            return try inner.write { tx in
                let result = try body(tx)
                hook.beforeCommit()
                return result
            }
        } catch let error as EtcdError {
            if case .commitOutcomeUnknown = error { hook.lost() }
            throw error
        }
    }
}

/// Once armed, pauses `member` (the one the store talks to first) before the next commit, and
/// resumes it 2.5 s later: the commit is sent to a member that does not answer.
final class PauseBeforeCommit: @unchecked Sendable {
    let cluster: EtcdCluster
    let member: Int
    private let lock = NSLock()
    private var armed = false
    private var lostCount = 0

    init(cluster: EtcdCluster, member: Int) {
        self.cluster = cluster
        self.member = member
    }

    func arm() { lock.withLock { armed = true } }
    func lost() { lock.withLock { lostCount += 1 } }
    var lostCommits: Int { lock.withLock { lostCount } }

    func beforeCommit() {
        let fire = lock.withLock { () -> Bool in
            defer { armed = false }
            return armed
        }
        guard fire else { return }
        cluster.member("pause", member)
        let cluster = self.cluster, member = self.member
        DispatchQueue.global().asyncAfter(deadline: .now() + 2.5) { cluster.member("resume", member) }
    }
}
