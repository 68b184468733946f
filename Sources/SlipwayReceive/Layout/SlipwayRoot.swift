import Foundation

/// The server's folder, `--root` or `$SLIPWAY_ROOT` (default `/var/lib/slipway`), and where everything lives in it.
///
/// ```
/// <root>/
///   authorized_keys          keys allowed in, each with its forced command (receive-pack keys …)
///   apps/<app>/
///     app.json               owner, collaborators, deploy branch, build dir, buildpacks (AppSettings)
///     config.json            the app's config vars (mode 0600)
///     repo.git/              the bare repository pushes go to, with Slipway's hooks
///     cache/                 the buildpacks' CACHE_DIR, kept between builds
///     builds/<id>.log        the full output of the last builds
///     builds/<id>.json       each build's commit, user, result, duration (BuildRecord)
///     releases.jsonl         the append-only release ledger (v1, v2, …)
///     slugs/<sha256>.tgz     slugs, content-addressed, kept for rollbacks
///     lock                   flock(2) file: one build (or config change, rollback, purge) at a time per app
///   spool/{tmp,new,cur}/     the hand-off to the runner (docs/spool.md)
///   tmp/                     work folders of running builds; leftovers of killed ones are swept
///   run/build-slots/         flock(2) files capping builds at once (receive-pack serve --max-builds)
///   server.log               what recovery repaired (stale git locks), one line each
///   ssh_host_ed25519_key     the built-in server's host key (receive-pack serve)
/// ```
public struct SlipwayRoot: Sendable, Equatable {
    /// The default root when neither `--root` nor `SLIPWAY_ROOT` is given.
    public static let defaultPath = "/var/lib/slipway"

    /// The root folder's absolute path.
    public let path: String

    public init(_ path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `--root`, else `$SLIPWAY_ROOT`, else ``defaultPath``.
    public static func resolve(_ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> SlipwayRoot
    {
        SlipwayRoot(option ?? environment["SLIPWAY_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath)
    }

    public var authorizedKeys: String { "\(path)/authorized_keys" }
    public var appsDirectory: String { "\(path)/apps" }
    public var spoolDirectory: String { "\(path)/spool" }
    public var tmpDirectory: String { "\(path)/tmp" }
    /// The apps' logs, written by the runner (`<app>.log`).
    public var logsDirectory: String { "\(path)/logs" }
    /// The operator's log of what the server repaired on its own (``ServerLog``).
    public var serverLog: String { "\(path)/server.log" }
    /// Runtime state that means nothing after a restart (build slots).
    public var runDirectory: String { "\(path)/run" }

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
