import Foundation
public import SlipwaySpool

/// The server's folder as the runner sees it: the spool it reads, and the folders it owns (``RootLayout`` draws the
/// whole tree).
public struct RunnerRoot: RootLayoutView {
    public let layout: RootLayout

    public init(layout: RootLayout) {
        self.layout = layout
    }

    /// `<root>/runner`.
    public var runnerDirectory: String { layout.runner }
    /// The watcher's lock file.
    public var watchLock: String { "\(runnerDirectory)/watch.lock" }
    /// `<root>/runner/apps`.
    public var appsDirectory: String { layout.runnerApps }

    /// `<root>/logs/<app>.log`.
    public func log(_ app: String) -> String { layout.log(app) }
    /// The runner's folder for `app` (the name must be valid: ``AppName``).
    public func app(_ app: String) -> String { "\(appsDirectory)/\(app)" }
    /// The file naming the entry that serves `app`.
    public func current(_ app: String) -> String { "\(self.app(app))/current" }
    /// `state.json` of `app`, read by `slugrunner ps`.
    public func state(_ app: String) -> String { "\(self.app(app))/state.json" }
    /// Where `app`'s releases are unpacked.
    public func releases(_ app: String) -> String { "\(self.app(app))/releases" }
}

extension AppName {
    /// Throws a usage error unless `name` is a valid app name (``AppName/isValid(_:)``).
    public static func validate(_ name: String) throws {
        guard isValid(name) else {
            throw RunnerError(.usage, "slugrunner: '\(name)' is not a valid app name: \(rule)")
        }
    }
}
