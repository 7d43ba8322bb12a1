// The thread that makes a background checkpoint durable (Checkpoint.swift): fdatasync of the
// data file (every page of the checkpoint's state, and its free list, was written before it
// was handed over), the meta page into its slot, fdatasync again. Nothing else: the writer
// starts a job and later asks whether it is done, under the writer lock; the job's outcome is
// all it shares.
//
// Its writes go to the data file beside the page writer's (another offset: the meta slot is
// no page's), and its syncs make those durable too, which is harmless: a sync only ever adds
// durability.

import Foundation
import Synchronization

final class Checkpointer: @unchecked Sendable {
    private let file: StorageFile
    private let lock = ConditionLock()
    // Under `lock`:
    private var job: (meta: [UInt8], offset: Int64)?
    private var busy = false
    private var outcome: Error?
    private var stopping = false
    private var running = true
    /// The job handed over is done (one atomic load for the commit that asks).
    private let done = Atomic<Bool>(true)

    init(file: StorageFile) {
        self.file = file
        let thread = Thread { [self] in run() }
        thread.name = "vitrine-checkpointer"
        thread.start()
    }

    /// Hands over a checkpoint: sync, write `meta` at `offset`, sync. The previous job must
    /// have been waited for.
    func start(meta: [UInt8], at offset: Int64) {
        lock.lock()
        job = (meta, offset)
        busy = true
        outcome = nil
        done.store(false, ordering: .sequentiallyConsistent)
        lock.broadcast()
        lock.unlock()
    }

    /// Whether the job handed over is done (or none was).
    var isFinished: Bool { done.load(ordering: .sequentiallyConsistent) }

    /// Waits for the job handed over; returns its failure, or nil once its meta page is durable.
    func wait() -> Error? {
        lock.lock()
        defer { lock.unlock() }
        while busy && running { lock.wait() }
        if busy { return StoreError.closed }
        return outcome
    }

    /// Finishes the job handed over, if any, then ends the thread.
    func stop() {
        lock.lock()
        stopping = true
        lock.broadcast()
        while running { lock.wait() }
        lock.unlock()
    }

    private func run() {
        lock.lock()
        while true {
            while job == nil && !stopping { lock.wait() }
            guard let (meta, offset) = job else { break }
            job = nil
            lock.unlock()
            var failure: Error? = nil
            do {
                try file.sync()
                try file.write(meta, at: offset)
                try file.sync()
            } catch {
                failure = error
            }
            lock.lock()
            outcome = failure
            busy = false
            done.store(true, ordering: .sequentiallyConsistent)
            lock.broadcast()
        }
        running = false
        lock.broadcast()
        lock.unlock()
    }
}
