public import Foundation

/// The server's folder (`--root`, `$SLIPWAY_ROOT`, default `/var/lib/slipway`): where the build side and the runner
/// meet, spelled out once for both. The build side (`SlipwayRoot` in SlipwayReceive) and the runner (`RunnerRoot` in
/// SlugRunner) each add the paths of the folders they own.
///
/// ```
/// <root>/
///   spool/{tmp,new,cur}/          the hand-off: receive-pack writes, the runner claims from new/ into cur/
///   spool/rejected/<entry>/       entries that failed their checks (never run)
///   spool/failed/<entry>/         entries whose deploy failed (release phase, or web never listening)
///   logs/<app>.log                written by the runner (<app>.log.1: the previous), read by `logs`
///
///   (the build side's: SlipwayRoot)
///   authorized_keys               keys allowed in, each with its forced command (receive-pack keys …)
///   apps/<app>/
///     app.json                    owner, collaborators, deploy branch, build dir, buildpacks (AppSettings)
///     config.json                 the app's config vars (mode 0600)
///     dynos.json                  formation, memory, restarts, domains, health check (DynoSettings): door -> runner
///     dynos.lock                  lock file (FileLock) around changes of dynos.json (door, slugrunner scale)
///     repo.git/                   the bare repository pushes go to, with Slipway's hooks
///     cache/                      the buildpacks' CACHE_DIR, kept between builds
///     builds/<id>.log, <id>.json  the output and the record of the last builds
///     releases.jsonl              the append-only release ledger (v1, v2, …)
///     slugs/<sha256>.tgz          slugs, content-addressed, kept for rollbacks
///     lock                        lock file (FileLock): one build (or config change, rollback, purge) at a time per app
///     app-webhooks.json           the app's outgoing webhooks and their secrets (mode 0600; SlipwayAppWebhooks)
///     app-webhook-deliveries.json the last deliveries of its webhooks and what became of them
///   app-webhooks/queue/<app>/<webhook>/  webhook deliveries still to make, one file each (receive-pack deliver-webhooks)
///   tmp/                          work folders of running builds; leftovers of killed ones are swept
///   run/build-slots/              lock files (FileLock) capping builds at once (receive-pack serve --max-builds)
///   run/domains.lock              lock file (FileLock): one domains:add at a time, so no domain goes to two apps
///   run/app-webhooks.lock         lock file (FileLock): one webhook deliverer at a time
///   server.log                    what recovery repaired (stale git locks), one line each
///   ssh_host_ed25519_key          the built-in server's host key (receive-pack serve)
///   release-key.json              the door's release key (mode 0600): signs manifests, seals config vars (ReleaseKey)
///
///   (the runner's: RunnerRoot)
///   runner/watch.lock             lock (FileLock): one `slugrunner watch` per root; holds its pid
///   runner/control.sock           the watcher's unix socket (mode 0600): the door asks it for one-off dynos
///   runner/apps/<app>/
///     current                     the spool entry (in cur/) of the release that serves
///     state.json                  what runs now, written by the watcher for `slugrunner ps`
///     metrics/<hour>.json         the app's figures per minute, 24 hours of them (SlipwayMetrics' MetricsStore)
///     releases/<entry>/           the unpacked slug (app/) and a copy of its release.json
/// ```
public struct RootLayout: Sendable, Equatable {
    /// The default root when neither `--root` nor `SLIPWAY_ROOT` is given.
    public static let defaultPath = "/var/lib/slipway"

    /// The root folder's absolute path.
    public let path: String

    public init(_ path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `--root`, else `$SLIPWAY_ROOT`, else ``defaultPath``.
    public static func resolve(_ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> RootLayout
    {
        RootLayout(option ?? environment["SLIPWAY_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultPath)
    }

    /// `<root>/spool` (docs/spool.md).
    public var spool: String { "\(path)/spool" }
    /// `<root>/logs`.
    public var logs: String { "\(path)/logs" }
    /// `<root>/logs/<app>.log`: the app's log (the name must be valid: ``AppName``).
    public func log(_ app: String) -> String { "\(logs)/\(app).log" }

    /// `<root>/apps`: the build side's app folders.
    public var buildApps: String { "\(path)/apps" }
    /// `<root>/apps/<app>/dynos.json`: what the door wants of the app's dynos (``DynoSettings``).
    public func dynoSettings(_ app: String) -> String { "\(buildApps)/\(app)/dynos.json" }
    /// `<root>/apps/<app>/dynos.lock`: held around a change of `dynos.json`.
    public func dynoSettingsLock(_ app: String) -> String { "\(buildApps)/\(app)/dynos.lock" }
    /// `<root>/apps/<app>/tls/certificate.pem`: the app's own certificate chain (`certs:add`), mode 0600.
    public func appCertificate(_ app: String) -> String { "\(buildApps)/\(app)/tls/certificate.pem" }
    /// `<root>/apps/<app>/tls/key.pem`: its private key, mode 0600.
    public func appCertificateKey(_ app: String) -> String { "\(buildApps)/\(app)/tls/key.pem" }
    /// `<root>/run/domains.lock`: held while a domain is given to an app.
    public var domainsLock: String { "\(run)/domains.lock" }
    /// `<root>/authorized_keys`.
    public var authorizedKeys: String { "\(path)/authorized_keys" }
    /// `<root>/tmp`: builds' work folders.
    public var tmp: String { "\(path)/tmp" }
    /// `<root>/run`: runtime state that means nothing after a restart.
    public var run: String { "\(path)/run" }
    /// `<root>/release-key.json`: the door's release key (``DoorReleaseKey``), mode 0600.
    public var releaseKey: String { "\(path)/release-key.json" }
    /// `<root>/server.log`.
    public var serverLog: String { "\(path)/server.log" }

    /// `<root>/runner`: the runner's own folders.
    public var runner: String { "\(path)/runner" }
    /// `<root>/runner/apps`.
    public var runnerApps: String { "\(runner)/apps" }
    /// `<root>/runner/apps/<app>/state.json`: what runs for the app (``RunnerState``), written by the runner.
    public func runnerState(_ app: String) -> String { "\(runnerApps)/\(app)/state.json" }
    /// `<root>/runner/apps/<app>/metrics`: the app's figures per minute, written by the runner, read by `metrics`.
    public func runnerMetrics(_ app: String) -> String { "\(runnerApps)/\(app)/metrics" }
    /// `<root>/runner/watch.lock`: held by the running watcher.
    public var watchLock: String { "\(runner)/watch.lock" }
    /// `<root>/runner/control.sock`: the runner's control socket (one-off dynos, ``OneOffRequest``).
    public var controlSocket: String { "\(runner)/control.sock" }
}

/// One side's view of the server's folder (the build side's `SlipwayRoot`, the runner's `RunnerRoot`): the layout,
/// how it is found, and the folders both sides use; each side adds the paths of the folders it owns.
public protocol RootLayoutView: Sendable, Equatable {
    /// Where everything is.
    var layout: RootLayout { get }
    init(layout: RootLayout)
}

extension RootLayoutView {
    /// The default root when neither `--root` nor `SLIPWAY_ROOT` is given.
    public static var defaultPath: String { RootLayout.defaultPath }

    public init(_ path: String) { self.init(layout: RootLayout(path)) }

    /// `--root`, else `$SLIPWAY_ROOT`, else ``defaultPath``.
    public static func resolve(_ option: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> Self
    {
        Self(layout: RootLayout.resolve(option, environment: environment))
    }

    /// The root folder's absolute path.
    public var path: String { layout.path }
    /// `<root>/spool`.
    public var spoolDirectory: String { layout.spool }
    /// `<root>/logs`: the apps' logs, written by the runner (`<app>.log`).
    public var logsDirectory: String { layout.logs }
}
