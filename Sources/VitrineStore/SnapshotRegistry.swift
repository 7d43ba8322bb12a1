// Where readers find the published snapshot and say which snapshot they hold, without a lock.
//
// Why lock-free: a read transaction used to take a mutex twice (to copy the snapshot and register,
// then to deregister). With more threads than cores, a thread preempted while holding it stalls
// every other reader; with 8 readers and 2 writers on 2 cores a third of the time went to spinning
// on that mutex and readers ran 5x slower than alone. LMDB avoids this with a reader table; so
// do we:
//
// - The published snapshot sits behind a sequence lock: a publisher (serialized by a small mutex
//   that readers never take) makes `sequence` odd, stores the fields, makes it even again; a
//   reader copies the fields between two reads of an even, unchanged `sequence`.
// - Each reader claims a slot and stores its snapshot's txid + 1 there (0 = free), then checks
//   that nothing was published meanwhile (`sequence` unchanged; else it retries). The writer
//   takes the minimum over the slots and the published txid as the oldest snapshot in use; a page
//   freed by a transaction F is reused only once that minimum is at least F (PageAllocator rule 2).
//   A reader that registered T and then saw T still published is covered: any later scan sees
//   its slot, and any earlier scan saw a published txid of at most T. The check is on the
//   sequence, not the txid, because a checkpoint that cuts the file's tail republishes the same
//   txid with fewer pages (Shrink.swift): a reader must not register the longer one unseen.
// - `closed` is set before `close()` waits for the slots to empty, and a reader checks it after
//   claiming its slot, so either the reader sees it and backs out, or `close()` sees the reader.
// - Each slot also records the thread that holds it (written and read only by that thread, so
//   relaxed), which lets `close()` tell that it was called from inside a read of its own thread:
//   waiting for that reader would wait forever.
// All atomics are sequentially consistent: x86 loads stay plain loads, and only publishers and
// slot claims pay for stronger stores.

import Glibc
import Synchronization

final class SnapshotRegistry: @unchecked Sendable {
    private let sequence = Atomic<UInt64>(0)
    private let txid: Atomic<UInt64>
    private let catalogRoot: Atomic<UInt64>
    private let pageCount: Atomic<UInt64>
    private let nextTableId: Atomic<UInt64>
    private let mapBase: Atomic<UInt>
    private let mapPages: Atomic<UInt64>
    private let publishers = Mutex<Void>(())

    private static let slotCount = 128
    /// txid + 1 of the snapshot a reader holds; 0 = free.
    private let slots: UnsafeMutablePointer<Atomic<UInt64>>
    /// The thread holding each slot (0 = none).
    private let owners: UnsafeMutablePointer<Atomic<UInt>>
    /// Readers beyond the slots (more than `slotCount` at once): txid -> count, thread -> count.
    private let overflow = Mutex<(readers: [UInt64: Int], threads: [UInt: Int])>(([:], [:]))
    private let overflowCount = Atomic<Int>(0)
    private let closedFlag = Atomic<Bool>(false)

    init(_ s: Snapshot) {
        txid = Atomic(s.txid)
        catalogRoot = Atomic(s.catalogRoot)
        pageCount = Atomic(s.pageCount)
        nextTableId = Atomic(s.nextTableId)
        mapBase = Atomic(UInt(bitPattern: s.mapping.base))
        mapPages = Atomic(s.mapping.pageCapacity)
        slots = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: Self.slotCount)
        for i in 0..<Self.slotCount { (slots + i).initialize(to: Atomic(0)) }
        owners = UnsafeMutablePointer<Atomic<UInt>>.allocate(capacity: Self.slotCount)
        for i in 0..<Self.slotCount { (owners + i).initialize(to: Atomic(0)) }
    }

    deinit {
        slots.deinitialize(count: Self.slotCount)
        slots.deallocate()
        owners.deinitialize(count: Self.slotCount)
        owners.deallocate()
    }

    // MARK: - Publishing

    /// Makes `s` the snapshot new readers get, unless a newer one is already published; or,
    /// `onlyIfNewer`, unless one as new is. The writer (which holds the latest state) republishes
    /// a txid when a checkpoint changed its page count; a group-commit leader, outside the
    /// writer lock, may hold an older copy of that txid and must not bring it back.
    func publish(_ s: Snapshot, onlyIfNewer: Bool = false) {
        publishers.withLock { _ in
            let current = txid.load(ordering: .sequentiallyConsistent)
            guard s.txid > current || (s.txid == current && !onlyIfNewer) else { return }
            let n = sequence.load(ordering: .sequentiallyConsistent)
            sequence.store(n &+ 1, ordering: .sequentiallyConsistent)
            txid.store(s.txid, ordering: .sequentiallyConsistent)
            catalogRoot.store(s.catalogRoot, ordering: .sequentiallyConsistent)
            pageCount.store(s.pageCount, ordering: .sequentiallyConsistent)
            nextTableId.store(s.nextTableId, ordering: .sequentiallyConsistent)
            mapBase.store(UInt(bitPattern: s.mapping.base), ordering: .sequentiallyConsistent)
            mapPages.store(s.mapping.pageCapacity, ordering: .sequentiallyConsistent)
            sequence.store(n &+ 2, ordering: .sequentiallyConsistent)
        }
    }

    /// The published snapshot.
    var published: Snapshot { publishedWithSequence.snapshot }

    /// The published snapshot and the publication it came from.
    private var publishedWithSequence: (snapshot: Snapshot, sequence: UInt64) {
        var attempts = 0
        while true {
            attempts += 1
            // A publisher preempted mid-update holds readers here: let it run.
            if attempts % 64 == 0 { sched_yield() }
            let before = sequence.load(ordering: .sequentiallyConsistent)
            if before & 1 != 0 { continue }
            let s = Snapshot(
                txid: txid.load(ordering: .sequentiallyConsistent),
                catalogRoot: catalogRoot.load(ordering: .sequentiallyConsistent),
                pageCount: pageCount.load(ordering: .sequentiallyConsistent),
                nextTableId: nextTableId.load(ordering: .sequentiallyConsistent),
                base: mapBase.load(ordering: .sequentiallyConsistent),
                mapPages: mapPages.load(ordering: .sequentiallyConsistent))
            if sequence.load(ordering: .sequentiallyConsistent) == before, let s { return (s, before) }
        }
    }

    var publishedTxid: UInt64 { txid.load(ordering: .sequentiallyConsistent) }

    // MARK: - Readers

    /// A registered reader: release it with `leave`.
    struct Ticket {
        fileprivate let slot: Int // -1: in `overflow`
        let snapshot: Snapshot
    }

    /// Registers a reader on the published snapshot.
    /// - Throws: `.closed` once `close` has begun.
    func enter() throws -> Ticket {
        while true {
            let (s, publication) = publishedWithSequence
            let ticket = claim(s)
            if closedFlag.load(ordering: .sequentiallyConsistent) {
                leave(ticket)
                throw StoreError.closed
            }
            if sequence.load(ordering: .sequentiallyConsistent) == publication { return ticket }
            leave(ticket)
        }
    }

    private func claim(_ s: Snapshot) -> Ticket {
        // Start at a slot picked by the thread so that threads rarely contend for one.
        let thread = UInt(pthread_self())
        let start = Int((thread >> 8) % UInt(Self.slotCount))
        for k in 0..<Self.slotCount {
            let i = (start + k) % Self.slotCount
            if slots[i].compareExchange(expected: 0, desired: s.txid &+ 1, ordering: .sequentiallyConsistent).exchanged {
                owners[i].store(thread, ordering: .relaxed)
                return Ticket(slot: i, snapshot: s)
            }
        }
        overflow.withLock {
            $0.readers[s.txid, default: 0] += 1
            $0.threads[thread, default: 0] += 1
        }
        overflowCount.add(1, ordering: .sequentiallyConsistent)
        return Ticket(slot: -1, snapshot: s)
    }

    func leave(_ ticket: Ticket) {
        if ticket.slot >= 0 {
            owners[ticket.slot].store(0, ordering: .relaxed)
            slots[ticket.slot].store(0, ordering: .sequentiallyConsistent)
            return
        }
        overflow.withLock { o in
            let t = ticket.snapshot.txid
            if let n = o.readers[t] { if n <= 1 { o.readers.removeValue(forKey: t) } else { o.readers[t] = n - 1 } }
            let thread = UInt(pthread_self())
            if let n = o.threads[thread] { if n <= 1 { o.threads.removeValue(forKey: thread) } else { o.threads[thread] = n - 1 } }
        }
        overflowCount.subtract(1, ordering: .sequentiallyConsistent)
    }

    /// The oldest snapshot any reader holds or may start on.
    func oldest() -> UInt64 {
        var oldest = publishedTxid
        for i in 0..<Self.slotCount {
            let v = slots[i].load(ordering: .sequentiallyConsistent)
            if v != 0 && v - 1 < oldest { oldest = v - 1 }
        }
        if overflowCount.load(ordering: .sequentiallyConsistent) > 0 {
            overflow.withLock { for t in $0.readers.keys where t < oldest { oldest = t } }
        }
        return oldest
    }

    /// The oldest snapshot a registered reader holds, or nil when no reader is registered.
    func oldestReader() -> UInt64? {
        var oldest: UInt64? = nil
        for i in 0..<Self.slotCount {
            let v = slots[i].load(ordering: .sequentiallyConsistent)
            if v != 0 && v - 1 < (oldest ?? .max) { oldest = v - 1 }
        }
        if overflowCount.load(ordering: .sequentiallyConsistent) > 0 {
            overflow.withLock { for t in $0.readers.keys where t < (oldest ?? .max) { oldest = t } }
        }
        return oldest
    }

    var hasReaders: Bool {
        if overflowCount.load(ordering: .sequentiallyConsistent) > 0 { return true }
        for i in 0..<Self.slotCount where slots[i].load(ordering: .sequentiallyConsistent) != 0 { return true }
        return false
    }

    /// Whether the calling thread is inside a read (of this database).
    var isHeldByCurrentThread: Bool {
        let thread = UInt(pthread_self())
        for i in 0..<Self.slotCount where owners[i].load(ordering: .relaxed) == thread {
            if slots[i].load(ordering: .sequentiallyConsistent) != 0 { return true }
        }
        if overflowCount.load(ordering: .sequentiallyConsistent) > 0 {
            return overflow.withLock { $0.threads[thread] != nil }
        }
        return false
    }

    // MARK: - Closing

    var isClosed: Bool { closedFlag.load(ordering: .sequentiallyConsistent) }

    /// Marks the registry closed; returns whether it already was.
    func markClosed() -> Bool {
        closedFlag.exchange(true, ordering: .sequentiallyConsistent)
    }
}

extension Snapshot {
    fileprivate init?(txid: UInt64, catalogRoot: UInt64, pageCount: UInt64, nextTableId: UInt64, base: UInt, mapPages: UInt64) {
        guard let pointer = UnsafeRawPointer(bitPattern: base) else { return nil }
        self.init(
            txid: txid, catalogRoot: catalogRoot, pageCount: pageCount, nextTableId: nextTableId,
            mapping: Mapping(base: pointer, pageCapacity: mapPages))
    }
}
