// Progress of long work on stderr, only when stderr is a terminal (isatty) and `--quiet` was not
// given; silent otherwise. Never on stdout, which carries data and ACK lines.

import Foundation

struct ProgressLine {
    let enabled: Bool
    let label: String
    private var lastShown = Date.distantPast

    init(_ label: String, quiet: Bool = false) {
        self.label = label
        enabled = !quiet && isatty(STDERR_FILENO) == 1
    }

    /// Shows "label: what done/total" at most every 100 ms.
    mutating func update(_ what: String, _ done: Int, of total: Int) {
        show("\(what) \(done)/\(total)", force: done == total)
    }

    /// Shows "label: what done" (no total known) at most every 100 ms.
    mutating func update(_ what: String, _ done: Int) {
        show("\(what) \(done)", force: false)
    }

    /// Shows "label: what" now (a stage without a count).
    mutating func note(_ what: String) {
        show(what, force: true)
    }

    private mutating func show(_ text: String, force: Bool) {
        guard enabled else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastShown) >= 0.1 else { return }
        lastShown = now
        FileHandle.standardError.write(Data("\r\u{1B}[K\(label): \(text)".utf8))
    }

    /// Clears the line.
    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

extension OptionSpec {
    static let quiet = flag("--quiet", "no progress line on stderr (shown only when stderr is a terminal)")
}

extension ParsedArguments {
    var quiet: Bool { flag("--quiet") }
}
