import Foundation
import SlipwaySpool
import SlipwaySystem

/// `drains`, `drains:add`, `drains:remove`: where the app's log lines go besides its log, recorded in its
/// `dynos.json` (``DynoSettings/drains``) with a drain token each; the runner sends every line to each drain
/// (docs/drains.md).
extension ManagementCommands {
    /// The most drains one app may have: each one is a connection and a buffer on the runner.
    static let maximumDrains = 10

    static let drainCommands = [
        ManagementCommand("drains", "<app>", "List the app's log drains and their tokens.", arity: 1...1) { run in
            let (app, _) = try run.app()
            let drains = try dynoSettings(run, app.name).logDrains
            run.out("=== \(app.name) drains")
            if drains.isEmpty { run.out("(none: drains:add \(app.name) <url> adds one)") }
            for drain in drains { run.out("\(drain.url) (\(drain.token))") }
        },
        ManagementCommand(
            "drains:add", "<app> <url>",
            "Send the app's log to a drain: syslog+tls://host:port, syslog://host:port or https://host/path.",
            arity: 2...2
        ) { run in
            let (app, _) = try run.app()
            let url = try drainArgument(run.arguments[1])
            var added: LogDrain?
            try updateDynoSettings(run, app.name) { settings in
                var drains = settings.logDrains
                guard !drains.contains(where: { $0.url == url.normalized }) else { return }
                guard drains.count < maximumDrains else {
                    throw DoorError(
                        .notPossible,
                        "slipway: \(app.name) has \(maximumDrains) drains, the most an app may have; remove one")
                }
                let drain = LogDrain(url: url.normalized, token: LogDrain.newToken())
                drains.append(drain)
                settings.drains = drains
                added = drain
            }
            if let added {
                run.say("Successfully added drain \(added.url) to \(app.name) (token \(added.token))")
            } else {
                run.say("\(url.normalized) is a drain of \(app.name) already: no change")
            }
        },
        ManagementCommand(
            "drains:remove", "<app> <url|token>", "Stop sending the app's log to a drain.", arity: 2...2
        ) { run in
            let (app, _) = try run.app()
            let word = run.arguments[1]
            let normalized = (try? LogDrainURL.parse(word))?.normalized
            var removed: LogDrain?
            try updateDynoSettings(run, app.name) { settings in
                var drains = settings.logDrains
                guard let index = drains.firstIndex(where: { $0.token == word || $0.url == normalized }) else {
                    return
                }
                removed = drains.remove(at: index)
                settings.drains = drains.isEmpty ? nil : drains
            }
            guard let removed else {
                throw DoorError(
                    .notFound,
                    "slipway: \(app.name) has no drain \(TerminalText.printable(word)) (drains \(app.name) lists them)")
            }
            run.say("Successfully removed drain \(removed.url) from \(app.name)")
        },
    ]

    /// The drain address in `word`, parsed, or the refusal in one line.
    private static func drainArgument(_ word: String) throws -> LogDrainURL {
        do throws(LogDrainURL.Refusal) {
            return try LogDrainURL.parse(word)
        } catch {
            throw DoorError(.invalidValue, "slipway: \(TerminalText.printable(error.description))")
        }
    }
}
