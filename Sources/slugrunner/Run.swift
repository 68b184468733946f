import ArgumentParser
import SlipwaySpool
import SlugRunner

extension Slugrunner {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one process of a release in the foreground, like `heroku local` and `heroku run`.",
            discussion: """
                The slug is checked against its release.json, unpacked into a fresh folder (removed afterwards) and \
                run with HOME set to it, PORT, DYNO, the release's config vars and .profile.d/*.sh sourced. \
                Exits with the process's own status; 125 when slugrunner itself cannot run it.
                """)
        @OptionGroup var root: RootOption
        @OptionGroup var host: HostOption
        @Argument(
            help: ArgumentHelp(
                "A spool entry's folder, a release.json with its slug next to it, or an app name (its current "
                    + "release).",
                valueName: "entry-or-release"))
        var target: String
        @Argument(help: ArgumentHelp("The process type to run.", valueName: "process-type"))
        var processType: String?
        @Argument(
            parsing: .postTerminator,
            help: ArgumentHelp("A one-off command instead (after --), run by bash -c.", valueName: "command"))
        var command: [String] = []
        @Option(help: ArgumentHelp("PORT for the process. (default: a free port)", valueName: "port"))
        var port: UInt16?
        @Option(help: ArgumentHelp("A stack this machine provides (repeatable).", valueName: "name"))
        var stack: [String] = [ReleaseManifest.defaultStack]

        func run() throws {
            let options = ForegroundRun.Options(
                target: target, processType: processType, command: command, port: port, address: try host.address(),
                stacks: stack)
            let status = try reporting(exitCode: 125) {
                try ForegroundRun(root: root.resolved, options: options, say: sayOnStderr).run()
            }
            throw ExitCode(status)
        }
    }
}
