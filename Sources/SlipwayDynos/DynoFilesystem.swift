import Foundation
public import SlipwayRunnerKit
public import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Each dyno's ephemeral filesystem, as Heroku's: at every start a fresh, private, writable copy of the release's
/// `app/` folder, in the dyno start's own place `<root>/runner/dynos/<app>/<dyno>` (`<dyno>` is the dyno's name and a
/// start id, such as `web.1-k3f9a2`, since an old and a new release's `web.1` overlap during a deploy). The place
/// holds `files/app` (the copy, the dyno's `/app`) and, with a disk of its own (``DynoDisks``), `disk.img`, mounted
/// at `files` in the dyno's own mount namespace, with `files/tmp` (its `/tmp`). What one dyno writes there no other dyno sees, and it is removed
/// once the dyno's processes are gone. The place has mode 0700 and, when the runner is root, belongs to the app's
/// user like every file of the copy; the unpacked release itself stays the runner's (mode 0750, so other apps' users
/// cannot read it).
public struct DynoFilesystem {
    /// What one dyno start was given.
    public struct Made {
        /// The copy of the release (`files/app`).
        public var copy: String
        /// The dyno's `/tmp` on its disk; nil without one (the sandbox's tmpfs).
        public var tmp: String?
        public var disk: LoopDisk?
        /// What mounts the disk and copies the release into it, before the sandbox (``DynoDiskEntry``).
        public var launcher: [String] = []
    }

    public let root: RunnerRoot
    /// Nil: dynos write to the host's disk without a bound.
    public let disks: DynoDisks?

    public init(root: RunnerRoot, disks: DynoDisks?) {
        self.root = root
        self.disks = disks
    }

    /// `<root>/runner/dynos`.
    public var folder: String { "\(root.runnerDirectory)/dynos" }

    /// The places of `app`'s dyno starts.
    public func appFolder(_ app: String) -> String { "\(folder)/\(app)" }

    /// The place of one start of a dyno.
    public func place(app: String, id: String) -> String { "\(appFolder(app))/\(id)" }

    /// Makes the place of the dyno start `id`: with disks, the image of its disk of `diskMB`, which the dyno's first
    /// process mounts and copies the release's app folder `release` into (``Made/launcher``); without, a copy of it on
    /// the host's disk.
    public func create(
        app: String, id: String, release: String, owner: FileSystem.Owner?, diskMB: Int
    ) throws -> Made {
        let place = place(app: app, id: id)
        try Files.makeFolders(appFolder(app))
        remove(app: app, id: id)
        let files = DynoDisks.files(place)
        var made = Made(copy: "\(files)/app")
        do {
            if let disks {
                let disk = try disks.make(at: place, megabytes: diskMB)
                made.disk = disk
                made.tmp = "\(files)/tmp"
                made.launcher = disks.launcher(for: disk, release: release, owner: owner)
            } else {
                guard mkdir(place, 0o700) == 0 else { throw RunnerError.system("mkdir", place, errno: errno) }
                guard mkdir(files, 0o755) == 0 else { throw RunnerError.system("mkdir", files, errno: errno) }
                do {
                    try FileSystem.copyTree(release, to: made.copy, owner: owner)
                } catch {
                    throw RunnerError(.system, "slugrunner: cannot copy the release for \(id): \(error)")
                }
            }
            if let owner, chown(place, owner.uid, owner.gid) != 0 {
                throw RunnerError.system("chown", place, errno: errno)
            }
        } catch {
            remove(app: app, id: id)
            throw error
        }
        return made
    }

    /// Removes the place of the dyno start `id` (its disk unmounted first).
    public func remove(app: String, id: String) {
        DynoDisks.remove(place(app: app, id: id))
    }

    /// The apps that have dyno places.
    public var apps: [String] { Files.folders(in: folder).filter { !$0.hasPrefix(".") } }

    /// The dyno starts of `app` that have a place.
    public func ids(app: String) -> [String] {
        Files.folders(in: appFolder(app))
    }
}
