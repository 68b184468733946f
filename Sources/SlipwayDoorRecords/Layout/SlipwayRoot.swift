import Foundation
public import SlipwaySpool

/// The server's folder as the build side sees it: `--root` or `$SLIPWAY_ROOT` (default `/var/lib/slipway`), and the
/// folders it owns (``RootLayout`` draws the whole tree, the runner's part included).
public struct SlipwayRoot: RootLayoutView {
    public let layout: RootLayout

    public init(layout: RootLayout) {
        self.layout = layout
    }

    public var authorizedKeys: String { layout.authorizedKeys }
    public var appsDirectory: String { layout.buildApps }
    public var tmpDirectory: String { layout.tmp }
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
