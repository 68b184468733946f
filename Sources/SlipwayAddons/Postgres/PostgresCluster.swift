import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL cluster Slipway owns on this machine: made with `initdb` in `<root>/addons/postgresql/data` on the
/// first `addons:create … postgresql`, on a port of its own, listening on every address with TLS (a self-made
/// certificate) and scram-sha-256, each role allowed only into the database of its own name (`pg_hba.conf`'s
/// `sameuser`), administered over a unix socket only its user can open. Started by whoever needs it first (the door,
/// or the supervisor, ``AddonSupervisor``), it runs detached (`pg_ctl start`, a session of its own), so it outlives
/// both and is adopted by the next.
public struct PostgresCluster: Sendable {
    /// What `initdb` fixed, kept in `<root>/addons/postgresql.json` (written last: a cluster without it is unfinished).
    public struct Settings: Codable, Sendable, Equatable {
        public var port: UInt16
        /// The address dynos are given in URLs.
        public var host: String
        /// The database user of the socket (peer authentication).
        public var admin: String
    }

    let layout: AddonLayout
    let tools: PostgresTools

    public init(root: String) throws(AddonError) {
        layout = AddonLayout(root: root)
        tools = try PostgresTools()
    }

    var folder: String { layout.postgresFolder }
    var data: String { "\(folder)/data" }
    var socket: String { "\(folder)/socket" }
    var log: String { "\(folder)/server.log" }

    /// The settings of a finished cluster; nil when there is none yet.
    public func settings() -> Settings? {
        guard let bytes = (try? FileSystem.read(layout.postgresSettings)).flatMap({ $0 }) else { return nil }
        return try? JSONDecoder().decode(Settings.self, from: bytes)
    }

    /// Whether the cluster's server runs (`pg_ctl status`).
    public func isRunning() -> Bool {
        guard settings() != nil, let result = try? tools.run("pg_ctl", ["status", "-D", data]) else { return false }
        return result.status.succeeded
    }

    /// Makes the cluster if there is none, starts it if it is not running, and returns its settings. Under the
    /// cluster's lock, so the door and the supervisor never both start it.
    @discardableResult
    public func ensureRunning() throws(AddonError) -> Settings {
        let lock: HeldLock
        do throws(SystemError) {
            try FileSystem.makeFolders(layout.folder, mode: 0o711)
            lock = try HeldLock(layout.postgresLock)
        } catch {
            throw AddonError(.serverDown, "the database server's folder cannot be used (\(error.operation) failed)")
        }
        defer { withExtendedLifetime(lock) {} }
        guard let settings = settings() else { return try create() }
        if !isRunning() { try start() }
        try syncHostRules(settings)
        return settings
    }

    /// Rewrites `pg_hba.conf` and has the server reload it when the clients it must let in changed (the swarm
    /// engine's runner found its nodes, or other ones); nothing otherwise. The supervisor calls it every second.
    public func syncHostRules() throws(AddonError) {
        guard let settings = settings() else { return }
        try syncHostRules(settings)
    }

    private func syncHostRules(_ settings: Settings) throws(AddonError) {
        let rules = PostgresConfiguration.hostRules(settings, swarm: SwarmNetwork.load(root: layout.root))
        let path = "\(data)/pg_hba.conf"
        guard let bytes = (try? FileSystem.read(path)).flatMap({ $0 }), String(decoding: bytes, as: UTF8.self) != rules
        else { return }
        try writeAsClusterUser(path, rules)
        let result = try tools.run("pg_ctl", ["reload", "-D", data, "-s"])
        guard result.status.succeeded else {
            throw AddonError(
                .serverDown, "the database server did not reload its rules (\(Self.firstError(result.output)))")
        }
    }

    /// Stops the server (`pg_ctl stop -m fast`); nothing when it is not running.
    public func stop() {
        guard settings() != nil else { return }
        _ = try? tools.run("pg_ctl", ["stop", "-D", data, "-m", "fast", "-w", "-t", "60", "-s"])
    }

    /// Runs `sql` as the administrator in `database` (statements on standard input, never on a command line, so
    /// that no password shows in the process list); returns psql's unaligned output.
    @discardableResult
    func sql(_ sql: String, database: String = "postgres") throws(AddonError) -> String {
        guard let settings = settings() else {
            throw AddonError(.serverDown, "the database server has not been made yet")
        }
        let result = try tools.run(
            "psql",
            [
                "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socket, "-p", "\(settings.port)", "-U",
                settings.admin, "-d", database,
            ],
            input: sql)
        guard result.status.succeeded else {
            throw AddonError(.failed, "the database server refused: \(Self.firstError(result.output))")
        }
        return result.output
    }

    /// Starts the server and waits until it accepts connections.
    func start() throws(AddonError) {
        let result = try tools.run("pg_ctl", ["start", "-D", data, "-l", log, "-w", "-t", "60", "-s"])
        guard result.status.succeeded else {
            throw AddonError(
                .serverDown,
                "the database server did not start (\(Self.firstError(result.output))); the operator reads "
                    + "addons/postgresql/server.log under the server's root")
        }
    }

    /// `initdb`, the settings, the certificate, the first start and the revokes; whatever an earlier, interrupted
    /// attempt left is removed first.
    private func create() throws(AddonError) -> Settings {
        _ = try? tools.run("pg_ctl", ["stop", "-D", data, "-m", "immediate", "-w", "-t", "30", "-s"])
        do throws(SystemError) {
            try FileSystem.removeTree(folder)
            if let owner = tools.owner {
                try FileSystem.makeOwnedFolder(folder, owner: owner, mode: 0o700)
            } else {
                try FileSystem.makeFolders(folder, mode: 0o700)
            }
        } catch {
            throw AddonError(.serverDown, "the database server's folder cannot be made (\(error.operation) failed)")
        }
        let settings = Settings(
            port: try AddonNetwork.freePort(), host: AddonNetwork.hostAddress(root: layout.root), admin: tools.adminName
        )
        try check(
            tools.run(
                "initdb",
                [
                    "-D", data, "-U", settings.admin, "--auth-local=peer", "--auth-host=scram-sha-256", "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-instructions",
                ]), "initdb")
        try check(
            tools.run(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days",
                    "3650",
                    "-subj", "/CN=slipway-addons", "-keyout", "server.key", "-out", "server.crt",
                ],
                directory: data), "openssl")
        // PostgreSQL refuses a key others may read, whatever the umask gave it.
        guard chmod("\(data)/server.key", 0o600) == 0 else {
            throw AddonError(.serverDown, "the database server's TLS key cannot be protected")
        }
        try writeAsClusterUser("\(data)/slipway.conf", PostgresConfiguration.settings(settings, socket: socket))
        try writeAsClusterUser(
            "\(data)/pg_hba.conf",
            PostgresConfiguration.hostRules(settings, swarm: SwarmNetwork.load(root: layout.root)))
        try appendInclude()
        do throws(SystemError) {
            if let owner = tools.owner {
                try FileSystem.makeOwnedFolder(socket, owner: owner, mode: 0o700)
            } else {
                try FileSystem.makeFolders(socket, mode: 0o700)
            }
        } catch {
            throw AddonError(.serverDown, "the database server's socket folder cannot be made")
        }
        try start()
        // Written before the revokes, which need it; a failure below leaves an unfinished cluster that the next
        // attempt removes, since the settings file goes with it.
        try save(settings)
        do throws(AddonError) {
            try sql(
                """
                REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;
                REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC;
                """)
        } catch {
            try? FileManager.default.removeItem(atPath: layout.postgresSettings)
            throw error
        }
        return settings
    }

    private func save(_ settings: Settings) throws(AddonError) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try DurableFile.replace(layout.postgresSettings, with: try encoder.encode(settings), mode: 0o644)
        } catch {
            throw AddonError(.serverDown, "the database server's settings cannot be written")
        }
    }

    /// Writes a file of the data folder, owned by the cluster's user.
    private func writeAsClusterUser(_ path: String, _ text: String) throws(AddonError) {
        do {
            try DurableFile.replace(path, with: Data(text.utf8), mode: 0o600)
            if let owner = tools.owner, chown(path, owner.uid, owner.gid) != 0 {
                throw SystemError("chown", path, errno: errno)
            }
        } catch {
            throw AddonError(.serverDown, "the database server's configuration cannot be written")
        }
    }

    /// Adds `include 'slipway.conf'` to the end of `postgresql.conf`, so Slipway's settings win over initdb's.
    private func appendInclude() throws(AddonError) {
        let path = "\(data)/postgresql.conf"
        guard let bytes = (try? FileSystem.read(path)).flatMap({ $0 }) else {
            throw AddonError(.serverDown, "initdb left no postgresql.conf")
        }
        try writeAsClusterUser(path, String(decoding: bytes, as: UTF8.self) + "\ninclude 'slipway.conf'\n")
    }

    private func check(_ result: (status: ExitStatus, output: String), _ tool: String) throws(AddonError) {
        guard result.status.succeeded else {
            throw AddonError(
                .serverDown, "the database server could not be made (\(tool): \(Self.firstError(result.output)))")
        }
    }

    /// The first line of a tool's output that says what went wrong (`ERROR:  …`, `FATAL:  …`), without paths.
    static func firstError(_ output: String) -> String {
        let lines = output.split(whereSeparator: \.isNewline).map(String.init)
        let line = lines.first { $0.contains("ERROR:") || $0.contains("FATAL:") } ?? lines.first ?? "no output"
        let trimmed = line.replacingOccurrences(of: "psql:<stdin>:", with: "")
        return String(trimmed.prefix(200))
    }
}
