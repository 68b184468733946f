import ArgumentParser
import Foundation
import SlipwayAddons
import SlipwaySpool
import SlipwaySystem

extension ReceivePack {
    /// `receive-pack addons-supervisor`: keeps the add-on servers of the root running (docs/addons.md).
    struct AddonsSupervisorCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "addons-supervisor",
            abstract: "Keep the add-on servers running: start again any that stopped (run it as the door's user).",
            discussion: "The servers run detached: they outlive the supervisor, and the next one adopts them.")
        @OptionGroup var root: RootOption

        func run() throws {
            let signals = SignalWatcher()
            let console = Console(.fileDescriptor(2), colors: false)
            AddonSupervisor(root: root.resolved.path) { console.raw($0) }.run(signals: signals)
        }
    }
}
