import Foundation
import SlipwayMetrics
import SlipwaySpool
import SlipwaySystem

/// `ps`, `ps:scale`, `ps:resize`, `ps:disk`, `ps:restart`: the door records what is wanted in the app's `dynos.json`
/// (``DynoSettings``) and reads what runs from the runner's `state.json` (``RunnerState``); the runner does the rest.
/// `ps:stop` asks the runner to stop a one-off dyno over its control socket.
extension ManagementCommands {
    static let dynoCommands = [
        ManagementCommand(
            "ps", "<app>", "List the app's dynos: their state, since when, and their memory.", arity: 1...1
        ) { run in
            let (app, _) = try run.app()
            let settings = try dynoSettings(run, app.name)
            let path = run.root.layout.runnerState(app.name)
            let data: Data?
            do throws(SystemError) { data = try FileSystem.read(path) } catch {
                throw DoorError.storage("read", path, error)
            }
            guard let data else {
                run.out(
                    "No runner has reported dynos of \(app.name) yet: slugrunner watch does once it runs a release.")
                for line in DynoListing.formation(app.name, settings) { run.out(line) }
                return
            }
            guard let state = RunnerState.decode(data) else {
                throw DoorError(
                    .storage,
                    "slipway: the runner's state of \(app.name) is unreadable; slugrunner watch rewrites it as it runs")
            }
            guard HeldLock.isHeld(run.root.layout.watchLock) else {
                run.out("slugrunner watch is not running on this server, so no dyno of \(app.name) runs: start it.")
                for line in DynoListing.formation(app.name, settings) { run.out(line) }
                return
            }
            let shares = MetricsReport.requestShares(folder: run.root.layout.runnerMetrics(app.name))
            for line in DynoListing.dynos(state, settings: settings, now: Date(), shares: shares) { run.out(line) }
        },
        ManagementCommand(
            "ps:scale", "<app> [<type>=<quantity>…]",
            "Set how many dynos of each process type run (web=2 worker=1); without changes, show the formation.",
            arity: 1...Int.max
        ) { run in
            let (app, _) = try run.app()
            let words = Array(run.arguments.dropFirst())
            guard !words.isEmpty else {
                for line in DynoListing.formation(app.name, try dynoSettings(run, app.name)) { run.out(line) }
                return
            }
            let changes = try parse(words, values: 0...DynoSettings.maximumQuantity, what: "scale", example: "web=2")
            let limit = runnerState(run, app.name)?.limits?.maxDynos
            let settings = try updateDynoSettings(run, app.name) { settings in
                for (type, quantity) in changes { settings = settings.scaling(type, to: quantity) }
                let total = settings.quantities.values.reduce(0, +)
                if let limit, total > limit {
                    throw DoorError(
                        .invalidValue,
                        "slipway: \(app.name) may run at most \(limit) dynos on this server, and that makes \(total): "
                            + "scale other process types down first, or ask the operator for more")
                }
            }
            let named = changes.map { "\($0.type)=\($0.value)" }.joined(separator: " ")
            run.say("Scaling \(app.name): \(named) (the runner applies it within seconds)")
            for line in DynoListing.formation(app.name, settings) { run.out(line) }
        },
        ManagementCommand(
            "ps:resize", "<app> <type>=<MB>…",
            "Set the memory of each dyno of a process type, in MB (web=1024; default \(DynoSettings.defaultMemoryMB)).",
            arity: 2...Int.max
        ) { run in
            let (app, _) = try run.app()
            let changes = try parse(
                Array(run.arguments.dropFirst()), values: DynoSettings.memoryRange, what: "size", example: "web=1024")
            let settings = try updateDynoSettings(run, app.name) { settings in
                for (type, memory) in changes { settings = settings.resizing(type, to: memory) }
            }
            let named = changes.map { "\($0.type)=\($0.value) MB" }.joined(separator: ", ")
            run.say("Resizing \(app.name): \(named) (the runner restarts those dynos with it within seconds)")
            for line in DynoListing.formation(app.name, settings) { run.out(line) }
        },
        ManagementCommand(
            "ps:disk", "<app> <type>=<MB>…",
            "Set the disk of each dyno of a process type, /app and /tmp together, in MB (web=4096; default "
                + "\(DynoSettings.defaultDiskMB)).",
            arity: 2...Int.max
        ) { run in
            let (app, _) = try run.app()
            let changes = try parse(
                Array(run.arguments.dropFirst()), values: DynoSettings.diskRange, what: "disk size", example: "web=4096"
            )
            let settings = try updateDynoSettings(run, app.name) { settings in
                for (type, disk) in changes { settings = settings.resizingDisk(type, to: disk) }
            }
            let named = changes.map { "\($0.type)=\($0.value) MB" }.joined(separator: ", ")
            run.say(
                "Giving \(app.name)'s dynos new disks: \(named) (the runner restarts those dynos with them within seconds)"
            )
            for line in DynoListing.formation(app.name, settings) { run.out(line) }
        },
        ManagementCommand(
            "ps:restart", "<app> [<type>]", "Restart the dynos of one process type, or all of the app's dynos.",
            arity: 1...2
        ) { run in
            let (app, _) = try run.app()
            let given = run.arguments.count > 1 ? run.arguments[1] : nil
            if let given {
                guard DynoSettings.isProcessType(given), given != "release" else {
                    throw DoorError(
                        .invalidValue,
                        "slipway: '\(TerminalText.printable(given))' is not a process type: ps:restart takes a type from "
                            + "the Procfile (web, worker), or nothing to restart every dyno")
                }
            }
            var types: [String] = []
            try updateDynoSettings(run, app.name) { settings in
                types = given.map { [$0] } ?? DynoSettings.sortedTypes(settings.quantities.keys)
                settings = settings.restarting(types)
            }
            let named = types.joined(separator: ", ")
            run.say("Restarting the \(named) dynos of \(app.name) (the runner restarts them within seconds)")
        },
        ManagementCommand(
            "ps:stop", "<app> run.<N>",
            "Stop a one-off dyno (ps lists them): SIGTERM, then SIGKILL after the grace period.",
            arity: 2...2, verbatimAfter: nil
        ) { run in
            let (app, _) = try run.app()
            let dyno = run.arguments[1]
            guard OneOffRequest.isOneOffName(dyno) else {
                throw DoorError(
                    .invalidValue,
                    "slipway: '\(TerminalText.printable(dyno))' is not a one-off dyno: ps:stop takes run.N as ps lists "
                        + "it (scale a process type down with ps:scale)")
            }
            let client = OneOffClient(socketPath: run.root.layout.controlSocket, descriptors: [])
            let request = OneOffRequest(app: app.name, command: "", user: run.actor.name, stop: dyno)
            return try client.run(
                request, started: { _ in run.say("Stopping \(dyno) of \(app.name)... done") },
                shouldStop: { run.context.signals?.poll().map { 128 + $0 } })
        },
    ]

    /// The runner's `state.json` of the app, when it has written one that reads.
    static func runnerState(_ run: Invocation, _ app: String) -> RunnerState? {
        (try? FileSystem.read(run.root.layout.runnerState(app))).flatMap { RunnerState.decode($0) }
    }

    /// The app's `dynos.json`, or the defaults.
    static func dynoSettings(_ run: Invocation, _ app: String) throws -> DynoSettings {
        do { return try DynoSettings.load(from: run.root.layout.dynoSettings(app)) } catch let error as SpoolError {
            throw DoorError(.storage, "slipway: \(error.description)")
        }
    }

    /// Changes the app's `dynos.json` under its lock (``DynoSettings/update(_:app:_:)``); returns it as saved.
    @discardableResult
    static func updateDynoSettings(
        _ run: Invocation, _ app: String, _ change: (inout DynoSettings) throws -> Void
    ) throws -> DynoSettings {
        do {
            return try DynoSettings.update(run.root.layout, app: app, change)
        } catch let error as SpoolError {
            throw DoorError(.storage, "slipway: \(error.description)")
        } catch let error as SystemError {
            throw DoorError.storage(error)
        }
    }

    /// `type=value` words, refused with one line that says what a valid one looks like.
    private static func parse(
        _ words: [String], values: ClosedRange<Int>, what: String, example: String
    ) throws -> [(type: String, value: Int)] {
        let unit = what == "scale" ? "QUANTITY" : "MB"
        do throws(DynoSettings.ChangeError) {
            return try DynoSettings.parseChanges(words, values: values)
        } catch .nothingGiven {
            throw DoorError(.usage, "slipway: say what to \(what), for example \(example)")
        } catch .malformed(let word) {
            throw DoorError(
                .invalidValue,
                "slipway: '\(TerminalText.printable(word))' is not a valid \(what): use TYPE=\(unit) with a process type "
                    + "from the Procfile and \(values.lowerBound) to \(values.upperBound), for example \(example)")
        } catch .releaseType {
            throw DoorError(
                .invalidValue,
                "slipway: the release process type runs once per deploy; it has no dynos to scale or size")
        } catch .repeated(let type) {
            throw DoorError(.invalidValue, "slipway: \(type) is given twice; give each process type once")
        }
    }
}
