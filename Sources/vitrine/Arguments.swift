// The argument parser: a subcommand's spec (positionals, options) and the parsed result.
//
// Grammar, for every subcommand:
//   vitrine SUBCOMMAND [POSITIONAL ...] [--option VALUE | --option=VALUE | --flag] ... [-- POSITIONAL ...]
// Options may come before, between or after positionals. `-h`/`--help` anywhere prints the help.
// A word that starts with "-" is an option, except a negative number and "-" alone; after "--"
// every word is a positional. An option given twice, an unknown option, a missing value, a
// missing or extra positional: each is a usage error (exit 2) naming the word.

/// One option of a subcommand: a flag when `valueName` is nil.
struct OptionSpec {
    var name: String
    var valueName: String?
    var help: String

    static func flag(_ name: String, _ help: String) -> OptionSpec { OptionSpec(name: name, valueName: nil, help: help) }
    static func value(_ name: String, _ valueName: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, valueName: valueName, help: help)
    }

    static let db = value("--db", "PATH", "the database file (default: vitrine.db in the current directory)")
    /// Accepted by every command that takes `--db` (added here, in one place, not in each spec).
    static let etcd = value("--etcd", "URL[,URL...]", "an etcd cluster's client URLs instead of --db (scripts/etcd-cluster.sh)")
    static let json = flag("--json", "print machine-readable JSON instead of text")
}

/// A positional argument.
struct PositionalSpec {
    var name: String
    var help: String
}

/// What a subcommand accepts, and its help text.
struct CommandSpec {
    var name: String
    var summary: String
    var positionals: [PositionalSpec] = []
    var options: [OptionSpec] = []
    /// More paragraphs for `--help` (examples, exit codes, formats).
    var details: String = ""

    var usage: String {
        var parts = ["vitrine", name] + positionals.map(\.name)
        for o in allOptions where o.name != "--help" {
            parts.append("[" + o.name + (o.valueName.map { " " + $0 } ?? "") + "]")
        }
        return parts.joined(separator: " ")
    }

    /// The options as parsed and shown: `--etcd` joins wherever `--db` is.
    var allOptions: [OptionSpec] {
        guard let i = options.firstIndex(where: { $0.name == "--db" }) else { return options }
        var all = options
        all.insert(.etcd, at: i + 1)
        return all
    }

    var help: String {
        var text = "\(summary)\n\nUsage: \(usage)\n"
        if !positionals.isEmpty {
            text += "\nArguments:\n"
            let width = positionals.map(\.name.count).max() ?? 0
            for p in positionals { text += "  \(p.name.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(p.help)\n" }
        }
        let all = allOptions + [OptionSpec.flag("--help", "show this help")]
        let labels = all.map { $0.name + ($0.valueName.map { " " + $0 } ?? "") }
        let width = labels.map(\.count).max() ?? 0
        text += "\nOptions:\n"
        for (o, label) in zip(all, labels) { text += "  \(label.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(o.help)\n" }
        if !details.isEmpty { text += "\n" + details + (details.hasSuffix("\n") ? "" : "\n") }
        return text
    }
}

/// A usage error: exit 2, one line on stderr.
struct UsageError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// The parsed command line of one subcommand.
struct ParsedArguments {
    var positionals: [String] = []
    var values: [String: String] = [:]
    var flags: Set<String> = []
    var wantsHelp = false

    init(_ words: [String], spec: CommandSpec) throws {
        var i = 0
        var onlyPositionals = false
        while i < words.count {
            let word = words[i]
            i += 1
            if onlyPositionals || !word.hasPrefix("-") || word == "-" || Int64(word) != nil {
                positionals.append(word)
                continue
            }
            if word == "--" { onlyPositionals = true; continue }
            if word == "-h" || word == "--help" { wantsHelp = true; continue }
            var name = word
            var inline: String? = nil
            if let eq = word.firstIndex(of: "=") {
                name = String(word[..<eq])
                inline = String(word[word.index(after: eq)...])
            }
            guard let option = spec.allOptions.first(where: { $0.name == name }) else {
                throw UsageError("unknown option \(name)")
            }
            if option.valueName == nil {
                if inline != nil { throw UsageError("\(name) takes no value") }
                if flags.contains(name) { throw UsageError("\(name) given twice") }
                flags.insert(name)
            } else {
                if values[name] != nil { throw UsageError("\(name) given twice") }
                if let inline {
                    values[name] = inline
                } else {
                    guard i < words.count else { throw UsageError("\(name) needs a value (\(option.valueName ?? "VALUE"))") }
                    values[name] = words[i]
                    i += 1
                }
            }
        }
        if wantsHelp { return }
        if values["--db"] != nil && values["--etcd"] != nil { throw UsageError("--db and --etcd exclude each other") }
        if positionals.count > spec.positionals.count {
            throw UsageError("unexpected argument '\(positionals[spec.positionals.count])'")
        }
        if positionals.count < spec.positionals.count {
            throw UsageError("missing \(spec.positionals[positionals.count].name)")
        }
    }

    func flag(_ name: String) -> Bool { flags.contains(name) }

    func string(_ name: String) -> String? { values[name] }

    func required(_ name: String) throws -> String {
        guard let v = values[name] else { throw UsageError("\(name) is required") }
        return v
    }

    /// A non-empty text argument (a positional or an option's value).
    static func text(_ value: String, _ what: String) throws -> String {
        guard !value.isEmpty else { throw UsageError("\(what) must not be empty") }
        return value
    }

    /// An integer argument within `range`.
    static func integer(_ value: String, _ what: String, in range: ClosedRange<Int64>) throws -> Int64 {
        guard let n = Int64(value) else { throw UsageError("\(what) must be an integer, got '\(value)'") }
        guard range.contains(n) else {
            let upper = range.upperBound == .max ? "" : "\(range.upperBound)"
            throw UsageError("\(what) must be in \(range.lowerBound)...\(upper), got \(n)")
        }
        return n
    }

    /// The integer value of option `name`, or `default` when it is absent.
    func integer(_ name: String, default value: Int64?, in range: ClosedRange<Int64>) throws -> Int64? {
        guard let text = values[name] else { return value }
        return try Self.integer(text, name, in: range)
    }

    var dbPath: String { values["--db"] ?? "vitrine.db" }
    /// `--etcd URL[,URL...]`, when given.
    var etcd: String? { values["--etcd"] }
    /// What the command works on, for messages: the file, or the cluster's URLs.
    var location: String { etcd.map { "etcd \($0)" } ?? "database \(dbPath)" }
    var json: Bool { flags.contains("--json") }
}
