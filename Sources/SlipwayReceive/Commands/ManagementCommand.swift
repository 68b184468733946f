public import Foundation
public import SlipwayDoorRecords
public import SlipwaySystem

/// Who runs a management command.
public enum Actor: Sendable, Equatable {
    /// A user who came in over SSH: each command first checks that they may use the app (owner or collaborator).
    case user(String)
    /// The operator, running `receive-pack <command>` on the server: every app, no access check.
    case serverOperator

    /// The name written into releases and locks: the user's, or `operator`.
    public var name: String {
        switch self {
        case .user(let name): name
        case .serverOperator: "operator"
        }
    }
}

/// Where a command runs and prints.
public struct CommandContext {
    public var root: SlipwayRoot
    public var actor: Actor
    /// What the command was asked for (a listing, a value, a log): stdout, so it can be piped or redirected.
    public var output: Console
    /// Progress, confirmations and errors: stderr.
    public var console: Console
    /// Stops a wait for the app's lock on SIGINT, SIGTERM or SIGHUP.
    public var signals: SignalWatcher?
    public var environment: [String: String]
    /// Whether the client has gone; a wait for the app's lock stops when it has.
    public var connectionClosed: () -> Bool = { false }
    /// The session's stdin, stdout and stderr, which a one-off dyno (`run`) reads and writes directly.
    public var sessionDescriptors: [Int32] = [0, 1, 2]

    public init(
        root: SlipwayRoot, actor: Actor, output: Console, console: Console, signals: SignalWatcher?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.root = root
        self.actor = actor
        self.output = output
        self.console = console
        self.signals = signals
        self.environment = environment
    }
}

/// One management command: its name, what it takes, what it does, and the code that does it.
///
/// The table (``ManagementCommands/all``) is the one list the SSH door serves, `help` prints, and `receive-pack`
/// offers the operator as subcommands.
public struct ManagementCommand: Sendable {
    /// `config:set`.
    public let name: String
    /// What follows the name in the usage line: `<app> KEY=VALUE…`.
    public let arguments: String
    /// One sentence for `help`.
    public let summary: String
    /// How many positional arguments it takes.
    let arity: ClosedRange<Int>
    /// The `--options` it takes (each a flag without a value).
    let options: [String]
    /// The `--options` it takes with a value (`--secret S`).
    var valueOptions: [String] = []
    /// Whether `receive-pack <name>` offers it to the operator too (`apps` and `help` have local equivalents).
    public let servedLocally: Bool
    /// For a command that ends in a command line of its own (`run <app> <command…>`): after this many positional
    /// arguments, the rest (after an optional `--`) is taken word for word, options and `--help` included.
    let verbatimAfter: Int?
    /// Runs the command; returns its exit status (0 unless the command passes one on, as `run` does).
    let action: @Sendable (Invocation) throws -> Int32

    init(
        _ name: String, _ arguments: String, _ summary: String, arity: ClosedRange<Int>, options: [String] = [],
        servedLocally: Bool = true, action: @escaping @Sendable (Invocation) throws -> Void
    ) {
        self.init(
            name, arguments, summary, arity: arity, options: options, servedLocally: servedLocally,
            verbatimAfter: nil
        ) { run in
            try action(run)
            return 0
        }
    }

    init(
        _ name: String, _ arguments: String, _ summary: String, arity: ClosedRange<Int>, options: [String] = [],
        servedLocally: Bool = true, verbatimAfter: Int?, action: @escaping @Sendable (Invocation) throws -> Int32
    ) {
        self.name = name
        self.arguments = arguments
        self.summary = summary
        self.arity = arity
        self.options = options
        self.servedLocally = servedLocally
        self.verbatimAfter = verbatimAfter
        self.action = action
    }

    /// This command with `names` as options that take a value.
    func valued(_ names: [String]) -> ManagementCommand {
        var copy = self
        copy.valueOptions = names
        return copy
    }

    /// `config:set <app> KEY=VALUE…`.
    public var usage: String { arguments.isEmpty ? name : "\(name) \(arguments)" }
}

/// One run of a command: its context and the arguments it got.
struct Invocation {
    var context: CommandContext
    /// Positional arguments, in order.
    var arguments: [String]
    /// The `--options` given.
    var options: Set<String>
    /// The `--options` given with their values.
    var values: [String: String] = [:]

    var root: SlipwayRoot { context.root }
    var actor: Actor { context.actor }

    /// Prints a line of the command's result (stdout).
    func out(_ line: String) { context.output.raw(line) }
    /// Prints a line of progress or confirmation (stderr).
    func say(_ line: String) { context.console.raw(line) }

    /// The app named by argument `index`, once the actor is known to have access to it. A denied app and a missing
    /// one get the same refusal, so the door does not reveal which apps exist.
    func app(_ index: Int = 0) throws -> (paths: AppPaths, settings: AppSettings) {
        let name = arguments[index]
        let registry = AppRegistry(root: root)
        let settings = try registry.settings(name)
        switch actor {
        case .user(let user):
            guard let settings, registry.canAccess(user: user, app: settings) else {
                throw AppRegistry.noAccess(user: user, app: name)
            }
            return (root.app(name), settings)
        case .serverOperator:
            guard let settings else {
                throw DoorError(.notFound, "slipway: no app \(name) (receive-pack apps list shows the apps)")
            }
            return (root.app(name), settings)
        }
    }

    /// Takes the app's build lock for `action`, so a config change or rollback never interleaves with a deploy:
    /// waits for a running build (saying what for), gives up after `$SLIPWAY_LOCK_WAIT` seconds or on a signal.
    /// Once it holds the lock, it finishes what a killed push left (``ReleaseRecovery``), so the change builds on the
    /// release git accepted.
    func lock(_ app: AppPaths, for action: String) throws -> AppLock {
        let lock = try AppLock.acquire(
            app, as: AppLock.Holder(user: actor.name, commit: nil, action: action),
            limit: AppLock.waitLimit(context.environment), say: { say("slipway: \($0)") },
            shouldStop: { context.signals?.poll() != nil || context.connectionClosed() })
        try ReleaseRecovery.recover(app: app, root: root)
        return lock
    }
}

/// The management commands and the code that runs them.
public enum ManagementCommands {
    /// Every command, in the order `help` lists them.
    public static let all: [ManagementCommand] = {
        let apps: [ManagementCommand] = appCommands + sourceCommands + configCommands
        let dynos: [ManagementCommand] =
            dynoCommands + [runCommand] + domainCommands + certCommands + metricsCommands + addonCommands
            + drainCommands
        let rest: [ManagementCommand] = releaseCommands + buildCommands + logCommands + webhookCommands + tokenCommands
        return apps + dynos + rest + [help]
    }()

    /// The command called `name`, nil for none.
    public static func named(_ name: String) -> ManagementCommand? {
        all.first { $0.name == name }
    }

    /// Runs the command in `words` (its name first) and returns the exit status: 0 (or the status the command passes
    /// on, as `run` does), or 1 after one `slipway: …` line on the context's console.
    public static func run(_ words: [String], context: CommandContext) -> Int32 {
        do {
            return try dispatch(words, context: context)
        } catch let error as DoorError {
            context.console.raw(error.message)
        } catch {
            context.console.raw("slipway: \(error)")
        }
        return 1
    }

    /// Runs command `name` for the operator on the server (`receive-pack <name> [--root <dir>] …`): every app, no
    /// access check; output on stdout, progress and errors on stderr. Returns the exit status.
    public static func runLocal(_ name: String, arguments: [String], root: SlipwayRoot) -> Int32 {
        let context = CommandContext(
            root: root, actor: .serverOperator, output: Console(.fileDescriptor(1), colors: false),
            console: Console(.fileDescriptor(2), colors: false), signals: SignalWatcher())
        return run([name] + arguments, context: context)
    }

    /// Parses `words` against the table and runs the command; returns its status, throws the refusal.
    static func dispatch(_ words: [String], context: CommandContext) throws -> Int32 {
        guard let name = words.first, let command = named(name) else {
            throw unknownCommand(words.first.map { "'\(TerminalText.printable($0))'" } ?? "(none)")
        }
        var arguments: [String] = []
        var options: Set<String> = []
        var values: [String: String] = [:]
        var rest = words.dropFirst()
        while let word = rest.popFirst() {
            if let verbatimAfter = command.verbatimAfter, arguments.count >= verbatimAfter,
                word == "--" || !word.hasPrefix("-")
            {
                // The command line the command runs: every word as it is.
                arguments.append(contentsOf: (word == "--" ? [] : [word]) + rest)
                break
            }
            if word == "-h" || word == "--help" {
                context.output.raw("usage: \(command.usage)")
                context.output.raw("  \(command.summary)")
                return 0
            }
            if word.hasPrefix("--") {
                guard command.options.contains(word) || command.valueOptions.contains(word) else {
                    throw DoorError(
                        .usage,
                        "slipway: \(name) has no option \(TerminalText.printable(word)); usage: \(command.usage)")
                }
                options.insert(word)
                // A value option takes the next word (none: empty, which its command refuses).
                if command.valueOptions.contains(word) { values[word] = rest.popFirst() ?? "" }
            } else {
                arguments.append(word)
            }
        }
        guard command.arity.contains(arguments.count) else {
            throw DoorError(.usage, "slipway: usage: \(command.usage)")
        }
        return try command.action(Invocation(context: context, arguments: arguments, options: options, values: values))
    }

    private static func unknownCommand(_ shown: String) -> DoorError {
        DoorError(.unknownCommand, "slipway: unknown command \(shown): `help` lists the commands")
    }

    /// `help [<command>]`: the table, or one command's usage.
    static let help = ManagementCommand(
        "help", "[<command>]", "List the commands, or show how to use one.", arity: 0...1, servedLocally: false
    ) { run in
        if let name = run.arguments.first {
            guard let command = named(name) else { throw unknownCommand("'\(TerminalText.printable(name))'") }
            run.out("usage: \(command.usage)")
            run.out("  \(command.summary)")
            return
        }
        for line in helpText() { run.out(line) }
    }

    /// The lines `help` prints.
    public static func helpText() -> [String] {
        var lines = ["Slipway commands, run as: ssh <user>@<host> <command> [<arguments>]", ""]
        let width = all.map(\.usage.count).max() ?? 0
        for command in all {
            let usage = command.usage.padding(toLength: width + 2, withPad: " ", startingAt: 0)
            lines.append("  " + usage + command.summary)
        }
        lines += [
            "",
            "git push <user>@<host>:<app> main deploys; git clone <user>@<host>:<app> fetches the code.",
            "Over HTTPS: git push https://<host>/<app>.git main, with a token from tokens:create as the password.",
            "The server splits a command into words as a shell would, without running one. ssh joins its arguments",
            "with spaces, so quote a value with spaces or quotes once more for the server:",
            "  ssh <user>@<host> \"config:set myapp 'GREETING=hello world'\"",
        ]
        return lines
    }
}
