import ArgumentParser
import Foundation
import SlipwayReceive

extension ReceivePack {
    struct ReleaseKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release-key",
            abstract:
                "Print the key a runner on another machine needs (slugrunner watch --release-key <file>): the door's "
                + "public signing key and the key that opens config vars. Keep the file secret (mode 0600).")
        @OptionGroup var root: RootOption

        func run() throws {
            try reporting {
                FileHandle.standardOutput.write(try ServerSetup.runnerKeyFile(root.resolved))
            }
        }
    }
}
