// ClusterBench: the same domain workloads on embedded Vitrine and on a 3-member etcd cluster, in
// one run (issue 13, item 4). Domain level (`Store<Backend>`), not key level: what a shop sees.
//
//   showcase pages        1 reader: an expert's first page of 20 (a snapshot read of ~41 keys)
//   purchase, 1 caller    add one unit of a random product to the cart, then check out
//   purchase, 8 callers   the same from 8 threads, each its own user, products spread over 64
//   flash sale, 8 callers the same on one product until its stock is sold out
//
// Every operation's latency is recorded; each row reports operations per second over the phase
// and p50 / p99 of the latency. Embedded: a fresh file, durability .full (its own fsync per
// commit, batched when callers contend). etcd: the cluster given by --etcd URL[,URL...]
// (Benchmarks/cluster.sh starts one with scripts/etcd-cluster.sh: 3 members on this machine,
// each fsyncing its own log on the same disk), under a fresh key prefix.
//
//   ClusterBench --etcd URLS [--seconds S] [--flash-stock N] [--data-dir DIR]

import Dispatch
import Foundation
import Vitrine
import VitrineEtcd

struct Options {
    var etcd = ""
    var seconds = 3.0
    var flashStock: Int64 = 300
    var dataDir = FileManager.default.temporaryDirectory.path
}

func parse() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst().makeIterator()
    while let a = args.next() {
        switch a {
        case "--etcd": o.etcd = args.next() ?? ""
        case "--seconds": o.seconds = Double(args.next() ?? "") ?? o.seconds
        case "--flash-stock": o.flashStock = Int64(args.next() ?? "") ?? o.flashStock
        case "--data-dir": o.dataDir = args.next() ?? o.dataDir
        default:
            FileHandle.standardError.write(Data("ClusterBench: unknown argument \(a)\n".utf8))
            exit(2)
        }
    }
    guard !o.etcd.isEmpty else {
        FileHandle.standardError.write(Data("usage: ClusterBench --etcd URL[,URL...] [--seconds S] [--flash-stock N]\n".utf8))
        exit(2)
    }
    return o
}

/// Latencies of one phase, from several threads.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [Double] = []
    private var failures = 0
    func add(_ seconds: Double) { lock.withLock { latencies.append(seconds) } }
    func fail() { lock.withLock { failures += 1 } }
    var all: [Double] { lock.withLock { latencies } }
    var failed: Int { lock.withLock { failures } }
}

struct Row {
    var workload: String
    var backend: String
    var operations: Int
    var perSecond: Double
    var p50: Double
    var p99: Double
    var failed: Int
}

func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.down)))]
}

/// Runs `op` on `threads` threads until `until` says stop; returns the row.
func phase(
    _ name: String, _ backend: String, threads: Int, _ op: @escaping @Sendable (Int, Int) throws -> Void,
    until: @escaping @Sendable (Date) -> Bool
) -> Row {
    let recorder = Recorder()
    let group = DispatchGroup()
    let start = Date()
    for t in 0..<threads {
        DispatchQueue.global().async(group: group) {
            var n = 0
            while !until(start) {
                n += 1
                let t0 = DispatchTime.now().uptimeNanoseconds
                do {
                    try op(t, n)
                    recorder.add(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                } catch VitrineError.outOfStock {
                    return
                } catch {
                    recorder.fail()
                }
            }
        }
    }
    group.wait()
    let elapsed = Date().timeIntervalSince(start)
    let sorted = recorder.all.sorted()
    return Row(
        workload: name, backend: backend, operations: sorted.count, perSecond: Double(sorted.count) / elapsed,
        p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), failed: recorder.failed)
}

func run<B: OrderedKeyValueStore>(_ label: String, _ store: Store<B>, _ options: Options) throws -> [Row] {
    let catalogue = CatalogueGenerator(seed: 20_150_601).catalogue(.demo)
    _ = try store.importCatalogue(catalogue)
    for i in 0..<64 {
        try store.upsertProduct(
            Product(
                id: ProductID("bench-\(i)"), partner: "tmall", link: "https://detail.tmall.com/item.htm?id=\(900_000 + i)",
                title: "bench \(i)", priceFen: 1_000, merchant: "bench", category: "beauty", initialStock: 100_000_000))
    }
    try store.upsertProduct(
        Product(
            id: "flash", partner: "tmall", link: "https://detail.tmall.com/item.htm?id=999999", title: "flash", priceFen: 1_000,
            merchant: "bench", category: "beauty", initialStock: options.flashStock))
    let experts = catalogue.experts.map(\.id)
    let users = catalogue.users.map(\.id)
    let seconds = options.seconds
    let timed: @Sendable (Date) -> Bool = { Date().timeIntervalSince($0) >= seconds }
    var rows: [Row] = []
    rows.append(
        phase(
            "showcase pages (1 reader)", label, threads: 1,
            { _, n in
                _ = try store.showcase(of: experts[n % experts.count], limit: 20)
            }, until: timed))
    func purchase(_ product: @escaping @Sendable (Int, Int) -> ProductID) -> @Sendable (Int, Int) throws -> Void {
        { t, n in
            let user = users[t % users.count]
            try store.addToCart(.user(user), product: product(t, n), quantity: 1)
            _ = try store.checkout(user: user, idempotencyKey: "\(label)-\(t)-\(n)-\(UUID().uuidString)")
        }
    }
    rows.append(
        phase(
            "purchase (add + checkout), 1 caller", label, threads: 1,
            purchase { _, n in ProductID("bench-\(n % 64)") }, until: timed))
    rows.append(
        phase(
            "purchase (add + checkout), 8 callers", label, threads: 8,
            purchase { t, n in ProductID("bench-\((t * 8 + n) % 64)") }, until: timed))
    rows.append(
        phase(
            "flash sale: one product, 8 callers", label, threads: 8,
            purchase { _, _ in "flash" }, until: { _ in false }))
    let sold = try store.product("flash")
    if sold.stock != 0 || sold.sold != options.flashStock {
        FileHandle.standardError.write(Data("ClusterBench: flash sale on \(label) ended at stock \(sold.stock), sold \(sold.sold)\n".utf8))
        exit(1)
    }
    return rows
}

let options = parse()
var rows: [Row] = []
do {
    let path = options.dataDir + "/cluster-bench-\(UUID().uuidString).db"
    defer {
        for suffix in ["", "-wal", ".wal", "-log"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
    let embedded = try Store(path: path)
    let engineRows = try run("embedded", embedded, options)
    embedded.backend.database.close()
    let etcd = try EtcdKeyValueStore(
        configuration: EtcdConfiguration(
            endpoints: try EtcdConfiguration.endpoints(options.etcd), keyPrefix: Array("bench-\(UUID().uuidString)/".utf8)))
    let etcdRows = try run("etcd (3 members)", try Store(backend: etcd), options)
    for (a, b) in zip(engineRows, etcdRows) { rows += [a, b] }
    print("ClusterBench: etcd store \(etcd.statistics.commits) commits, \(etcd.statistics.retries) bodies run again after a conflict")
} catch {
    FileHandle.standardError.write(Data("ClusterBench: \(error)\n".utf8))
    exit(1)
}

func ms(_ s: Double) -> String { String(format: "%.2f", s * 1000) }
print("| workload | backend | ops/s | p50 ms | p99 ms | ops | failed |")
print("|---|---|---:|---:|---:|---:|---:|")
for r in rows {
    print(
        "| \(r.workload) | \(r.backend) | \(String(format: "%.0f", r.perSecond)) | \(ms(r.p50)) | \(ms(r.p99)) | \(r.operations) | \(r.failed) |"
    )
}
