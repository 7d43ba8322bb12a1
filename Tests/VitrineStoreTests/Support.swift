import Foundation

@testable import VitrineStore

/// A fresh temporary directory, removed when the value is dropped... by the caller's `defer`.
struct TempDir {
    let path: String
    init() {
        let base = FileManager.default.temporaryDirectory.path
        path = base + "/vitrine-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String = "test.db") -> String { path + "/" + name }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Starts `count` real threads (not a GCD pool, which on a 2-core machine runs only two blocking
/// workers at once) running `body(index)`; `join` waits for all of them.
final class ThreadGroup: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var started = 0

    func spawn(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        for i in 0..<count {
            started += 1
            let t = Thread { [done] in
                body(i)
                done.signal()
            }
            t.stackSize = 4 << 20
            t.start()
        }
    }

    func join() {
        for _ in 0..<started { done.wait() }
        started = 0
    }
}
