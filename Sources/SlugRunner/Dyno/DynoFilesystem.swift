import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Each dyno's ephemeral filesystem, as Heroku's: at every start a fresh, private, writable copy of the release's
/// `app/` folder, in the dyno start's own place `<root>/runner/dynos/<app>/<dyno>` (`<dyno>` is the dyno's name and a
/// start id, such as `web.1-k3f9a2`, since an old and a new release's `web.1` overlap during a deploy). The place
/// holds `files/app` (the copy, the dyno's `/app`) and, with a disk of its own (``DynoDisks``), `files/tmp` (its
/// `/tmp`), both on that disk, mounted at `files`. What one dyno writes there no other dyno sees, and it is removed
/// once the dyno's processes are gone. The place has mode 0700 and, when the runner is root, belongs to the app's
/// user like every file of the copy; the unpacked release itself stays the runner's (mode 0750, so other apps' users
/// cannot read it).
struct DynoFilesystem {
    /// What one dyno start was given.
    struct Made {
        /// The copy of the release (`files/app`).
        var copy: String
        /// The dyno's `/tmp` on its disk; nil without one (the sandbox's tmpfs).
        var tmp: String?
        var disk: LoopDisk?
    }

    let root: RunnerRoot
    /// Nil: dynos write to the host's disk without a bound.
    let disks: DynoDisks?

    /// `<root>/runner/dynos`.
    var folder: String { "\(root.runnerDirectory)/dynos" }

    /// The places of `app`'s dyno starts.
    func appFolder(_ app: String) -> String { "\(folder)/\(app)" }

    /// The place of one start of a dyno.
    func place(app: String, id: String) -> String { "\(appFolder(app))/\(id)" }

    /// Makes the place of the dyno start `id` (its disk of `diskMB`, when dynos have disks) and copies `release`'s
    /// app into it.
    func create(
        app: String, id: String, release: UnpackedRelease, owner: FileSystem.Owner?, diskMB: Int
    ) throws -> Made {
        let place = place(app: app, id: id)
        try Files.makeFolders(appFolder(app))
        remove(app: app, id: id)
        var made = Made(copy: "\(DynoDisks.files(place))/app")
        if let disks {
            made.disk = try disks.make(at: place, megabytes: diskMB, owner: owner)
        } else {
            guard mkdir(place, 0o700) == 0 else { throw RunnerError.system("mkdir", place, errno: errno) }
        }
        do {
            if let owner, chown(place, owner.uid, owner.gid) != 0 {
                throw RunnerError.system("chown", place, errno: errno)
            }
            if made.disk != nil {
                let tmp = "\(DynoDisks.files(place))/tmp"
                guard mkdir(tmp, 0o700) == 0, chmod(tmp, 0o1777) == 0 else {
                    throw RunnerError.system("mkdir", tmp, errno: errno)
                }
                if let owner { chown(tmp, owner.uid, owner.gid) }
                made.tmp = tmp
            } else if mkdir(DynoDisks.files(place), 0o755) != 0 {
                throw RunnerError.system("mkdir", DynoDisks.files(place), errno: errno)
            }
            do {
                try FileSystem.copyTree(release.home, to: made.copy, owner: owner)
            } catch {
                let full = made.disk?.space.map { $0.free < DynoDisks.fullBelowBytes } ?? false
                throw RunnerError(
                    full ? .disk : .system,
                    full
                        ? "slugrunner: the release does not fit on \(id)'s disk; give the process type a larger one "
                            + "with ps:disk"
                        : "slugrunner: cannot copy the release for \(id): \(error)")
            }
        } catch {
            remove(app: app, id: id)
            throw error
        }
        return made
    }

    /// Removes the place of the dyno start `id` (its disk unmounted first).
    func remove(app: String, id: String) {
        DynoDisks.remove(place(app: app, id: id))
    }

    /// The apps that have dyno places.
    var apps: [String] { Files.folders(in: folder).filter { !$0.hasPrefix(".") } }

    /// The dyno starts of `app` that have a place.
    func ids(app: String) -> [String] {
        Files.folders(in: appFolder(app))
    }
}
