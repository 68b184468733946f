import SlipwayAddons
import SlipwaySpool

/// The add-on commands (`addons`, `addons:create`, …): their table and logic are SlipwayAddons'
/// (``SlipwayAddons/AddonCommands/table``); the door runs them through ``InvocationDoor``.
extension ManagementCommands {
    static let addonCommands = AddonCommands.table.map { entry in
        ManagementCommand(entry.name, entry.arguments, entry.summary, arity: entry.arity, options: entry.options) {
            run in
            try entry.run(
                AddonCommands(root: run.root.path, door: InvocationDoor(run: run)), run.arguments, Set(run.options))
        }
    }
}

/// The door as the add-on commands see it: the invocation's access checks, config vars and releases.
struct InvocationDoor: AddonDoor {
    let run: Invocation

    func checkApp(_ app: String) throws {
        var probe = run
        probe.arguments = [app]
        _ = try probe.app()
    }

    func mayUse(_ app: String) -> Bool { (try? checkApp(app)) != nil }

    func configVars(_ app: String) throws -> [String: String] { try AppConfig.load(run.root.app(app)) }

    func changeConfig(_ app: String, set: [(key: String, value: String)], unset: [String]) throws -> AddonConfigChange {
        let paths = run.root.app(app)
        let lock = try run.lock(paths, for: set.isEmpty ? "addons:detach" : "addons:attach")
        let outcome = try withExtendedLifetime(lock) {
            try Releaser(root: run.root, user: run.actor.name).changeConfig(paths, set: set, unset: unset)
        }
        switch outcome {
        case .released(let entry): return .released(entry.version)
        case .stored: return .stored
        case .unchanged: return .unchanged
        }
    }

    var sessionDescriptors: [Int32] { run.context.sessionDescriptors }
    func out(_ line: String) { run.out(line) }
    func say(_ line: String) { run.say(line) }
}
