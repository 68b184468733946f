import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Each dyno's ephemeral filesystem, as Heroku's: at every start a fresh, private, writable copy of the release's
/// `app/` folder, at `<root>/runner/apps/<app>/dynos/<dyno>/app` (`<dyno>` is the dyno's name and a start id, such
/// as `web.1-k3f9a2`, since an old and a new release's `web.1` overlap during a deploy). What one dyno writes there
/// no other dyno sees, and it is removed once the dyno's processes are gone. The per-dyno folder has mode 0700 and,
/// when the runner is root, belongs to the app's user like every file of the copy; the unpacked release itself stays
/// the runner's (mode 0750, so other apps' users cannot read it).
struct DynoFilesystem {
    let root: RunnerRoot

    /// `<root>/runner/apps/<app>/dynos`.
    func dynosFolder(_ app: String) -> String { "\(root.app(app))/dynos" }

    /// The folder of one start of a dyno.
    func folder(app: String, id: String) -> String { "\(dynosFolder(app))/\(id)" }

    /// Copies `release`'s app into a new folder for the dyno start `id`; returns the copy's path.
    func create(app: String, id: String, release: UnpackedRelease, owner: FileSystem.Owner?) throws -> String {
        let folder = folder(app: app, id: id)
        try Files.makeFolders(dynosFolder(app))
        try? FileSystem.removeTree(folder)
        guard mkdir(folder, 0o700) == 0 else { throw RunnerError.system("mkdir", folder, errno: errno) }
        do {
            if let owner, chown(folder, owner.uid, owner.gid) != 0 {
                throw RunnerError.system("chown", folder, errno: errno)
            }
            do {
                try FileSystem.copyTree(release.home, to: "\(folder)/app", owner: owner)
            } catch {
                throw RunnerError(
                    .system, "slugrunner: cannot copy \(release.home) for \(id): \(error)")
            }
        } catch {
            try? FileSystem.removeTree(folder)
            throw error
        }
        return "\(folder)/app"
    }

    /// Removes the folder of the dyno start `id`.
    func remove(app: String, id: String) {
        try? FileSystem.removeTree(folder(app: app, id: id))
    }

    /// The dyno starts of `app` that have a folder.
    func ids(app: String) -> [String] {
        Files.folders(in: dynosFolder(app))
    }
}
