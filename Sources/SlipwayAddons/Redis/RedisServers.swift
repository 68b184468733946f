import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The Redis servers of Redis add-ons on this machine (Debian's `redis-server`): one process per add-on, in
/// `<root>/addons/redis/<addon>/` (its `redis.conf`, append-only file, pid file and log), on a port of its own, with
/// a password, a memory ceiling and AOF persistence (`appendfsync always`: an acknowledged write survives a crash).
/// It runs detached (`daemonize yes`), as the door's user or, when the door is root, Debian's `redis` user; the
/// supervisor (``AddonSupervisor``) starts again any that stopped.
struct RedisServers: Sendable {
    let layout: AddonLayout
    let server: String
    /// The user the servers run as; nil: this process's.
    let user: Sandbox.User?
    /// Each server's `maxmemory`, in MB.
    static let maxMemoryMB = 64

    init(root: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(AddonError) {
        layout = AddonLayout(root: root)
        server = environment["SLIPWAY_REDIS_SERVER"] ?? "/usr/bin/redis-server"
        guard access(server, X_OK) == 0 else {
            throw AddonError(
                .serverDown,
                "Redis is not installed on the server: the operator installs Debian's redis-server (scripts/setup does)"
            )
        }
        if geteuid() == 0 {
            do throws(SandboxError) { user = try Sandbox.User.named("redis") } catch {
                throw AddonError(
                    .serverDown, "the server has no redis user: the operator installs Debian's redis-server")
            }
        } else {
            user = nil
        }
    }

    func folder(_ addon: String) -> String { "\(layout.redisFolder)/\(addon)" }

    /// The add-ons that have a server here (a folder with its `redis.conf`).
    func names() -> [String] {
        let names = (try? FileSystem.names(in: layout.redisFolder)) ?? []
        return names.filter { AddonNames.isValid($0) && access("\(folder($0))/redis.conf", R_OK) == 0 }.sorted()
    }

    /// Makes the folder and configuration of `addon`'s server and starts it.
    func make(_ addon: String, port: UInt16, password: String) throws(AddonError) {
        let folder = folder(addon)
        do throws(SystemError) {
            try FileSystem.makeFolders(layout.folder, mode: 0o711)
            try FileSystem.makeFolders(layout.redisFolder, mode: 0o711)
            if let user {
                try FileSystem.makeOwnedFolder(folder, owner: .init(uid: user.uid, gid: user.gid), mode: 0o700)
            } else {
                try FileSystem.makeFolders(folder, mode: 0o700)
            }
        } catch {
            throw AddonError(.serverDown, "the Redis server's folder cannot be made")
        }
        let configuration = RedisConfiguration.text(
            folder: folder, port: port, password: password, maxMemoryMB: Self.maxMemoryMB)
        do {
            try DurableFile.replace("\(folder)/redis.conf", with: Data(configuration.utf8), mode: 0o600)
            if let user, chown("\(folder)/redis.conf", user.uid, user.gid) != 0 {
                throw SystemError("chown", folder, errno: errno)
            }
        } catch {
            throw AddonError(.serverDown, "the Redis server's configuration cannot be written")
        }
        _ = try startIfStopped(addon)
    }

    /// The pid of `addon`'s server when it runs.
    func runningPID(_ addon: String) -> pid_t? {
        guard let text = (try? FileSystem.read("\(folder(addon))/redis.pid")).flatMap({ $0 }),
            let pid = pid_t(String(decoding: text, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
            pid > 0, kill(pid, 0) == 0,
            let command = (try? FileSystem.read("/proc/\(pid)/comm")).flatMap({ $0 }),
            String(decoding: command, as: UTF8.self).hasPrefix("redis-server")
        else { return nil }
        return pid
    }

    /// Starts `addon`'s server unless it runs or is gone (destroyed meanwhile), under the servers' lock, which a
    /// removal holds too: the supervisor never starts a server that is being removed.
    func startIfStopped(_ addon: String) throws(AddonError) -> Bool {
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        guard access("\(folder(addon))/redis.conf", R_OK) == 0, runningPID(addon) == nil else { return false }
        try start(addon)
        return true
    }

    private func lock() throws(AddonError) -> HeldLock {
        do throws(SystemError) { return try HeldLock("\(layout.folder)/redis.lock") } catch {
            throw AddonError(.serverDown, "the Redis servers' lock cannot be taken")
        }
    }

    /// Starts `addon`'s server unless it runs, and waits (up to 30 s) for its pid file.
    private func start(_ addon: String) throws(AddonError) {
        guard runningPID(addon) == nil else { return }
        let configuration = "\(folder(addon))/redis.conf"
        let command = user.map { $0.command(server, [configuration]) } ?? [server, configuration]
        var child = ChildProcess(
            executable: command[0], arguments: Array(command.dropFirst()), environment: ["PATH": "/usr/bin:/bin"],
            directory: "/", stdout: .capture(limit: 16 * 1024))
        // `daemonize yes`: the server forks and its first process exits at once, before the server has left the
        // group; killing the group then (as a run usually ends) killed the server now and then.
        child.startsDaemon = true
        let status: ExitStatus
        do { status = try child.run().status } catch {
            throw AddonError(.serverDown, "the Redis server could not be started (\(error))")
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while status.succeeded, runningPID(addon) == nil, ContinuousClock.now < deadline { usleep(20_000) }
        guard status.succeeded, runningPID(addon) != nil else {
            throw AddonError(
                .serverDown,
                "the Redis server of \(addon) did not start; the operator reads its redis.log under the server's root")
        }
    }

    /// Stops `addon`'s server (SIGTERM, then SIGKILL after 30 s) and removes its folder and data.
    func remove(_ addon: String) throws(AddonError) {
        let lock = try self.lock()
        defer { withExtendedLifetime(lock) {} }
        if let pid = runningPID(addon) {
            kill(pid, SIGTERM)
            let deadline = ContinuousClock.now + .seconds(30)
            while kill(pid, 0) == 0, ContinuousClock.now < deadline { usleep(20_000) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
            while kill(pid, 0) == 0 { usleep(20_000) }
        }
        do throws(SystemError) { try FileSystem.removeTree(folder(addon)) } catch {
            throw AddonError(.serverDown, "the Redis server's data of \(addon) cannot be removed")
        }
    }
}

/// `redis.conf` of one add-on's server: a pure function, unit-tested. Its one user needs the password and may run
/// every command but the administrative ones (`CONFIG`, `DEBUG`, `MODULE`, `SHUTDOWN`, `REPLICAOF`…), which would
/// let an app write files as the server's user or leave its limits.
enum RedisConfiguration {
    static func text(folder: String, port: UInt16, password: String, maxMemoryMB: Int) -> String {
        """
        # Written by Slipway (docs/addons.md).
        bind 0.0.0.0
        protected-mode no
        port \(port)
        daemonize yes
        pidfile "\(folder)/redis.pid"
        logfile "\(folder)/redis.log"
        dir "\(folder)"
        appendonly yes
        appendfsync always
        save ""
        maxmemory \(maxMemoryMB)mb
        maxmemory-policy noeviction
        maxclients 100
        user default on >\(password) ~* &* +@all -@admin

        """
    }
}
