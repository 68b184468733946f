import Foundation
import SlipwaySpool

/// The server's folder as the build side sees it: `--root` or `$SLIPWAY_ROOT` (default `/var/lib/slipway`), and the
/// folders it owns (``RootLayout`` draws the whole tree, the runner's part included).
public struct SlipwayRoot: Sendable, Equatable {
    /// The default root when neither `--root` nor `SLIPWAY_ROOT` is given.
    public static let defaultPath = RootLayout.defaultPath

    /// Where everything is.
    public let layout: RootLayout
    /// The root folder's absolute path.
    public var path: String { layout.path }

    public init(_ path: String) {
        layout = RootLayout(path)
    }

    /// `--root`, else `$SLIPWAY_ROOT`, else ``defaultPath``.
    public static func resolve(_ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> SlipwayRoot
    {
        SlipwayRoot(RootLayout.resolve(option, environment: environment).path)
    }

    public var authorizedKeys: String { layout.authorizedKeys }
    public var appsDirectory: String { layout.buildApps }
    public var spoolDirectory: String { layout.spool }
    public var tmpDirectory: String { layout.tmp }
    /// The apps' logs, written by the runner (`<app>.log`).
    public var logsDirectory: String { layout.logs }
    /// The operator's log of what the server repaired on its own (``ServerLog``).
    public var serverLog: String { layout.serverLog }
    /// Runtime state that means nothing after a restart (build slots).
    public var runDirectory: String { layout.run }

    /// The paths of one app. The name must already be validated (``AppName``).
    public func app(_ name: String) -> AppPaths { AppPaths(directory: "\(appsDirectory)/\(name)", name: name) }
}

/// Where one app's files live under the root.
public struct AppPaths: Sendable, Equatable {
    /// `<root>/apps/<app>`.
    public let directory: String
    /// The app's name.
    public let name: String

    public var settings: String { "\(directory)/app.json" }
    public var repository: String { "\(directory)/repo.git" }
    public var cache: String { "\(directory)/cache" }
    public var builds: String { "\(directory)/builds" }
    public var ledger: String { "\(directory)/releases.jsonl" }
    public var slugs: String { "\(directory)/slugs" }
    public var lock: String { "\(directory)/lock" }
    /// The app's config vars (mode 0600).
    public var config: String { "\(directory)/config.json" }
}
