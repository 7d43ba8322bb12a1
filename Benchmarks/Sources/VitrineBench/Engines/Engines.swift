// The engines of the suite, in the order each round runs them.

let allEngines: [EngineKind] = [
    EngineKind(SQLiteEngine<SQLiteDefaultCheckpoint>.self),
    EngineKind(SQLiteEngine<SQLiteMatchedCheckpoint>.self),
    EngineKind(LMDBEngine.self),
    EngineKind(VitrineEngine.self),
]

func engineKind(named name: String) -> EngineKind? {
    allEngines.first { $0.name.lowercased() == name.lowercased() }
}

/// The engines `name` selects: an engine's name, or a family's (all its configurations).
func engineKinds(named name: String) -> [EngineKind] {
    if let kind = engineKind(named: name) { return [kind] }
    return allEngines.filter { $0.family.lowercased() == name.lowercased() }
}

/// An engine type, with its generic entry points captured, so callers never open an existential.
struct EngineKind: Sendable {
    let name: String
    let family: String
    let variant: String?
    let version: String
    let configuration: @Sendable (Durability) -> String
    /// `workload.prepare(E.self, context)`.
    let prepare: @Sendable (any Workload, BenchContext) throws -> EngineRun
    /// The `child open` subcommand for this engine.
    let childOpen: @Sendable (_ directory: String, _ key: [UInt8], _ verify: Int?) throws -> Void
    /// The `child crash` subcommand for this engine.
    let childCrash: @Sendable (_ directory: String, _ products: Int) throws -> Void

    init<E: BenchEngine>(_: E.Type) {
        name = E.name
        family = E.family
        variant = E.variant
        version = E.version
        configuration = { E.configuration($0) }
        prepare = { workload, context in try workload.prepare(E.self, context) }
        childOpen = { directory, key, verify in try ChildMain.open(E.self, directory: directory, key: key, verify: verify) }
        childCrash = { directory, products in try ChildMain.crash(E.self, directory: directory, products: products) }
    }
}
