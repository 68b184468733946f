import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `slugrunner scale <app> web=2 worker=1`: changes an app's formation file, which the running watcher re-reads
/// within its poll interval.
public enum Scaling {
    /// Applies `arguments` (`type=count`) to `app`'s formation and returns the result. Concurrent scales of one app
    /// are serialized with a lock, so neither loses the other's change.
    public static func scale(root: RunnerRoot, app: String, arguments: [String]) throws -> Formation {
        try AppName.validate(app)
        let changes = try Formation.parseChanges(arguments)
        try Files.makeFolders(root.app(app))
        let lockPath = "\(root.app(app))/formation.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunnerError.system("open", lockPath, errno: errno) }
        defer { close(fd) }
        guard FileLock.wait(fd) else { throw RunnerError.system("flock", lockPath, errno: errno) }
        let formation = try Formation.load(from: root.formation(app)).applying(changes)
        try formation.save(to: root.formation(app))
        return formation
    }

    /// The app's formation as it is now.
    public static func current(root: RunnerRoot, app: String) throws -> Formation {
        try AppName.validate(app)
        return try Formation.load(from: root.formation(app))
    }
}
