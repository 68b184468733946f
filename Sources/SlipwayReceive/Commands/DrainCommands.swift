import SlipwayDoorRecords
import SlipwaySpool
import SlipwaySystem

/// `drains`, `drains:add`, `drains:remove`: the app's log drains, in its `dynos.json` (docs/drains.md).
extension ManagementCommands {
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
            let url: LogDrainURL
            var added: LogDrain?
            do throws(LogDrainURL.Refusal) { url = try LogDrainURL.parse(run.arguments[1]) } catch {
                throw DoorError(.invalidValue, "slipway: \(TerminalText.printable(error.description))")
            }
            try updateDynoSettings(run, app.name) { settings in
                do throws(LogDrainURL.Refusal) { added = try settings.addDrain(url) } catch {
                    throw DoorError(.notPossible, "slipway: \(app.name): \(error.description)")
                }
            }
            guard let added else { return run.say("\(url.normalized) is a drain of \(app.name) already: no change") }
            run.say("Successfully added drain \(added.url) to \(app.name) (token \(added.token))")
        },
        ManagementCommand(
            "drains:remove", "<app> <url|token>", "Stop sending the app's log to a drain.", arity: 2...2
        ) { run in
            let (app, _) = try run.app()
            var removed: LogDrain?
            try updateDynoSettings(run, app.name) { removed = $0.removeDrain(run.arguments[1]) }
            guard let removed else {
                let shown = TerminalText.printable(run.arguments[1])
                throw DoorError(.notFound, "slipway: \(app.name) has no drain \(shown) (drains \(app.name) lists them)")
            }
            run.say("Successfully removed drain \(removed.url) from \(app.name)")
        },
    ]
}
