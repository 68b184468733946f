import ArgumentParser
import SlugRunner

extension Slugrunner {
    struct PS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ps", abstract: "List an app's processes: state, port, release, uptime.")
        @OptionGroup var root: RootOption
        @Argument(help: ArgumentHelp("The app.", valueName: "app"))
        var app: String
        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reporting {
                let status = try StatusReport(root: root.resolved, app: app).status()
                print(json ? try status.json() : StatusReport.text(status), terminator: "")
            }
        }
    }
}
