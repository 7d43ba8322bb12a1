// Batch commit: many callers' write closures in one transaction and one log write.
//
// Under the plain `write`, callers take turns at the writer lock: each runs its closure, commits,
// and (in `.grouped` mode) shares a log sync with whoever committed meanwhile. On a hot product
// the turns, not the disk, bound throughput: groups stay near two commits. `batchWrite` instead
// queues the closure; one batch thread takes every queued closure (up to the limits), runs them
// one after another inside one write transaction, each in its own savepoint, and commits them
// with one log record. A second thread makes that record durable (one sync, often shared with
// the next batch's record) and only then completes the batch's callers. While it syncs, the
// batch thread is already running the next batch: execution and the disk overlap.
//
// What a caller is promised:
//   - Its closure runs exactly once, on the batch thread, never re-run (so it need not be
//     idempotent), inside its own savepoint: when it throws, only its own changes are undone and
//     the caller gets its own error. Later closures in the batch see the earlier ones' writes, so
//     a stock checked and decremented by each closure can never be oversold across a batch.
//   - The call returns (or the task resumes) only once the batch's commit is durable under the
//     database's durability mode (`.full` and `.grouped` alike: after the log sync; `.relaxed`:
//     once committed, and a read then waits for the page writer to publish it). A closure that threw also waits, since what it saw (an earlier closure's
//     purchase, say) is only true once that commit is durable.
//   - If the batch cannot commit (an I/O error, a change that failed halfway and poisoned the
//     transaction), every caller in the batch gets that error and nothing of the batch is kept.
//     Nothing is retried.
// Bounds: at most `BatchLimits.maxCount` closures, a log record of at most about
// `maxLogBytes` (the closure that crosses it is the batch's last), and the batch thread waits
// at most `maxDelayMicroseconds` for more callers before starting a batch (0 by default: a batch
// is whoever queued while the previous one ran, so a lone caller is never delayed).
//
// Closures run on the batch thread with the writer lock held: they must not start another write
// (`write` or `batchWrite` throw `.nestedWriteTransaction` there), nor wait for other threads
// that write. The domain layer's operations join the running batch through `batchTransaction`.
// Because they run on another thread, nothing bound to the caller's thread is there: no
// thread-local or `@TaskLocal` values, no actor isolation (`MainActor.assumeIsolated` fails), no
// lock the caller holds. With `write(batching: .whenContended)` that is true only while others
// write, so such code would fail only under load: keep transaction closures free of it. A
// synchronous `batchWrite` called from a Swift task blocks its thread until the batch is durable;
// tasks should use the `async` form.

import Foundation
import Glibc
import Synchronization

/// Bounds on one batch of `batchWrite` callers.
public struct BatchLimits: Sendable {
    /// The most callers' closures in one batch.
    public var maxCount: Int
    /// A batch takes no more closures once its log record holds this many bytes.
    public var maxLogBytes: Int
    /// How long the batch thread waits for more callers when fewer than `maxCount` are queued.
    public var maxDelayMicroseconds: Int

    /// Limits; the defaults are 256 closures, 1 MiB of log and no wait.
    public init(maxCount: Int = 256, maxLogBytes: Int = 1 << 20, maxDelayMicroseconds: Int = 0) {
        self.maxCount = maxCount
        self.maxLogBytes = maxLogBytes
        self.maxDelayMicroseconds = maxDelayMicroseconds
    }
}

/// How the batches have gone since the database was opened.
public struct BatchStatistics: Sendable, Hashable {
    /// Batches committed (or failed).
    public var batches: Int
    /// Closures run in them.
    public var closures: Int
    /// The largest batch.
    public var largest: Int
    /// Closures per batch: mean and the 99th percentile.
    public var meanSize: Double
    /// The 99th percentile of closures per batch.
    public var p99Size: Int
}

/// How `write(_:batching:)` chooses between the plain and the batch path.
public enum Batching: Sendable {
    /// Always the plain path (`write`).
    case never
    /// Always the batch path (`batchWrite`).
    case always
    /// The batch path while at least two other `.whenContended` callers are in flight (or any
    /// caller is queued), else the plain one: a lone caller pays no hand-off to the batch thread,
    /// and two take turns at the writer lock (`Database.contendedBatchThreshold` says why).
    case whenContended
}

/// One caller's closure and how to tell it the outcome.
final class BatchRequest: @unchecked Sendable {
    /// The caller's closure; dropped as soon as it has run (or been refused), because the
    /// synchronous caller lent it with `withoutActuallyEscaping` and must get it back.
    private var body: ((WriteTransaction) throws -> Void)?
    private let onFinish: (Error?) -> Void
    /// What the closure threw (it was undone).
    var error: Error?

    init(run: @escaping (WriteTransaction) throws -> Void, finish: @escaping (Error?) -> Void) {
        self.body = run
        self.onFinish = finish
    }

    /// Runs the closure (once).
    func run(_ tx: WriteTransaction) throws {
        guard let body else { return }
        self.body = nil
        try body(tx)
    }

    /// Tells the caller the outcome (nil: the closure succeeded and its batch is durable).
    func finish(_ outcome: Error?) {
        body = nil
        onFinish(outcome)
    }
}

/// The queue, the batch thread and the sync thread of one database.
final class BatchCommitter: @unchecked Sendable {
    let limits: BatchLimits
    /// The database, lent for each batch and each sync (LentReference.swift).
    let link: LentReference<Database>
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var pending: [BatchRequest] = []
    private var committed: [(waitFor: UInt64?, requests: ArraySlice<BatchRequest>, failure: Error?)] = []
    private var started = false
    private var stopping = false
    private var executorDone = false
    private var syncerDone = false
    private var sizeCounts: [Int] = []
    private var batches = 0
    private var closures = 0
    /// The batch thread's id (0 before it starts), and the transaction it is running closures
    /// in; `current` is touched only on the batch thread.
    private let executorThread = Atomic<UInt>(0)
    private let syncThread = Atomic<UInt>(0)
    var current: WriteTransaction?

    init(limits: BatchLimits, link: LentReference<Database>) {
        self.link = link
        self.limits = BatchLimits(
            maxCount: max(1, limits.maxCount), maxLogBytes: max(1, limits.maxLogBytes),
            maxDelayMicroseconds: max(0, min(limits.maxDelayMicroseconds, 1_000_000)))
    }

    var isBatchThread: Bool { executorThread.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// Whether this is the sync thread, where a close cannot wait for the threads to end: the
    /// database's deinit runs there when the sync thread's loan held its last reference.
    var isSyncThread: Bool { syncThread.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// Callers queued and not yet taken into a batch: read on every contended-path decision, so
    /// kept beside `pending` in an atomic rather than read under the lock.
    private let queuedCount = Atomic<Int>(0)
    var queued: Int { queuedCount.load(ordering: .relaxed) }

    /// Whether `stop()` has begun.
    var isStopping: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopping
    }

    func submit(_ request: BatchRequest) throws {
        lock.lock()
        defer { lock.unlock() }
        if stopping { throw StoreError.closed }
        pending.append(request)
        queuedCount.store(pending.count, ordering: .relaxed)
        if !started {
            started = true
            startThreads()
        }
        lock.broadcast()
    }

    private func startThreads() {
        let executor = Thread { [self] in executorLoop() }
        executor.name = "vitrine-batch"
        executor.stackSize = 8 << 20
        executor.start()
        let syncer = Thread { [self] in syncerLoop() }
        syncer.name = "vitrine-batch-sync"
        syncer.start()
    }

    /// `stop()` for a `close()` running on the batch thread or the sync thread itself (its
    /// database's last reference dropped there, say): the threads are told to end, and end once
    /// this batch (or this sync) is over.
    func requestStop() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
    }

    /// Fails queued callers with `.closed`, lets a running batch finish and become durable, and
    /// waits for both threads to end. Called by `close()` before it takes the writer lock.
    func stop() {
        lock.lock()
        defer { lock.unlock() }
        stopping = true
        lock.broadcast()
        guard started else { return }
        while !(executorDone && syncerDone) { lock.wait() }
    }

    private func executorLoop() {
        executorThread.store(UInt(pthread_self()), ordering: .relaxed)
        lock.lock()
        while true {
            while pending.isEmpty && !stopping { lock.wait() }
            if stopping {
                let refused = pending
                pending = []
                queuedCount.store(0, ordering: .relaxed)
                lock.unlock()
                for r in refused { r.finish(StoreError.closed) }
                lock.lock()
                break
            }
            if limits.maxDelayMicroseconds > 0 && pending.count < limits.maxCount {
                let deadline = ContinuousClock.now.advanced(by: .microseconds(limits.maxDelayMicroseconds))
                while pending.count < limits.maxCount && !stopping {
                    let left = ContinuousClock.now.duration(to: deadline)
                    guard left > .zero else { break }
                    lock.wait(
                        microseconds: max(
                            1, Int(left.components.seconds) * 1_000_000 + Int(left.components.attoseconds / 1_000_000_000_000)))
                }
                // Stopped while waiting for stragglers: the queue is refused, not run (at the top).
                if stopping { continue }
            }
            let take = min(pending.count, limits.maxCount)
            let batch = Array(pending.prefix(take))
            pending.removeFirst(take)
            queuedCount.store(pending.count, ordering: .relaxed)
            lock.unlock()
            let leftover: ArraySlice<BatchRequest>
            if let rest = link.lend({ db in db.runBatch(batch, committer: self) }) {
                leftover = rest
            } else {
                for r in batch { r.finish(StoreError.closed) }
                leftover = []
            }
            lock.lock()
            if !leftover.isEmpty {
                pending.insert(contentsOf: leftover, at: 0)
                queuedCount.store(pending.count, ordering: .relaxed)
            }
        }
        executorDone = true
        // A later thread may get this id: it must not pass for the batch thread.
        executorThread.store(0, ordering: .relaxed)
        lock.broadcast()
        lock.unlock()
    }

    /// Hands a run batch to the sync thread (`waitFor`: the txid that must be durable first).
    func handOff(_ requests: ArraySlice<BatchRequest>, waitFor: UInt64?, failure: Error?) {
        lock.lock()
        committed.append((waitFor, requests, failure))
        batches += 1
        closures += requests.count
        if sizeCounts.count <= requests.count { sizeCounts += Array(repeating: 0, count: requests.count + 1 - sizeCounts.count) }
        sizeCounts[requests.count] += 1
        lock.broadcast()
        lock.unlock()
    }

    private func syncerLoop() {
        syncThread.store(UInt(pthread_self()), ordering: .relaxed)
        lock.lock()
        while true {
            while committed.isEmpty && !(stopping && executorDone) { lock.wait() }
            if committed.isEmpty { break }
            let items = committed
            committed = []
            lock.unlock()
            var syncFailure: Error? = nil
            var durableBefore: UInt64 = 0
            if let target = items.compactMap({ $0.failure == nil ? $0.waitFor : nil }).max() {
                let lent: Void? = link.lend { db in
                    do { try db.waitUntilDurable(target) } catch { syncFailure = error }
                    // A sync that failed may come after another committer's sync that did cover
                    // the earlier batches of this group: those are durable, and succeed.
                    if syncFailure != nil { durableBefore = db.durableTransactionId() }
                }
                if lent == nil { syncFailure = StoreError.closed }
            }
            for item in items {
                let durable = item.waitFor.map { $0 <= durableBefore } ?? true
                for r in item.requests { r.finish(item.failure ?? (durable ? nil : syncFailure) ?? r.error) }
            }
            lock.lock()
        }
        syncerDone = true
        syncThread.store(0, ordering: .relaxed)
        lock.broadcast()
        lock.unlock()
    }

    func statistics() -> BatchStatistics {
        lock.lock()
        defer { lock.unlock() }
        var p99 = 0
        var seen = 0
        let threshold = (batches * 99 + 99) / 100
        for (size, n) in sizeCounts.enumerated() where n > 0 {
            seen += n
            if seen >= threshold { p99 = size; break }
        }
        return BatchStatistics(
            batches: batches, closures: closures, largest: sizeCounts.lastIndex { $0 > 0 } ?? 0,
            meanSize: batches == 0 ? 0 : Double(closures) / Double(batches), p99Size: p99)
    }
}

/// Carries a closure's result from the batch thread back to its caller.
private final class ResultSlot<T>: @unchecked Sendable {
    var value: T?
}

extension Database {
    /// Runs `body` in the next batch: with other callers' closures, in one write transaction
    /// committed with one log write. See Batch.swift for the promises; in short, `body` runs
    /// exactly once on the batch thread in its own savepoint (a throw undoes only its changes
    /// and is rethrown here), sees the writes of the closures before it in the batch, and this
    /// call returns once the batch's commit is durable under the database's durability mode.
    /// - Throws: what `body` throws; `.nestedWriteTransaction` (inside a write or a batch
    ///   closure); `.closed`; `.needsReopen`; `.io` when the batch could not be made durable.
    public func batchWrite<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        if writer.isHeldByCurrentThread || batch.isBatchThread { throw StoreError.nestedWriteTransaction }
        try checkWritable()
        return try withoutActuallyEscaping(body) { body in
            // The closure escapes to the batch thread, but this call waits until the batch
            // thread has finished with it, so nothing it captures is used concurrently.
            let slot = ResultSlot<T>()
            let done = DispatchSemaphore(value: 0)
            let outcome = ResultSlot<Error?>()
            let request = BatchRequest(
                run: { tx in slot.value = try body(tx) },
                finish: { error in
                    outcome.value = error; done.signal()
                })
            try batch.submit(request)
            done.wait()
            if let error = outcome.value ?? nil { throw error }
            guard let value = slot.value else { throw StoreError.closed }
            return value
        }
    }

    /// `batchWrite` for Swift concurrency: the task is suspended, never blocking a thread of
    /// the cooperative pool, while its closure waits for its batch and the batch for the disk.
    /// Cancelling the task does not withdraw a queued closure.
    public func batchWrite<T: Sendable>(_ body: @escaping @Sendable (WriteTransaction) throws -> T) async throws -> T {
        if writer.isHeldByCurrentThread || batch.isBatchThread { throw StoreError.nestedWriteTransaction }
        try checkWritable()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            let slot = ResultSlot<T>()
            let request = BatchRequest(
                run: { tx in slot.value = try body(tx) },
                finish: { error in
                    if let error {
                        continuation.resume(throwing: error)
                    } else if let value = slot.value {
                        continuation.resume(returning: value)
                    } else {
                        continuation.resume(throwing: StoreError.closed)
                    }
                })
            do { try batch.submit(request) } catch { continuation.resume(throwing: error) }
        }
    }

    /// `write` or `batchWrite`, as `batching` says.
    public func write<T>(batching: Batching, _ body: (WriteTransaction) throws -> T) throws -> T {
        switch batching {
        case .never: return try write(body)
        case .always: return try batchWrite(body)
        case .whenContended:
            let before = writersInFlight.add(1, ordering: .relaxed).oldValue
            defer { writersInFlight.subtract(1, ordering: .relaxed) }
            return before < Self.contendedBatchThreshold && batch.queued == 0 ? try write(body) : try batchWrite(body)
        }
    }

    /// `.whenContended` takes the batch path once this many other `.whenContended` callers are
    /// in flight (`writersInFlight`). Why 2, not 1: the batch path hands each caller to the batch
    /// thread and back from the sync thread, two wake-ups that each wait for a core when the CPU
    /// is busy, and for two callers it saves at most one log write (in `.grouped` often not even
    /// that: two plain commits share a sync when the second record is in before the leader's
    /// write, formats/write-ahead-log.md 8.3). With 1, eight showcase readers
    /// beside two durable checkout writers on 2 cores (bench workload 9b) had the checkouts at
    /// 0.86 – 1.14 k/s; with 2, 1.63 – 3.27 k/s, and eight writers (6b, 7) batch as before
    /// (Benchmarks/README.md, session 16).
    static let contendedBatchThreshold = 2

    /// The batch transaction that the calling code runs inside: non-nil only on the batch
    /// thread while a `batchWrite` closure runs. The domain layer uses it so that an operation
    /// submitted whole to the batch (its validation and its transaction) joins the batch's
    /// transaction instead of starting a nested one.
    public var batchTransaction: WriteTransaction? {
        batch.isBatchThread ? batch.current : nil
    }

    /// How the batches have gone since the database was opened.
    public func batchStatistics() -> BatchStatistics { batch.statistics() }

    /// Runs one batch on the batch thread (see Batch.swift): every closure in its own savepoint,
    /// until the count or byte bound; one commit; the outcome handed to the sync thread.
    /// Returns the callers not taken (over the byte bound), to run first in the next batch.
    func runBatch(_ requests: [BatchRequest], committer: BatchCommitter) -> ArraySlice<BatchRequest> {
        var ran = requests.count
        var waitFor: UInt64? = nil
        var failure: Error? = nil
        writer.lock()
        do {
            defer { writer.unlock() }
            let tx = try beginWriteTransaction()
            defer { tx.recyclePages() }
            committer.current = tx
            defer { committer.current = nil }
            for (i, r) in requests.enumerated() {
                if i > 0 && tx.log.byteCount >= committer.limits.maxLogBytes {
                    ran = i
                    break
                }
                do { try tx.savepoint { try r.run(tx) } } catch { r.error = error }
                if tx.failure != nil {
                    ran = i + 1
                    break
                }
            }
            committer.current = nil
            tx.close()
            if let f = tx.failure {
                tx.rollback()
                throw f
            }
            if tx.hasChanges {
                waitFor = try commit(tx, deferringSync: true)
            } else {
                tx.rollback()
                waitFor = stateRead(by: tx)
            }
        } catch {
            failure = error
        }
        // A close() from one of the closures runs before the callers are answered: it makes the
        // batch durable (or it already is) and releases the files, so a caller that reopens the
        // database after its batchWrite returns finds it unlocked.
        closeIfRequested()
        committer.handOff(requests[..<ran], waitFor: waitFor, failure: failure)
        afterBatchHandOff?()
        return requests[ran...]
    }
}
