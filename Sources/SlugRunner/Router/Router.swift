public import Foundation
import SlipwayCerts
public import SlipwayRouting
import SlipwayRunnerKit
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP router in front of the web dynos: a Caddy driven through its admin API (Caddy 2.6, Debian's `caddy`).
///
/// Either the runner starts and owns the Caddy (`--router 127.0.0.1:8080`: `caddy run` in a session of its own, its
/// admin API on a unix socket in ``RouterSettings/folder``), or it drives one that runs already (`--router-admin`),
/// whose whole configuration it then replaces. Caddy finds each app's web dynos in the router's DNS (``RouterDNS``,
/// ``RouteZone``), so ``apply(_:)`` of a deploy's new dynos only changes that zone; the whole configuration
/// (``CaddyConfig``, `POST /load`) is sent again only when apps, host names or whether an app has web dynos change,
/// since every load closes the clients' idle kept-alive connections.
///
/// Used from the watcher's single thread; every call returns within a few seconds.
public final class Router {
    public let settings: RouterSettings
    /// The pid of the Caddy the router owns (also its process group), while it runs.
    public internal(set) var pid: pid_t?
    /// The user the owned Caddy runs as when the runner is root (``RouterUser``); nil: the runner's own.
    public private(set) var user: String?
    /// The table Caddy runs now; nil before the first successful load.
    public private(set) var loaded: RouteTable?
    /// The configuration Caddy runs now.
    private var loadedConfig: Data?
    private let accessLog: AccessLogReader
    private var dns: RouterDNS?
    /// Where the apps' host names stand with their certificates (HTTPS).
    var certificates: HostCertificates

    public init(settings: RouterSettings) {
        self.settings = settings
        accessLog = AccessLogReader(path: "\(settings.folder)/caddy/access.log")
        certificates = HostCertificates(
            storage: settings.adminAddress == nil ? CaddyStorage(root: "\(settings.folder)/caddy/data/caddy") : nil)
    }

    deinit { stop() }

    /// `<app>.<baseDomain>`: the host name an app answers at.
    public static func hostName(app: String, baseDomain: String) -> String {
        RouteTable.hostName(app: app, baseDomain: baseDomain)
    }

    /// `caddy.json`: a copy of the configuration last sent.
    public var configCopy: String { "\(settings.folder)/caddy.json" }
    /// Caddy's own folder, `caddy/` (its user's, mode 0700): its admin socket, its logs and storage. The router's
    /// folder around it stays the runner's.
    var caddyFolder: String { "\(settings.folder)/caddy" }
    /// The owned Caddy's admin socket.
    var adminSocket: String { "\(caddyFolder)/admin.sock" }
    /// The folders above the router's may be closed to Caddy's user (the runner's root is mode 0700): Caddy starts in
    /// ``caddyFolder`` and names its files through its working folder, which the kernel opens without looking at
    /// the folders above it.
    static let caddyView = "/proc/self/cwd"
    /// Where the runner reaches the admin API.
    var adminAddress: String { settings.adminAddress ?? "unix/\(adminSocket)" }
    /// What the owned Caddy printed while starting (`caddy.out`); its log afterwards is `caddy.log`.
    var startOutput: String { "\(settings.folder)/caddy.out" }

    /// The configuration, with the paths as Caddy names them (an owned Caddy through ``caddyView``).
    var config: CaddyConfig {
        let owned = settings.adminAddress == nil
        let folder = owned ? Self.caddyView : caddyFolder
        var config = CaddyConfig(
            listen: settings.listen, adminAddress: settings.adminAddress ?? "unix/\(folder)/admin.sock",
            accessLog: "\(folder)/access.log", resolverAddress: dns?.address ?? "",
            caddyLog: owned ? "\(folder)/caddy.log" : nil)
        config.timeout = settings.timeout
        config.tls = caddyTLS
        config.storage = owned ? "\(folder)/data/caddy" : nil
        return config
    }

    /// Starts the owned Caddy (or reaches the existing one) and loads an empty table: every host gets the "no such
    /// app" page until ``apply(_:)``.
    public func start() throws {
        _ = try RouterSettings.parseListen(settings.listen)
        try Files.makeFolders(settings.folder)
        chmod(settings.folder, 0o700)
        let admin = try CaddyAdmin(address: adminAddress)
        if pid != nil { stop() }
        let user = settings.adminAddress == nil && geteuid() == 0 ? try RouterUser.ensure() : nil
        self.user = user?.name
        let owner = FileSystem.Owner(uid: user?.uid ?? geteuid(), gid: user?.gid ?? getegid())
        do { try FileSystem.makeOwnedFolder(caddyFolder, owner: owner, mode: 0o700) } catch {
            throw RunnerError.system(error.operation, error.path, errno: error.errno)
        }
        try accessLog.reset(owner: owner)
        try installTLSFiles()
        loaded = nil
        if dns == nil {
            do { dns = try RouterDNS() } catch { throw RunnerError(.system, "slugrunner: \(error)") }
        }
        if settings.adminAddress == nil {
            try startCaddy(admin, as: user)
        } else if !admin.answers() {
            throw RunnerError(
                .notFound, "slugrunner: no Caddy answers at \(admin.address): start it, or drop --router-admin")
        }
        do { try apply(RouteTable()) } catch {
            stop()
            throw error
        }
    }

    /// Has Caddy serve `table`; nothing is sent when Caddy runs it already. An owned Caddy that has died is started
    /// again first. Throws when Caddy refuses the configuration (the previous one keeps running).
    public func apply(_ table: RouteTable) throws {
        if settings.adminAddress == nil, pid == nil || !isRunning {
            if pid != nil {
                FileHandle.standardError.write(Data("slugrunner: the router stopped; restarting it\n".utf8))
            }
            try start()
        }
        guard table != loaded else { return }
        let data = try config.json(table)
        let zone = RouteZone(table)
        if data != loadedConfig {
            dns?.update(zone)
            try Files.writeAtomically(data, to: configCopy, mode: 0o600)
            try CaddyAdmin(address: adminAddress).load(data)
            loadedConfig = data
        } else {
            let before = loaded.map(RouteZone.init) ?? RouteZone()
            dns?.update(zone)
            // A dyno that left the zone may still be picked until Caddy looks again: the caller stops it only
            // after that, so no request (a POST included) is sent to a dyno that is stopping.
            if before.hasTargets(missingFrom: zone) { usleep(useconds_t(RouteZone.refresh.wholeMilliseconds * 1500)) }
        }
        loaded = table
    }

    /// The `router` lines of the requests Caddy finished since the last call, oldest first.
    public func drainAccessLog() -> [RouterLogLine] {
        accessLog.readLines().compactMap { RouterLogLine(accessLogLine: Data($0.utf8)) }
    }

    /// Tells the router that the watcher reaped `pid` (its loop reaps every child); true if it was the router's
    /// Caddy, which the next ``apply(_:)`` starts again.
    @discardableResult
    public func reaped(_ pid: pid_t) -> Bool {
        guard pid == self.pid else { return false }
        self.pid = nil
        return true
    }

    /// Stops the owned Caddy (SIGTERM, then SIGKILL after `grace`) and waits for it; an existing Caddy is left
    /// running with its last configuration.
    public func stop(grace: Duration = .seconds(10)) {
        loaded = nil
        loadedConfig = nil
        guard let pid else { return }
        self.pid = nil
        ProcessGroup.signal(pid, SIGTERM)
        let deadline = ContinuousClock.now + grace
        while case .running = Reaping.reap(pid, block: false), ContinuousClock.now < deadline { usleep(20_000) }
        ProcessGroup.signal(pid, SIGKILL)
        _ = Reaping.reap(pid, block: true)
        unlink(adminSocket)
        unlink(pidFile)
    }

    /// Whether the owned Caddy still runs.
    public var isRunning: Bool {
        guard let pid else { return false }
        switch Reaping.reap(pid, block: false) {
        case .running: return true
        case .ended, .notAChild:
            self.pid = nil
            return false
        }
    }
}
