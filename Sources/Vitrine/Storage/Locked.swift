// A value behind a lock, for the few pieces of shared mutable state in the library.
//
// Invariant: `value` is only touched while `lock` is held. `Value: Sendable`, so handing a copy
// out of `withLock` cannot create a data race; this is what makes the `@unchecked` sound.
// (`Synchronization.Mutex` would do the same, but needs macOS 15 where the package names no
// platform; NSLock works everywhere Foundation does.)

import Foundation

final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
