// How the sweeps (expired holds, expired idempotency keys, idle guests) split their work into
// transactions.
//
// A sweep call processes at most the caller's `limit` items (1...1000), but not in one
// transaction: a backend may refuse a large one (etcd refuses a commit of more than its
// `--max-txn-ops` compares or writes, 2048 in scripts/etcd-cluster.sh, before sending it;
// FoundationDB bounds a transaction's size and time). The storage protocol does not say a
// backend's limits, so each sweep takes a fixed, conservative chunk per transaction, sized so the
// keys it reads and the keys it writes stay well under 1000 each (etcd's own default is 128
// operations; a store on such a cluster needs its limit raised anyway, for a 50-line checkout).
//
// Each chunk is its own transaction, all with the call's one `now`: a call that fails part-way
// keeps the chunks before it, which is harmless (every sweep only removes what is already dead,
// and is idempotent). A chunk processes the oldest entries of its index and removes or skips
// each one it reads, so the next chunk starts past it; the call stops at `limit` items or at a
// chunk that found fewer than it asked for (nothing more is due).

extension Store {
    /// Items per transaction of the hold and idempotency sweeps: each item reads at most 2 keys
    /// and clears at most 2, so a chunk stays near 500 reads and 500 writes.
    static var sweepChunk: Int { 250 }

    /// Runs `chunk` in transactions until `limit` items were processed or one chunk processed
    /// fewer than it was given. `chunk(n)` processes at most `n` items and returns how many it
    /// processed and what it made of them (a chunk's result is kept only once its transaction
    /// committed, so a body the backend runs again is counted once).
    /// - Returns: every committed chunk's result, in order.
    func inChunks<Result>(
        limit: Int, chunkSize: Int, _ chunk: (_ size: Int, _ tx: Backend.Writer) throws -> (processed: Int, result: Result)
    ) throws -> [Result] {
        var processed = 0
        var results: [Result] = []
        while processed < limit {
            let size = min(chunkSize, limit - processed)
            let done = try backend.write { tx in try chunk(size, tx) }
            processed += done.processed
            results.append(done.result)
            if done.processed < size { break }
        }
        return results
    }

    /// `inChunks` for the sweeps: each chunk says how many of its items it removed.
    /// - Returns: the sum of the counts.
    func sweepInChunks(
        limit: Int, chunkSize: Int, _ chunk: (_ size: Int, _ tx: Backend.Writer) throws -> (processed: Int, counted: Int)
    ) throws -> Int {
        try inChunks(limit: limit, chunkSize: chunkSize) { size, tx in
            let done = try chunk(size, tx)
            return (done.processed, done.counted)
        }.reduce(0, +)
    }
}
