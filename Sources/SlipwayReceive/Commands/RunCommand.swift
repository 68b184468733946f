import Foundation
import SlipwayDoorRecords
import SlipwaySpool
import SlipwaySystem

/// `run <app> [--detach] [--] <command…>`: a one-off dyno of the app's current release, run by the runner in the
/// same sandbox as its other dynos, attached to this session (``OneOffClient``).
extension ManagementCommands {
    static let runCommand = ManagementCommand(
        "run", "<app> [--detach] [--] <command…>",
        "Run a command in a one-off dyno, attached to this session (--detach: its output goes to the app's log).",
        arity: 2...Int.max, options: ["--detach"], verbatimAfter: 1
    ) { run in
        let (app, _) = try run.app()
        // As Heroku and Dokku do: the words joined with spaces make the command, which the dyno's shell runs, so
        // `run myapp -- 'ls | wc -l'` pipes inside the dyno (never on the server).
        let command = run.arguments.dropFirst().joined(separator: " ")
        guard !command.allSatisfy(\.isWhitespace) else {
            throw DoorError(.usage, "slipway: say what to run, for example: run \(app.name) -- bash")
        }
        let detach = run.options.contains("--detach")
        let size = run.context.sessionDescriptors.count > 1 ? TerminalSize(of: run.context.sessionDescriptors[1]) : nil
        let request = OneOffRequest(
            app: app.name, command: command, detach: detach, user: run.actor.name, columns: size?.columns,
            lines: size?.lines)
        let client = OneOffClient(
            socketPath: run.root.layout.controlSocket, descriptors: run.context.sessionDescriptors)
        let shown = TerminalText.printable(command, limit: 60)
        return try client.run(
            request,
            started: { dyno in
                run.say("Running `\(shown)` on \(app.name)... up, \(TerminalText.printable(dyno))")
                if detach { run.say("Its output goes to the app's log: logs \(app.name) --tail shows it.") }
            },
            shouldStop: {
                if let signal = run.context.signals?.poll() { return 128 + signal }
                return run.context.connectionClosed() ? 1 : nil
            })
    }
}
