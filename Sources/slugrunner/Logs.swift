import ArgumentParser
import Foundation
import SlipwayLogs
import SlipwayRunnerKit
import SlipwaySpool
import SlugRunner

extension Slugrunner {
    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an app's log: its processes' lines and the runner's events.")
        @OptionGroup var root: RootOption
        @Argument(help: ArgumentHelp("The app.", valueName: "app"))
        var app: String
        @Option(name: [.short, .customLong("num")], help: "How many of the last lines to print.")
        var num: Int = 100
        @Flag(name: [.short, .long], help: "Keep printing lines as they are written (Ctrl-C stops).")
        var tail = false

        func run() throws {
            try reporting {
                try AppName.validate(app)
                let reader = LogReader(path: root.resolved.log(app))
                if tail {
                    try reader.follow(last: num) { line in
                        FileHandle.standardOutput.write(Data((line + "\n").utf8))
                    }
                } else {
                    for line in try reader.lastLines(num) { print(line) }
                }
            }
        }
    }
}
