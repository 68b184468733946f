import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `slugrunner scale <app> web=2 worker=1`: changes the formation in the app's `dynos.json` (``DynoSettings``), which the running watcher re-reads
/// within its poll interval.
public enum Scaling {
    /// Applies `arguments` (`type=count`) to `app`'s formation and returns the result. Concurrent scales of one app
    /// are serialized with a lock, so neither loses the other's change.
    public static func scale(root: RunnerRoot, app: String, arguments: [String]) throws -> Formation {
        try AppName.validate(app)
        let changes = try Formation.parseChanges(arguments)
        let settingsPath = root.layout.dynoSettings(app)
        try Files.makeFolders((settingsPath as NSString).deletingLastPathComponent)
        let lockPath = root.layout.dynoSettingsLock(app)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunnerError.system("open", lockPath, errno: errno) }
        defer { close(fd) }
        guard FileLock.wait(fd) else { throw RunnerError.system("flock", lockPath, errno: errno) }
        var settings = try DynoSettings.load(from: settingsPath)
        for (type, count) in changes { settings = settings.scaling(type, to: count) }
        try settings.save(to: settingsPath)
        return Formation(settings.quantities)
    }

    /// The app's formation as it is now.
    public static func current(root: RunnerRoot, app: String) throws -> Formation {
        try AppName.validate(app)
        return Formation(try DynoSettings.load(from: root.layout.dynoSettings(app)).quantities)
    }
}
