import Foundation
import SlipwaySystem

/// `config`, `config:get`, `config:set`, `config:unset`.
extension ManagementCommands {
    static let configCommands = [
        ManagementCommand(
            "config", "<app> [--json|--shell]", "Show the app's config vars (--shell: KEY='value' lines for a shell).",
            arity: 1...1, options: ["--json", "--shell"]
        ) { run in
            let (app, _) = try run.app()
            let vars = try AppConfig.load(app)
            if run.options.count > 1 { throw DoorError(.usage, "slipway: give --json or --shell, not both") }
            if run.options.contains("--json") {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                run.out(String(decoding: try encoder.encode(vars), as: UTF8.self))
            } else if run.options.contains("--shell") {
                for key in vars.keys.sorted() { run.out("\(key)=\(CommandWords.quote(vars[key] ?? ""))") }
            } else if vars.isEmpty {
                run.out("\(app.name) has no config vars.")
            } else {
                run.out("=== \(app.name) config vars")
                for line in configListing(vars) { run.out(line) }
            }
        },
        ManagementCommand(
            "config:get", "<app> <KEY>", "Print one config var's value (exit 1 when it is not set).", arity: 2...2
        ) { run in
            let (app, _) = try run.app()
            let key = run.arguments[1]
            try ConfigKey.validate(key)
            guard let value = try AppConfig.load(app)[key] else {
                throw DoorError(.notFound, "slipway: \(app.name) has no config var \(key)")
            }
            run.out(value)
        },
        ManagementCommand(
            "config:set", "<app> KEY=VALUE…",
            "Set config vars; a change releases the current slug with them as a new version.", arity: 2...Int.max
        ) { run in
            let (app, _) = try run.app()
            let pairs = try run.arguments.dropFirst().map { word -> (key: String, value: String) in
                guard let equals = word.firstIndex(of: "=") else {
                    throw DoorError(
                        .invalidValue,
                        "slipway: '\(TerminalText.printable(word))' is not KEY=VALUE (a value with spaces needs quotes "
                            + "for the server too: \"config:set \(app.name) 'KEY=a b'\")")
                }
                let key = String(word[..<equals])
                try ConfigKey.validate(key)
                return (key, String(word[word.index(after: equals)...]))
            }
            try changeConfig(run, app, set: pairs, unset: [])
        },
        ManagementCommand(
            "config:unset", "<app> KEY…", "Remove config vars; a change makes a new release, as config:set does.",
            arity: 2...Int.max
        ) { run in
            let (app, _) = try run.app()
            let keys = Array(run.arguments.dropFirst())
            for key in keys { try ConfigKey.validate(key) }
            try changeConfig(run, app, set: [], unset: keys)
        },
    ]

    /// `KEY: value` lines, sorted, with the values aligned (as `heroku config` prints them).
    static func configListing(_ vars: [String: String]) -> [String] {
        let width = vars.keys.map(\.count).max() ?? 0
        return vars.keys.sorted().map { key in
            "\(key):" + String(repeating: " ", count: width - key.count + 1) + (vars[key] ?? "")
        }
    }

    /// Changes the config under the app's lock and says what happened:
    /// `Setting GREETING and restarting myapp... done, v7`.
    static func changeConfig(
        _ run: Invocation, _ app: AppPaths, set: [(key: String, value: String)], unset: [String]
    ) throws {
        let verb = set.isEmpty ? "Unsetting" : "Setting"
        let named = Releaser.keys(set: set, unset: unset).joined(separator: ", ")
        let lock = try run.lock(app, for: set.isEmpty ? "config:unset" : "config:set")
        let outcome = try withExtendedLifetime(lock) {
            try Releaser(root: run.root, user: run.actor.name).changeConfig(app, set: set, unset: unset)
        }
        switch outcome {
        case .released(let entry): run.say("\(verb) \(named) and restarting \(app.name)... done, v\(entry.version)")
        case .stored: run.say("\(verb) \(named) on \(app.name)... done (no release yet: the first push uses it)")
        case .unchanged: run.say("\(verb) \(named) on \(app.name)... no change, so no new release")
        }
    }
}
