/// What the add-on commands need of the door they run in: who may use which app, the apps' config vars, releases
/// made as `config:set` makes them, and where to print. The door (SlipwayReceive) implements it, so the commands'
/// logic stays here, in its own target.
public protocol AddonDoor {
    /// Throws the door's refusal unless the actor may use the app called `app` (a missing app looks the same).
    func checkApp(_ app: String) throws
    /// Whether the actor may use the app called `app`.
    func mayUse(_ app: String) -> Bool
    /// The app's config vars now.
    func configVars(_ app: String) throws -> [String: String]
    /// Sets `set` and removes `unset` under the app's lock, releasing the app with them as `config:set` does.
    func changeConfig(_ app: String, set: [(key: String, value: String)], unset: [String]) throws -> AddonConfigChange
    /// The session's stdin, stdout and stderr, which `pg:psql` and `redis:cli` hand to their client.
    var sessionDescriptors: [Int32] { get }
    /// A line of the command's result (stdout).
    func out(_ line: String)
    /// A line of progress (stderr).
    func say(_ line: String)
}

/// What a config change did.
public enum AddonConfigChange: Sendable, Equatable {
    /// A new release, version `version`.
    case released(Int)
    /// The app has no release yet: its first push uses the vars.
    case stored
    case unchanged

    /// `restarting myapp... done, v7`, as config:set says.
    func said(_ verb: String, _ key: String, app: String) -> String {
        switch self {
        case .released(let version): "\(verb) \(key) and restarting \(app)... done, v\(version)"
        case .stored: "\(verb) \(key) on \(app)... done (no release yet: the first push uses it)"
        case .unchanged: "\(verb) \(key) on \(app)... no change"
        }
    }
}
