// How a background thread of a database (the relaxed mode's flusher, the batch thread and the
// batch sync thread) reaches it without keeping it alive, and without a `weak` reference.
//
// Why not `weak`: the first weak reference to an object gives it a side table, and from then on
// every retain and release of that object takes the runtime's slow path (an indirection to the
// side table's count). A `Database` is retained and released inside every put (the write
// transaction's accesses to its allocator and options) and every read transaction, so its side
// table cost a 1,000,000-product bulk load ~12% (load harness, alternating runs: random-order
// 236 -> 269 k/s, in-order 1.87 -> 2.10 M/s; bench: random-order 0.75x -> 0.85x LMDB).
//
// The link gives weak's guarantee by hand:
//   - `lend` hands the database to a thread for the length of a closure, with a retain taken
//     under the link's lock, or gives nil once `sever` has run;
//   - `sever` is the first thing the database's deinit does (Database.swift). It waits until
//     every other thread's loan is over, its retain given back included, so the deinit goes on
//     (closing files, freeing memory) only after every borrower is done with the object. A loan
//     taken between the last release and `sever` borrows an object whose deinit is waiting for
//     it: its fields are all intact, and its balanced retain and release cannot start a second
//     deinit (the runtime counts a deiniting object's retains without deiniting it again). Its
//     release must come before `sever` returns: after the deinit, it would reach freed memory
//     (found by review: the first version counted the loan off first);
//   - a loan's release may be the database's last: the deinit then runs on the borrowing thread,
//     inside `lend` but after the closure, and `sever` does not wait for that thread's own loan.
//     `close()` then must not wait for that thread either (it checks `isBatchThread` /
//     `isSyncThread`, Database.swift), and the thread must not touch the database after the
//     loan (it cannot: it only had the closure's).

import Glibc

/// An object as the background threads it owns see it: lent to them, never kept alive by them
/// (see the top of the file). `Database` is the one user; generic so that a test can drive it.
final class LentReference<Target: AnyObject>: @unchecked Sendable {
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var target: Unmanaged<Target>?
    /// The thread of each loan in flight (one entry per loan).
    private var borrowers: [pthread_t] = []
    private var severed = false
    private var hooks: (afterLoanTaken: (@Sendable () -> Void)?, beforeLoanRelease: (@Sendable () -> Void)?)

    /// Test hooks: run in `lend` once the loan is taken, and just before its retain is given
    /// back. Set under the lock, since a background thread may be lending meanwhile.
    func setHooks(afterLoanTaken: (@Sendable () -> Void)? = nil, beforeLoanRelease: (@Sendable () -> Void)? = nil) {
        lock.lock()
        hooks = (afterLoanTaken, beforeLoanRelease)
        lock.unlock()
    }

    /// Called once, at the end of the target's initializer.
    func attach(_ object: Target) {
        lock.lock()
        if !severed { target = Unmanaged.passUnretained(object) }
        lock.unlock()
    }

    /// Runs `body` with the target, or returns nil once its deinit has begun.
    func lend<T>(_ body: (Target) throws -> T) rethrows -> T? {
        lock.lock()
        guard let target else {
            lock.unlock()
            return nil
        }
        _ = target.retain()
        let me = pthread_self()
        borrowers.append(me)
        let hooks = self.hooks
        lock.unlock()
        hooks.afterLoanTaken?()
        defer {
            hooks.beforeLoanRelease?()
            // First: if this was the target's last reference, its deinit runs here (and its
            // `sever` does not wait for this loan).
            target.release()
            lock.lock()
            if let i = borrowers.firstIndex(where: { pthread_equal($0, me) != 0 }) { borrowers.remove(at: i) }
            lock.broadcast()
            lock.unlock()
        }
        return try body(target.takeUnretainedValue())
    }

    /// Refuses every later loan and waits for those of other threads in flight (the target's
    /// deinit).
    func sever() {
        lock.lock()
        target = nil
        severed = true
        lock.broadcast()
        let me = pthread_self()
        while borrowers.contains(where: { pthread_equal($0, me) == 0 }) { lock.wait() }
        lock.unlock()
    }

    /// Whether `sever` has begun (tests wait for it).
    var isSevered: Bool {
        lock.lock()
        defer { lock.unlock() }
        return severed
    }
}
