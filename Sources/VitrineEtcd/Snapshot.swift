// The reads of one transaction: all at one revision, and (in a write transaction) remembered
// so that the commit can prove they still hold.
//
// Revision: the first read is a linearizable range read at the cluster's current revision; the
// answer's header revision R becomes the transaction's, and every later read asks for revision
// R (a serializable read: the member's own MVCC state at R, no round trip to the leader). So a
// transaction sees one committed state, no older than the moment it started.
//
// Read set (write transactions only), in full keys (prefix included):
//   keyReads:   key -> the mod_revision seen (0: the key was absent). Every key a read returned,
//               or a `get` found missing.
//   rangeReads: [begin, end) extents that a range read scanned in the database (up to the last
//               key returned when the read stopped at its limit).
// The commit turns them into compares (EtcdTransaction.swift): a key changed or deleted fails
// its own compare, a key inserted into a scanned extent fails the extent's "every key has
// mod_revision < R+1" compare.

import Foundation

final class Snapshot {
    let client: EtcdClient
    let prefix: [UInt8]
    let recordsReads: Bool
    private(set) var revision: Int64?
    private(set) var keyReads: [[UInt8]: Int64] = [:]
    private(set) var rangeReads: [(begin: [UInt8], end: [UInt8])] = []
    /// The first error a read threw: a transaction whose body swallowed it must not commit.
    private(set) var failure: Error?
    var isOpen = true

    init(client: EtcdClient, prefix: [UInt8], recordsReads: Bool) {
        self.client = client
        self.prefix = prefix
        self.recordsReads = recordsReads
    }

    func full(_ key: [UInt8]) -> [UInt8] { prefix + key }

    /// The value under a domain key at the snapshot's revision.
    func get(_ key: [UInt8]) throws -> [UInt8]? {
        let k = full(key)
        let answer = try range(["key": Wire.b64(k)])
        guard answer.pairs.count <= 1 else {
            throw EtcdError.malformedResponse(endpoint: "", reason: "a single-key read returned \(answer.pairs.count) pairs")
        }
        let pair = answer.pairs.first
        if let pair, pair.key != k {
            throw EtcdError.malformedResponse(endpoint: "", reason: "a single-key read returned another key")
        }
        if recordsReads { keyReads[k] = pair?.modRevision ?? 0 }
        return pair?.value
    }

    /// Pairs of domain keys in [begin, end) (both domain keys, begin < end), at most `limit`
    /// (0: all), descending when `reverse`; `more` when the range holds more than returned.
    func scan(_ begin: [UInt8], _ end: [UInt8], limit: Int, reverse: Bool) throws -> (pairs: [Wire.Pair], more: Bool) {
        let b = full(begin), e = full(end)
        var request: [String: Any] = ["key": Wire.b64(b), "range_end": Wire.b64(e)]
        if limit > 0 { request["limit"] = String(limit) }
        if reverse {
            request["sort_order"] = "DESCEND"
            request["sort_target"] = "KEY"
        }
        var answer = try range(request)
        // Untrusted: every key inside the range, in the order asked for; then the prefix goes.
        var previous: [UInt8]? = nil
        for i in answer.pairs.indices {
            let k = answer.pairs[i].key
            guard !k.lexicographicallyPrecedes(b), k.lexicographicallyPrecedes(e) else {
                throw EtcdError.malformedResponse(endpoint: "", reason: "a range read returned a key outside the range")
            }
            if let previous {
                guard reverse ? k.lexicographicallyPrecedes(previous) : previous.lexicographicallyPrecedes(k) else {
                    throw EtcdError.malformedResponse(endpoint: "", reason: "a range read returned keys out of order")
                }
            }
            previous = k
            if recordsReads { keyReads[k] = answer.pairs[i].modRevision }
            answer.pairs[i].key = Array(k.dropFirst(prefix.count))
        }
        if limit > 0, answer.pairs.count > limit {
            throw EtcdError.malformedResponse(endpoint: "", reason: "a range read returned more pairs than its limit")
        }
        if answer.more && answer.pairs.isEmpty {
            throw EtcdError.malformedResponse(endpoint: "", reason: "a range read said 'more' and returned nothing")
        }
        if recordsReads {
            // The extent scanned: to the last key returned when there is more, else all of it.
            if answer.more, let last = answer.pairs.last {
                let lastFull = full(last.key)
                rangeReads.append(reverse ? (lastFull, e) : (b, lastFull + [0]))
            } else {
                rangeReads.append((b, e))
            }
        }
        return answer
    }

    private func range(_ request: [String: Any]) throws -> (pairs: [Wire.Pair], more: Bool) {
        guard isOpen else { throw EtcdError.transactionClosed }
        do {
            var request = request
            if let revision {
                // R is committed (a linearizable read returned it), so any member that has applied
                // R answers for it alone, without asking the leader; one that has not says
                // "future revision", and the read moves to the next member.
                request["revision"] = String(revision)
                request["serializable"] = true
            }
            let object = try client.call("/v3/kv/range", try Wire.json(request), kind: .read)
            let answerRevision = try Wire.revision(object, endpoint: "range")
            if revision == nil { revision = answerRevision }
            return try Wire.pairs(object, endpoint: "range")
        } catch let error as EtcdError {
            let e: EtcdError
            if case .snapshotCompacted = error { e = .snapshotCompacted(revision: revision ?? -1) } else { e = error }
            if failure == nil { failure = e }
            throw e
        } catch {
            if failure == nil { failure = error }
            throw error
        }
    }
}
