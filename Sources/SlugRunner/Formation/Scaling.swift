import Foundation
public import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySystem

/// `slugrunner scale <app> web=2 worker=1`: changes the formation in the app's `dynos.json` (``DynoSettings``, the
/// file the door's `ps:scale` writes too), which the running watcher re-reads within its poll interval.
public enum Scaling {
    /// Applies `arguments` (`type=count`) to `app`'s formation and returns the result. Concurrent scales of one app,
    /// here or at the door, are serialized with the settings' lock, so neither loses the other's change.
    public static func scale(root: RunnerRoot, app: String, arguments: [String]) throws -> Formation {
        try AppName.validate(app)
        let changes = try Formation.parseChanges(arguments)
        let settings = try runnerErrors {
            try DynoSettings.update(root.layout, app: app) { settings in
                for (type, count) in changes { settings = settings.scaling(type, to: count) }
            }
        }
        return Formation(settings.quantities)
    }

    /// The app's formation as it is now.
    public static func current(root: RunnerRoot, app: String) throws -> Formation {
        try AppName.validate(app)
        return Formation(try runnerErrors { try DynoSettings.load(from: root.layout.dynoSettings(app)) }.quantities)
    }

    /// Runs `body`, reporting a failure of the system layer or the settings file as a ``RunnerError``.
    private static func runnerErrors<Value>(_ body: () throws -> Value) throws -> Value {
        do {
            return try body()
        } catch let failure as SystemError {
            throw RunnerError.system(failure.operation, failure.path, errno: failure.errno)
        } catch let failure as SpoolError {
            throw RunnerError(.usage, "slugrunner: \(failure.description)")
        }
    }
}
