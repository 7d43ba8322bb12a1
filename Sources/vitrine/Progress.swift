// Progress of long work on stderr, only when stderr is a terminal (isatty); silent otherwise.

import Foundation

struct ProgressLine {
    let enabled = isatty(STDERR_FILENO) == 1
    let label: String
    private var lastShown = Date.distantPast

    init(_ label: String) { self.label = label }

    /// Shows "label: what done/total" at most every 100 ms.
    mutating func update(_ what: String, _ done: Int, of total: Int) {
        guard enabled else { return }
        let now = Date()
        guard done == total || now.timeIntervalSince(lastShown) >= 0.1 else { return }
        lastShown = now
        FileHandle.standardError.write(Data("\r\u{1B}[K\(label): \(what) \(done)/\(total)".utf8))
    }

    /// Clears the line.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
