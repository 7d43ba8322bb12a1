// What every subcommand is, how it is dispatched, and how a database is opened.
//
// Exit codes (issue 4): 0 success; 1 the operation ran but failed (integrity problems, out of
// stock, unknown id, ...); 2 usage error, or a file that cannot be opened (not a Vitrine file,
// locked by another process, unreadable, damaged at open). Errors go to stderr as one line:
//   vitrine SUBCOMMAND: WHAT (WHERE)

import Foundation
import Vitrine
import VitrineEtcd
import VitrineStore

/// A subcommand: its spec (for parsing and `--help`) and what it does.
protocol Command {
    static var spec: CommandSpec { get }
    /// Runs the subcommand; returns the exit code (errors thrown are reported by the dispatcher).
    static func run(_ args: ParsedArguments) throws -> Int32
}

/// An error with its exit code and a one-line message.
struct CLIError: Error {
    var message: String
    var code: Int32

    /// The operation ran but failed (exit 1).
    static func failed(_ message: String) -> CLIError { CLIError(message: message, code: 1) }
    /// A file that cannot be opened (exit 2).
    static func cannotOpen(_ message: String) -> CLIError { CLIError(message: message, code: 2) }
    /// A feature the engine does not offer yet (exit 2).
    static func notSupported(_ message: String) -> CLIError { CLIError(message: "not supported yet: " + message, code: 2) }
}

/// Runs the subcommand named by the first word.
struct Dispatcher {
    let commands: [any Command.Type]

    var help: String {
        let width = commands.map { $0.spec.name.count }.max() ?? 0
        var text = """
            vitrine: look into and drive a Vitrine database (showcases, carts, checkout, orders).

            Usage: vitrine SUBCOMMAND [options]     (every subcommand takes --db PATH and --help)

            Subcommands:

            """
        for c in commands { text += "  \(c.spec.name.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(c.spec.summary)\n" }
        text += """

            Data subcommands take --etcd URL[,URL...] instead of --db: the same data on an etcd cluster.
            Exit codes: 0 success; 1 the operation ran but failed (integrity problems, out of stock,
            unknown id); 2 usage error or a database file that cannot be opened.
            Start with: vitrine demo
            """
        return text
    }

    func run(_ words: [String]) -> Int32 {
        guard let name = words.first else {
            writeError("vitrine: missing SUBCOMMAND (see 'vitrine --help')")
            return 2
        }
        if name == "--help" || name == "-h" || name == "help" {
            if words.count > 1, let command = commands.first(where: { $0.spec.name == words[1] }) {
                print(command.spec.help, terminator: "")
            } else {
                print(help)
            }
            return 0
        }
        guard let command = commands.first(where: { $0.spec.name == name }) else {
            writeError("vitrine: unknown subcommand '\(name)' (see 'vitrine --help')")
            return 2
        }
        let spec = command.spec
        var location: String? = nil
        do {
            let args = try ParsedArguments(Array(words.dropFirst()), spec: spec)
            location = args.location
            if args.wantsHelp {
                print(spec.help, terminator: "")
                return 0
            }
            if args.etcd != nil && Self.engineOnly.contains(spec.name) {
                throw CLIError.cannotOpen(
                    "works on the embedded engine's file (--db), not on an etcd cluster: etcd has its own tools (etcdctl endpoint status, defrag, snapshot)"
                )
            }
            return try command.run(args)
        } catch let error as UsageError {
            writeError("vitrine \(spec.name): \(error.message) (see 'vitrine \(spec.name) --help')")
            return 2
        } catch let error as CLIError {
            writeError("vitrine \(spec.name): \(error.message)")
            return error.code
        } catch {
            // Errors of the library and the engine: say where (the database) as well as what.
            let (message, code) = describe(error)
            writeError("vitrine \(spec.name): \(message)" + (location.map { " (\($0))" } ?? ""))
            return code
        }
    }

    /// Subcommands that look into the engine's file itself: refused with `--etcd` (exit 2).
    static let engineOnly: Set<String> = ["inspect", "check", "checkpoint", "compact"]
}

/// Writes one line to stderr (newlines inside the message become "; ").
func writeError(_ message: String) {
    let line = message.replacingOccurrences(of: "\n", with: "; ") + "\n"
    FileHandle.standardError.write(Data(line.utf8))
}

// MARK: Opening

/// The open database of one command: the engine's file (closed, checkpointed, by `close()`) or
/// an etcd cluster.
struct OpenDatabase {
    /// The file's path, or the cluster's URLs.
    let path: String
    let backend: CLIBackend

    /// The engine store; only engine-only commands ask, and `--etcd` never reaches them.
    var engine: EngineStore {
        get throws {
            guard case .engine(let engine) = backend else { throw CLIError.cannotOpen("not available on an etcd cluster") }
            return engine
        }
    }
    var database: Database { get throws { try engine.database } }

    /// Opens the database at `path`.
    /// - Parameters:
    ///   - mustExist: refuse (exit 2) when there is no file, rather than create one.
    ///   - passingCorruption: throw the engine's corruption errors as they are (for `check`).
    /// - Throws: ``CLIError`` with exit code 2 when it cannot be opened.
    init(path: String, mustExist: Bool, durability: Durability = .full, passingCorruption: Bool = false) throws {
        self.path = path
        if mustExist {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw CLIError.cannotOpen("no database at \(path)")
            }
            if isDirectory.boolValue { throw CLIError.cannotOpen("\(path) is a directory, not a database file") }
        }
        do {
            backend = .engine(try EngineStore(path: path, options: DatabaseOptions(durability: durability)))
        } catch let error as StoreError where passingCorruption && error.isCorruption {
            throw error
        } catch {
            throw CLIError.cannotOpen("cannot open \(path): \(describe(error).message)")
        }
    }

    /// The cluster at `endpoints` (`URL[,URL...]`); nothing is sent until the first transaction.
    init(etcd endpoints: String) throws {
        path = endpoints
        do {
            backend = .etcd(try EtcdKeyValueStore(endpoints: endpoints))
        } catch {
            throw CLIError.cannotOpen("--etcd: \(describe(error).message)")
        }
    }

    /// The domain store over it, for commands that change data (writes the format marker and
    /// the partners, as every writer does).
    func store(_ configuration: Configuration = .standard) throws -> Store<CLIBackend> {
        do {
            return try Store(backend: backend, configuration: configuration)
        } catch {
            throw CLIError.cannotOpen("cannot open \(path): \(describe(error).message)")
        }
    }

    /// The domain store over it for reading only: writes nothing.
    func readingStore() throws -> Store<CLIBackend> {
        do {
            return try Store(readingFrom: backend)
        } catch {
            throw CLIError.cannotOpen("cannot open \(path): \(describe(error).message)")
        }
    }

    func close() {
        if case .engine(let engine) = backend { engine.database.close() }
    }
}

/// Opens the database named by `--db` (or the cluster named by `--etcd`), runs `body` and
/// closes it, whatever happens. `mustExist` and `durability` are the file's: a cluster always
/// exists, and is as durable as its members' write-ahead logs.
func withDatabase<T>(
    _ args: ParsedArguments, mustExist: Bool = true, durability: Durability = .full,
    _ body: (OpenDatabase) throws -> T
) throws -> T {
    let db =
        try args.etcd.map { try OpenDatabase(etcd: $0) }
        ?? OpenDatabase(path: args.dbPath, mustExist: mustExist, durability: durability)
    defer { db.close() }
    return try body(db)
}
