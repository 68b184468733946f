import Foundation
import SlipwaySpool

/// The server's folder (`--root`, `$SLIPWAY_ROOT`, default `/var/lib/slipway`), as the runner sees it: the spool it
/// reads, and the folders it owns.
///
/// ```
/// <root>/
///   spool/{tmp,new,cur}/          written by receive-pack; the runner claims from new/ into cur/
///   spool/rejected/<entry>/       entries that failed their checks (never run)
///   spool/failed/<entry>/         entries whose deploy failed (release phase, or web never listening)
///   logs/<app>.log                every process's lines and the runner's events (<app>.log.1: the previous)
///   runner/watch.lock             flock(2): one `slugrunner watch` per root; holds its pid
///   runner/apps/<app>/
///     formation.json              process type -> count (`slugrunner scale`); default web=1
///     current                     the spool entry (in cur/) of the release that serves
///     state.json                  what runs now, written by the watcher for `slugrunner ps`
///     releases/<entry>/           the unpacked slug (app/) and a copy of its release.json
/// ```
public struct RunnerRoot: Sendable, Equatable {
    /// The default root when neither `--root` nor `SLIPWAY_ROOT` is given.
    public static let defaultPath = "/var/lib/slipway"

    /// The root folder's absolute path.
    public let path: String

    public init(_ path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `--root`, else `$SLIPWAY_ROOT`, else ``defaultPath``.
    public static func resolve(_ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> RunnerRoot
    {
        RunnerRoot(option ?? environment["SLIPWAY_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath)
    }

    /// `<root>/spool`.
    public var spoolDirectory: String { "\(path)/spool" }
    /// `<root>/logs`.
    public var logsDirectory: String { "\(path)/logs" }
    /// `<root>/runner`.
    public var runnerDirectory: String { "\(path)/runner" }
    /// The watcher's lock file.
    public var watchLock: String { "\(runnerDirectory)/watch.lock" }
    /// `<root>/runner/apps`.
    public var appsDirectory: String { "\(runnerDirectory)/apps" }

    /// `<root>/logs/<app>.log`.
    public func log(_ app: String) -> String { "\(logsDirectory)/\(app).log" }
    /// The runner's folder for `app` (the name must be valid: ``AppName``).
    public func app(_ app: String) -> String { "\(appsDirectory)/\(app)" }
    /// `formation.json` of `app`.
    public func formation(_ app: String) -> String { "\(self.app(app))/formation.json" }
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
