// Which pages may be written. The rules that make copy-on-write safe for both concurrent
// readers and crash recovery:
//
// (1) A page reachable from the last durable checkpoint is never overwritten before the next
//     checkpoint is durable. Recovery starts from that checkpoint and re-executes the log, so
//     its pages must stay intact. Such pages, when freed, wait in `frozen` until a checkpoint.
// (2) A page freed by transaction F is not overwritten while a snapshot older than F exists
//     (it can still reach the page). Such pages wait in `pending`, tagged with F, until the
//     oldest live snapshot (and the published state) is at least F.
// (3) A page both allocated and freed since the last checkpoint (a short-lived copy made by
//     copy-on-write) is subject to (2) only, so a busy page is recycled between checkpoints
//     instead of growing the file: the page cache sees the same few pages rewritten.
//
// Everything free (reusable + pending + frozen) is written to the free-list chain at each
// checkpoint; recovery rebuilds the in-memory state from there by re-executing the log.
//
// (4) Reusable pages at the very end of the file are no page's business at all: a checkpoint
//     cuts them off (`trimReusableTail`), so the file shrinks when its tail empties (Shrink.swift).
//
// Only the writer touches the allocator (under the writer lock).

struct PageAllocator {
    /// Pages [0, pageCount) exist; new pages come from the end.
    var pageCount: UInt64
    /// Free pages that may be written now (LIFO; loaded ascending-last so early pages go first).
    var reusable: [PageNumber]
    /// Pages freed by a transaction some snapshot may still see: (freed by txid, pages), FIFO.
    var pending: [(freedBy: UInt64, pages: [PageNumber])] = []
    private var pendingHead = 0
    /// Checkpoint pages freed since the last checkpoint (rule 1).
    var frozen: [PageNumber] = []
    /// Pages allocated since the last checkpoint (rule 3).
    var allocatedSinceCheckpoint = PageNumberSet()
    /// The free-list chain of the last checkpoint; freed once the next checkpoint is durable.
    var checkpointChain: [PageNumber]

    /// `free` is taken (its callers are done with it), so the sort works on its storage.
    init(pageCount: UInt64, free: consuming [PageNumber], chain: [PageNumber]) {
        self.pageCount = pageCount
        PageNumberSort.sort(&free, descending: true)
        self.reusable = free
        self.checkpointChain = chain
    }

    var pendingCount: Int { pending[pendingHead...].reduce(0) { $0 + $1.pages.count } }
    var freeCount: Int { reusable.count + pendingCount + frozen.count }

    /// Moves pending pages whose freeing transaction every snapshot has passed into `reusable`.
    mutating func release(upTo oldestSnapshot: UInt64) {
        var released = 0
        while pendingHead < pending.count && pending[pendingHead].freedBy <= oldestSnapshot {
            reusable.append(contentsOf: pending[pendingHead].pages)
            released += pending[pendingHead].pages.count
            pending[pendingHead].pages = []
            pendingHead += 1
        }
        // After a big release (a checkpoint's frozen pages, a large transaction's), order the
        // stack so pops give ascending page numbers: a transaction's pages then form runs that
        // its commit writes with few pwrites (`Pager.writeRunPages` pages each), and low pages
        // are reused first. Small releases (the few pages of each small commit) keep LIFO
        // order: hot pages come back.
        if released >= 256 { PageNumberSort.sort(&reusable, descending: true) }
        if pendingHead > 64 && pendingHead * 2 > pending.count {
            pending.removeFirst(pendingHead)
            pendingHead = 0
        }
    }

    mutating func allocate() -> PageNumber {
        let page: PageNumber
        if let p = reusable.popLast() {
            page = p
        } else {
            page = pageCount
            pageCount += 1
        }
        allocatedSinceCheckpoint.insert(page)
        return page
    }

    /// Records pages a committed transaction `txid` stopped using.
    mutating func free(_ pages: [PageNumber], by txid: UInt64) {
        var recyclable: [PageNumber] = []
        for p in pages {
            if allocatedSinceCheckpoint.contains(p) { recyclable.append(p) } else { frozen.append(p) }
        }
        if !recyclable.isEmpty { pending.append((txid, recyclable)) }
    }

    /// Every free page, for the checkpoint's free list.
    func allFree() -> [PageNumber] {
        var all = reusable
        for entry in pending[pendingHead...] { all.append(contentsOf: entry.pages) }
        all.append(contentsOf: frozen)
        return all
    }

    /// After a checkpoint at `txid` is durable: its pages are the new base, frozen pages are
    /// released under rule (2) only, and the previous chain becomes free.
    mutating func checkpointed(at txid: UInt64, newChain: [PageNumber]) {
        if !frozen.isEmpty { pending.append((txid, frozen)) }
        frozen = []
        reusable.append(contentsOf: checkpointChain)
        checkpointChain = newChain
        allocatedSinceCheckpoint.removeAll()
    }

    /// A background checkpoint of the current state began (Checkpoint.swift). From now on its
    /// tree is the one rule 1 protects, as well as the last durable checkpoint's until its meta
    /// page is durable: a page freed from now on is frozen unless it was allocated after this
    /// point (rule 3 counts from here). Returns the pages frozen so far (the last checkpoint's,
    /// freed before this one), which `finishCheckpoint` releases.
    mutating func beginCheckpoint() -> [PageNumber] {
        let before = frozen
        frozen = []
        allocatedSinceCheckpoint.removeAll()
        return before
    }

    /// The background checkpoint at `txid` is durable: the previous checkpoint's pages freed
    /// before it began are released under rule (2) only, and the previous chain becomes free.
    /// Pages frozen since it began stay frozen: they belong to its tree.
    mutating func finishCheckpoint(at txid: UInt64, frozenBefore: [PageNumber], newChain: [PageNumber]) {
        if !frozenBefore.isEmpty { pending.append((txid, frozenBefore)) }
        reusable.append(contentsOf: checkpointChain)
        checkpointChain = newChain
    }

    /// Gives up the free pages at the end of the file: the longest run of `reusable` pages that
    /// ends at `pageCount`, when it holds at least `minimumPages` (a shorter one is left, so a
    /// file that merely breathes is not cut and regrown). Returns how many pages it cut.
    ///
    /// Only `reusable` pages qualify: no snapshot can reach them (rule 2) and the last
    /// checkpoint does not use them (rule 1), so nothing can read them once cut.
    mutating func trimReusableTail(minimumPages: Int) -> Int {
        // A tail needs the last page free: one pass finds whether it is, before any set is built.
        guard hasReusableTail else { return 0 }
        var free = PageNumberSet()
        for p in reusable { free.insert(p) }
        var end = pageCount
        while end > 2 && free.contains(end - 1) { end -= 1 }
        let cut = Int(pageCount - end)
        guard cut >= max(1, minimumPages) else { return 0 }
        reusable.removeAll { $0 >= end }
        for p in end..<pageCount { allocatedSinceCheckpoint.remove(p) }
        pageCount = end
        return cut
    }

    /// Whether the file's last page is reusable (so `trimReusableTail` would cut something).
    var hasReusableTail: Bool { pageCount > 2 && reusable.contains(pageCount - 1) }

    /// Undo state for a transaction that rolls back.
    struct Savepoint {
        var pageCount: UInt64
    }

    func savepoint() -> Savepoint { Savepoint(pageCount: pageCount) }
}
