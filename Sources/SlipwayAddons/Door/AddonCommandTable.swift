/// One add-on command as the door's table lists it: its name, usage, summary, how many positional arguments and
/// which `--options` it takes, and what it runs. The door (SlipwayReceive) turns each into one of its management
/// commands, so that its own target holds only the registration.
public struct AddonCommandEntry: Sendable {
    public let name: String
    /// What follows the name in the usage line.
    public let arguments: String
    public let summary: String
    public let arity: ClosedRange<Int>
    /// Options without a value of their own: `--as` and `--confirm` take the positional word after the others.
    public let options: [String]
    /// Runs the command with its positional arguments and the options given.
    public let run: @Sendable (AddonCommands, [String], Set<String>) throws -> Void
}

extension AddonCommands {
    /// The add-on commands, in the order `help` lists them.
    public static let table: [AddonCommandEntry] = [
        AddonCommandEntry(
            name: "addons", arguments: "[<app>]",
            summary: "List add-ons (of every app you may use, or of one) and what they are attached as.",
            arity: 0...1, options: []
        ) { commands, arguments, _ in try commands.list(app: arguments.first) },
        AddonCommandEntry(
            name: "addons:create", arguments: "<app> postgresql|redis [--as NAME]",
            summary: "Create an add-on for the app, attached as DATABASE_URL (or NAME_URL): a new release.",
            arity: 2...3, options: ["--as"]
        ) { commands, arguments, options in
            try commands.create(
                app: arguments[0], kind: arguments[1], as: try value("--as", arguments, options, at: 2))
        },
        AddonCommandEntry(
            name: "addons:info", arguments: "<addon>", summary: "Show an add-on: plan, state, attachments.",
            arity: 1...1, options: []
        ) { commands, arguments, _ in try commands.info(arguments[0]) },
        AddonCommandEntry(
            name: "addons:attach", arguments: "<app> <addon> [--as NAME]",
            summary: "Attach an add-on to another app as NAME_URL: a new release.", arity: 2...3, options: ["--as"]
        ) { commands, arguments, options in
            try commands.attach(
                app: arguments[0], addon: arguments[1], as: try value("--as", arguments, options, at: 2))
        },
        AddonCommandEntry(
            name: "addons:detach", arguments: "<app> <addon>",
            summary: "Detach an add-on from the app (its config var goes): a new release.", arity: 2...2, options: []
        ) { commands, arguments, _ in try commands.detach(app: arguments[0], addon: arguments[1]) },
        AddonCommandEntry(
            name: "addons:destroy", arguments: "<addon> --confirm <addon>",
            summary: "Destroy an add-on and its data, detaching it everywhere.", arity: 1...2, options: ["--confirm"]
        ) { commands, arguments, options in
            try commands.destroy(arguments[0], confirm: try value("--confirm", arguments, options, at: 1))
        },
        AddonCommandEntry(
            name: "pg:backups:capture", arguments: "<app>",
            summary: "Back up the app's PostgreSQL add-on (pg_dump -Fc), kept in the spool's store.", arity: 1...1,
            options: []
        ) { commands, arguments, _ in try commands.capture(app: arguments[0]) },
        AddonCommandEntry(
            name: "pg:backups", arguments: "<app>", summary: "List the backups of the app's PostgreSQL add-on.",
            arity: 1...1, options: []
        ) { commands, arguments, _ in try commands.listBackups(app: arguments[0]) },
        AddonCommandEntry(
            name: "pg:backups:restore", arguments: "<app> <id> --confirm <app>",
            summary: "Replace the data of the app's PostgreSQL add-on with a backup.", arity: 2...3,
            options: ["--confirm"]
        ) { commands, arguments, options in
            try commands.restoreBackup(
                app: arguments[0], id: arguments[1], confirm: try value("--confirm", arguments, options, at: 2))
        },
        AddonCommandEntry(
            name: "pg:psql", arguments: "<app>",
            summary: "Open psql on the app's PostgreSQL add-on, as its role (no terminal: SQL on stdin).", arity: 1...1,
            options: []
        ) { commands, arguments, _ in try commands.client(app: arguments[0], kind: .postgresql) },
        AddonCommandEntry(
            name: "redis:cli", arguments: "<app>", summary: "Open redis-cli on the app's Redis add-on.", arity: 1...1,
            options: []
        ) { commands, arguments, _ in try commands.client(app: arguments[0], kind: .redis) },
    ]

    /// The value of `option`: the positional word at `index`; nil without the option; a refusal for a word without
    /// its option or an option without its word.
    static func value(
        _ option: String, _ arguments: [String], _ options: Set<String>, at index: Int
    ) throws(AddonError) -> String? {
        guard options.contains(option) == (arguments.count > index) else {
            throw AddonError(.invalidValue, "\(option) takes one value, after the other arguments (\(option) NAME)")
        }
        return options.contains(option) ? arguments[index] : nil
    }
}
