import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// PostgreSQL add-ons on the cluster Slipway owns on this machine (``PostgresCluster``): per add-on a role and a
/// database of the same name, the role's password random, the database closed to every other role.
public struct LocalPostgresProvider: AddonProvider {
    public let name = "local-postgresql"
    public let kind = AddonKind.postgresql
    let cluster: PostgresCluster

    public init(root: String) throws(AddonError) {
        cluster = try PostgresCluster(root: root)
    }

    public func provision(_ addon: String) throws(AddonError) -> AddonCredentials {
        let settings = try cluster.ensureRunning()
        try AddonPorts(root: cluster.layout.root).add(settings.port)
        let id = AddonNames.sqlIdentifier(addon)
        let password = AddonCredentials.randomPassword()
        try cluster.sql(PostgresStatements.createRole(id, password: password))
        do throws(AddonError) {
            try cluster.sql(PostgresStatements.createDatabase(id))
            try cluster.sql(PostgresStatements.closeDatabase(id))
        } catch {
            // Nothing half-made: no role without its database.
            _ = try? cluster.sql(PostgresStatements.drop(id))
            throw error
        }
        // The address dynos reach now (the swarm's network once the runner runs the swarm engine), which may be
        // another than when the cluster was made.
        return AddonCredentials(
            host: AddonNetwork.hostAddress(root: cluster.layout.root), port: settings.port, database: id, user: id,
            password: password)
    }

    public func deprovision(_ addon: String, _ credentials: AddonCredentials) throws(AddonError) {
        try cluster.ensureRunning()
        try cluster.sql(PostgresStatements.drop(credentials.database))
    }

    public func url(_ credentials: AddonCredentials) -> String {
        PostgresStatements.url(credentials)
    }

    public func backup(_ addon: String, _ credentials: AddonCredentials, to path: String) throws(AddonError) {
        try cluster.ensureRunning()
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AddonError(.serverDown, "the backup's file cannot be made on the server") }
        defer { close(fd) }
        try PostgresDumps(cluster: cluster).dump(credentials.database, into: fd)
        do throws(SystemError) { try DurableFile.sync(fd, path: path) } catch {
            throw AddonError(.serverDown, "the backup could not be written whole on the server")
        }
    }

    public func restore(_ addon: String, _ credentials: AddonCredentials, from path: String) throws(AddonError) {
        try cluster.ensureRunning()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AddonError(.notFound, "the backup's file is missing on the server") }
        defer { close(fd) }
        try PostgresDumps(cluster: cluster).restore(credentials.database, role: credentials.user, from: fd)
    }

    public func isAvailable() -> Bool { cluster.isRunning() }
}

/// The SQL an add-on's life takes. Identifiers come from ``AddonNames/sqlIdentifier(_:)`` (lowercase letters,
/// digits, underscores) and passwords from ``AddonCredentials/randomPassword()`` (hex digits): nothing a user typed
/// reaches these strings unchecked.
enum PostgresStatements {
    static func createRole(_ id: String, password: String) -> String {
        precondition(isSafe(id) && isSafe(password))
        return "CREATE ROLE \(id) LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT 50 "
            + "PASSWORD '\(password)';\n"
    }

    static func createDatabase(_ id: String) -> String {
        precondition(isSafe(id))
        return "CREATE DATABASE \(id) OWNER \(id) ENCODING 'UTF8' TEMPLATE template0;\n"
    }

    /// Only its own role may connect to the add-on's database (`REVOKE CONNECT … FROM PUBLIC`), besides the
    /// host rules' `sameuser`.
    static func closeDatabase(_ id: String) -> String {
        precondition(isSafe(id))
        return """
            REVOKE ALL ON DATABASE \(id) FROM PUBLIC;
            GRANT CONNECT, TEMPORARY ON DATABASE \(id) TO \(id);

            """
    }

    /// Drops the database (closing its connections) and the role; either may be gone already.
    static func drop(_ id: String) -> String {
        precondition(isSafe(id))
        return """
            DROP DATABASE IF EXISTS \(id) WITH (FORCE);
            DROP ROLE IF EXISTS \(id);

            """
    }

    /// `postgres://user:password@host:port/database?sslmode=require`, the form Heroku gives and `dj-database-url`,
    /// Rails and libpq read.
    static func url(_ credentials: AddonCredentials) -> String {
        "postgres://\(credentials.user):\(credentials.password)@\(credentials.host):\(credentials.port)/"
            + "\(credentials.database)?sslmode=require"
    }

    static func isSafe(_ word: String) -> Bool {
        !word.isEmpty
            && word.utf8.allSatisfy { byte in
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                    || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                    || byte == UInt8(ascii: "_")
            }
    }
}
