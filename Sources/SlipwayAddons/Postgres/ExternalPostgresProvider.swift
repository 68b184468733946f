import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// PostgreSQL add-ons on a server the operator runs elsewhere (a managed database, a Patroni cluster's primary),
/// given its administrator's URL in `<root>/addons/providers.json`: the same role and database per add-on as on the
/// local cluster, made there over the network. Apps connect to the same server, with the admin URL's `sslmode`
/// (default `require`). The administrator's password goes to `psql` in its environment, never on a command line.
public struct ExternalPostgresProvider: AddonProvider {
    public let name = "external-postgresql"
    public let kind = AddonKind.postgresql
    let admin: AdminURL
    let bin: String
    let scratch: String

    init(admin: AdminURL, root: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.admin = admin
        bin = environment["SLIPWAY_POSTGRES_BIN"] ?? "/usr/lib/postgresql/15/bin"
        scratch = AddonLayout(root: root).folder
    }

    public func provision(_ addon: String) throws(AddonError) -> AddonCredentials {
        let id = AddonNames.sqlIdentifier(addon)
        let password = AddonCredentials.randomPassword()
        try sql(PostgresStatements.createRole(id, password: password) + "GRANT \(id) TO CURRENT_USER;\n")
        do throws(AddonError) {
            try sql(PostgresStatements.createDatabase(id))
            try sql(PostgresStatements.closeDatabase(id))
        } catch {
            _ = try? sql(PostgresStatements.drop(id))
            throw error
        }
        return AddonCredentials(host: admin.host, port: admin.port, database: id, user: id, password: password)
    }

    public func deprovision(_ addon: String, _ credentials: AddonCredentials) throws(AddonError) {
        try sql(PostgresStatements.drop(credentials.database))
    }

    public func url(_ credentials: AddonCredentials) -> String {
        PostgresStatements.url(credentials).replacingOccurrences(
            of: "sslmode=require", with: "sslmode=\(admin.sslmode)")
    }

    public func backup(_ addon: String, _ credentials: AddonCredentials, to path: String) throws(AddonError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AddonError(.serverDown, "the backup's file cannot be made on the server") }
        defer { close(fd) }
        try PostgresDumps.run(
            ["\(bin)/pg_dump", "-Fc", "-d", credentials.database] + connection(credentials.user),
            environment: environment(credentials.password), stdin: .null, stdout: .descriptor(fd), what: "backup",
            scratch: scratch)
        do throws(SystemError) { try DurableFile.sync(fd, path: path) } catch {
            throw AddonError(.serverDown, "the backup could not be written whole on the server")
        }
    }

    public func restore(_ addon: String, _ credentials: AddonCredentials, from path: String) throws(AddonError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AddonError(.notFound, "the backup's file is missing on the server") }
        defer { close(fd) }
        try PostgresDumps.run(
            [
                "\(bin)/pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                "--exit-on-error", "-d", credentials.database,
            ] + connection(credentials.user),
            environment: environment(credentials.password), stdin: .descriptor(fd), stdout: .null, what: "restore",
            scratch: scratch)
    }

    public func isAvailable() -> Bool { (try? sql("SELECT 1;\n")) != nil }

    /// Runs `statements` as the administrator.
    @discardableResult
    func sql(_ statements: String) throws(AddonError) -> String {
        var child = ChildProcess(
            executable: "\(bin)/psql",
            arguments: ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", admin.database] + connection(admin.user),
            environment: environment(admin.password), directory: "/", stdout: .capture(limit: 64 * 1024))
        child.input = Array(statements.utf8)
        child.deadline = .now + .seconds(120)
        let result: ChildProcess.Result
        do { result = try child.run() } catch {
            throw AddonError(.serverDown, "psql could not run on the server (\(error))")
        }
        let output = String(decoding: result.stdout, as: UTF8.self)
        switch result.status {
        case .exited(0): return output
        case .exited(2):
            throw AddonError(
                .serverDown,
                "the PostgreSQL server at \(admin.host):\(admin.port) does not answer (\(PostgresCluster.firstError(output))); "
                    + "try again when it is back")
        default: throw AddonError(.failed, "the PostgreSQL server refused: \(PostgresCluster.firstError(output))")
        }
    }

    private func connection(_ user: String) -> [String] {
        ["-h", admin.host, "-p", "\(admin.port)", "-U", user]
    }

    private func environment(_ password: String) -> [String: String] {
        [
            "PATH": "\(bin):/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/nonexistent", "PGPASSWORD": password,
            "PGSSLMODE": admin.sslmode, "PGCONNECT_TIMEOUT": "10",
        ]
    }
}

/// An administrator's URL, `postgres://user:password@host:port/database?sslmode=…`.
struct AdminURL: Sendable, Equatable {
    var user: String
    var password: String
    var host: String
    var port: UInt16
    var database: String
    var sslmode: String

    init?(_ text: String) {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme),
            let user = components.user, !user.isEmpty, let host = components.host, !host.isEmpty
        else { return nil }
        self.user = components.percentEncodedUser?.removingPercentEncoding ?? user
        password = components.percentEncodedPassword?.removingPercentEncoding ?? ""
        self.host = host
        port = UInt16(components.port ?? 5432)
        let path = String(components.path.drop { $0 == "/" })
        database = path.isEmpty ? "postgres" : path
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "require"
        guard ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"].contains(mode) else { return nil }
        sslmode = mode
    }
}
