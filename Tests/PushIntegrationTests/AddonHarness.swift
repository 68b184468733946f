import Foundation
import SlipwayTestSupport

@testable import SlipwayAddons

#if canImport(Glibc)
    import Glibc
#endif

/// The add-on servers of one test's root: the supervisor (`receive-pack addons-supervisor`), and the PostgreSQL
/// cluster the door makes on the first `addons:create`, stopped when released, so nothing outlives the test.
final class AddonServers {
    let root: String
    private(set) var supervisor: TestProcess?
    let log: String

    /// The root's folders made traversable (mode 0711) for the cluster's user, Debian's `postgres` (the door runs as
    /// root here), as an operator's `/var/lib/slipway` is.
    init(_ h: PushHarness) throws {
        root = h.root
        log = h.scratch.url("addons-supervisor.log")
        for path in [h.scratch.path, h.root] { chmod(path, 0o711) }
    }

    deinit { stopAll() }

    /// Stops the supervisor, the cluster and every Redis server (a test defers it, so that it runs while the root is
    /// still there).
    func stopAll() {
        supervisor?.terminate(grace: 10)
        supervisor = nil
        if let cluster = try? PostgresCluster(root: root) { cluster.stop() }
        for pid in redisPIDs().values {
            kill(pid, SIGKILL)
            _ = waitUntil(seconds: 10) { kill(pid, 0) != 0 }
        }
    }

    /// The running Redis servers of the root's add-ons, by add-on.
    func redisPIDs() -> [String: pid_t] {
        guard let servers = try? RedisServers(root: root) else { return [:] }
        var pids: [String: pid_t] = [:]
        for name in servers.names() { pids[name] = servers.runningPID(name) }
        return pids
    }

    /// Starts the supervisor (again).
    func startSupervisor() throws {
        supervisor = try TestProcess(
            [TestPaths.product("receive-pack"), "addons-supervisor", "--root", root], stdout: .file(log),
            stderr: .file(log))
    }

    /// Stops the supervisor with SIGTERM; returns its exit status.
    func stopSupervisor() -> Int32? {
        defer { supervisor = nil }
        supervisor?.signal(SIGTERM)
        return supervisor?.wait(timeout: 30)
    }

    var cluster: PostgresCluster {
        get throws { try PostgresCluster(root: root) }
    }

    /// Runs `sql` as the cluster's administrator; the rows, one a line.
    func admin(_ sql: String, database: String = "postgres") throws -> String {
        try cluster.sql(sql, database: database)
    }

    /// The postmaster's pid, from its `postmaster.pid`.
    func postmasterPID() -> pid_t? {
        let text = try? String(contentsOfFile: "\(root)/addons/postgresql/data/postmaster.pid", encoding: .utf8)
        return text?.split(separator: "\n").first.flatMap { pid_t($0) }
    }

    /// The add-ons' records on the server.
    func records() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/addons/records")) ?? []).sorted()
    }
}

/// `psql <url> -c <sql>` from the host, as a client elsewhere would connect.
func psql(_ url: String, _ sql: String) throws -> ToolResult {
    try runTool(
        ["/usr/bin/psql", url, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        environment: ["PATH": "/usr/bin:/bin", "PGCONNECT_TIMEOUT": "10", "HOME": "/nonexistent"], timeout: 60)
}

/// `redis-cli -u <url> <arguments…>` from the host.
func redisCLI(_ url: String, _ arguments: [String]) throws -> ToolResult {
    try runTool(["/usr/bin/redis-cli", "--no-auth-warning", "-u", url] + arguments, mergeOutput: true, timeout: 60)
}

/// `url` with its database name replaced by `database`.
func url(_ url: String, database: String) -> String {
    guard let slash = url.lastIndex(of: "/"), let question = url.lastIndex(of: "?") else { return url }
    return String(url[...slash]) + database + String(url[question...])
}

/// A network namespace of its own for a server that stands for one elsewhere (`slw-<name>-<n>`, `n` random), linked to
/// the host by a veth pair on 10.<octet>.<n>.0/30: the host's end (`slw<name><n>`) is .1, the server's (`ext0`) .2.
struct ExternalNetwork {
    let number: Int
    let namespace: String
    let hostEnd: String
    /// The server's address, .2.
    let address: String
    /// `10.<octet>.<n>.0/30`.
    let subnet: String

    init(name: String, octet: Int) throws {
        number = Int.random(in: 1...250)
        namespace = "slw-\(name)-\(number)"
        hostEnd = "slw\(name)\(number)"
        address = "10.\(octet).\(number).2"
        subnet = "10.\(octet).\(number).0/30"
        try Self.run(["/usr/sbin/ip", "netns", "add", namespace])
        try Self.run([
            "/usr/sbin/ip", "link", "add", hostEnd, "type", "veth", "peer", "name", "ext0", "netns", namespace,
        ])
        try Self.run(["/usr/sbin/ip", "addr", "add", "10.\(octet).\(number).1/30", "dev", hostEnd])
        try Self.run(["/usr/sbin/ip", "link", "set", hostEnd, "up"])
        try inside(["/usr/sbin/ip", "addr", "add", "\(address)/30", "dev", "ext0"])
        try inside(["/usr/sbin/ip", "link", "set", "ext0", "up"])
        try inside(["/usr/sbin/ip", "link", "set", "lo", "up"])
    }

    /// Runs `argv` in the namespace; throws its output unless it succeeds.
    func inside(_ argv: [String]) throws {
        try Self.run(["/usr/sbin/ip", "netns", "exec", namespace] + argv)
    }

    /// Removes the namespace and the link.
    func remove() {
        _ = try? runTool(["/usr/sbin/ip", "netns", "delete", namespace])
        _ = try? runTool(["/usr/sbin/ip", "link", "delete", hostEnd])
    }

    /// Runs `argv`; throws its output unless it succeeds.
    static func run(_ argv: [String]) throws {
        let result = try runTool(argv, mergeOutput: true)
        guard result.status == 0 else { throw HarnessError("\(argv.joined(separator: " ")): \(result.output)") }
    }
}

/// A PostgreSQL server in a network namespace of its own (`slw-ext-<n>`, linked to the host by a veth pair on
/// 10.199.<n>.0/30), as a server elsewhere would be: its admin URL is what the external provider is given. Stopped,
/// and its namespace removed, when released.
final class ExternalPostgres {
    let network: ExternalNetwork
    var address: String { network.address }
    let data: String
    let adminURL: String
    static let bin = "/usr/lib/postgresql/15/bin"

    init(in scratch: ScratchDirectory) throws {
        network = try ExternalNetwork(name: "ext", octet: 199)
        let (n, address) = (network.number, network.address)
        let folder = try scratch.makeDirectory("external")
        chmod(folder, 0o777)
        data = "\(folder)/data"
        let password = "admin\(n)secret"
        try scratch.write("external/pw", password + "\n")
        chmod("\(folder)/pw", 0o644)
        try ExternalNetwork.run(
            [
                "/usr/sbin/runuser", "-u", "postgres", "--", "\(Self.bin)/initdb", "-D", data, "-U", "admin",
                "--pwfile=\(folder)/pw", "--auth=scram-sha-256", "--no-instructions",
            ])
        try scratch.write(
            "external/data/postgresql.auto.conf",
            "listen_addresses = '\(address)'\nport = 5432\nunix_socket_directories = '\(folder)'\n")
        try scratch.write(
            "external/data/pg_hba.conf", "local all all scram-sha-256\nhost all all \(network.subnet) scram-sha-256\n")
        try ExternalNetwork.run(["/bin/chown", "postgres", "\(data)/postgresql.auto.conf", "\(data)/pg_hba.conf"])
        try network.inside(
            [
                "/usr/sbin/runuser", "-u", "postgres", "--", "\(Self.bin)/pg_ctl", "-D", data, "-l", "\(folder)/log",
                "-w", "-s", "start",
            ])
        adminURL = "postgres://admin:\(password)@\(address):5432/postgres?sslmode=disable"
    }

    deinit { stop() }

    /// Stops the server and removes its namespace and link (a test defers it, while the data folder is there).
    func stop() {
        _ = try? runTool(
            [
                "/usr/sbin/runuser", "-u", "postgres", "--", "\(Self.bin)/pg_ctl", "-D", data, "-m", "immediate", "-w",
                "-s", "stop",
            ])
        network.remove()
    }
}
