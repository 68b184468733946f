/// What the add-on commands need of the door they run in: who may use which app, the apps' config vars, releases
/// made as `config:set` makes them, and where to print. The door (SlipwayReceive) implements it, so the commands'
/// logic stays here, in its own target.
public protocol AddonDoor {
    /// Throws the door's refusal unless the actor may use the app called `app` (a missing app looks the same).
    func checkApp(_ app: String) throws
    /// The app's config vars now.
    func configVars(_ app: String) throws -> [String: String]
    /// Sets `set` and removes `unset` under the app's lock, releasing the app with them and saying so as
    /// `config:set` does.
    func changeConfig(_ app: String, set: [(key: String, value: String)], unset: [String]) throws
    /// The spool's bucket when the spool is one (backups go there), nil when it is the root's folder.
    func backupBucket() throws -> BackupBucket?
    /// The session's stdin, stdout and stderr, which `pg:psql` and `redis:cli` hand to their client.
    var sessionDescriptors: [Int32] { get }
    /// A line of the command's result (stdout).
    func out(_ line: String)
    /// A line of progress (stderr).
    func say(_ line: String)
}

extension AddonDoor {
    /// Whether the actor may use the app called `app`.
    func mayUse(_ app: String) -> Bool { (try? checkApp(app)) != nil }
}
