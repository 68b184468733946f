import SlipwayAddons
import SlipwayDoorRecords
import SlipwaySpool

/// The add-on commands: their table and logic are SlipwayAddons'; an invocation lends them the door's access check,
/// config vars, releases (as `config:set` makes them) and output.
extension ManagementCommands {
    static let addonCommands = AddonCommands.table.map { entry in
        ManagementCommand(entry.name, entry.arguments, entry.summary, arity: entry.arity, options: entry.options) {
            run in try entry.run(AddonCommands(root: run.root.path, door: run), run.arguments, run.options)
        }
    }
}

extension Invocation: AddonDoor {
    var sessionDescriptors: [Int32] { context.sessionDescriptors }
    func checkApp(_ app: String) throws { _ = try Invocation(context: context, arguments: [app], options: []).app() }
    func configVars(_ app: String) throws -> [String: String] { try AppConfig.load(root.app(app)) }
    func backupBucket() throws -> BackupBucket? {
        guard case .bucket(let location) = try SpoolTarget.load(root) else { return nil }
        do { return BackupBucket(location: location, credentials: try SpoolTarget.credentials(root)) } catch {
            throw AddonError(
                .serverDown,
                "backups go to the spool's bucket, but the server has no credentials for it: the "
                    + "operator checks them")
        }
    }
    func changeConfig(_ app: String, set: [(key: String, value: String)], unset: [String]) throws {
        try ManagementCommands.changeConfig(self, root.app(app), set: set, unset: unset)
    }
}
