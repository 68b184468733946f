import ArgumentParser
import SlugRunner

extension Slugrunner {
    struct Scale: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set how many processes of each type an app runs (web=2 worker=1); without changes, print it.")
        @OptionGroup var root: RootOption
        @Argument(help: ArgumentHelp("The app.", valueName: "app"))
        var app: String
        @Argument(help: ArgumentHelp("TYPE=COUNT changes.", valueName: "type=count"))
        var changes: [String] = []

        func run() throws {
            try reporting {
                if changes.isEmpty {
                    print(try Scaling.current(root: root.resolved, app: app).summary)
                } else {
                    let formation = try Scaling.scale(root: root.resolved, app: app, arguments: changes)
                    print("Scaled \(app) to \(formation.summary)")
                }
            }
        }
    }
}
