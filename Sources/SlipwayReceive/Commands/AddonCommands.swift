import SlipwayAddons
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
    func changeConfig(_ app: String, set: [(key: String, value: String)], unset: [String]) throws {
        try ManagementCommands.changeConfig(self, root.app(app), set: set, unset: unset)
    }
}
