import ArgumentParser
import SlipwayDynos
import SlipwaySystem
import SlugRunner

extension Slugrunner {
    /// The first step of a dyno with a disk of its own; the watcher runs it, nobody else needs to.
    struct DynoDisk: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dyno-disk",
            abstract: "Mount a dyno's disk, copy its release in, then run the dyno (the watcher's own step).",
            shouldDisplay: false)

        @Option(help: "The disk's image.") var image: String
        @Option(help: "Where to mount it.") var mountPoint: String
        @Option(help: "The release's app folder, copied to <mount-point>/app.") var release: String
        @Option(help: ArgumentHelp("The app's user, who gets the disk.", valueName: "uid:gid")) var owner: String?
        @Argument(parsing: .postTerminator, help: "The dyno's command line.") var command: [String] = []

        func run() throws {
            var user: FileSystem.Owner?
            if let owner {
                let parts = owner.split(separator: ":").compactMap { UInt32($0) }
                guard parts.count == 2 else { throw ValidationError("--owner is '\(owner)'; give uid:gid") }
                user = FileSystem.Owner(uid: parts[0], gid: parts[1])
            }
            DynoDiskEntry.run(image: image, mountPoint: mountPoint, release: release, owner: user, command: command)
        }
    }
}
