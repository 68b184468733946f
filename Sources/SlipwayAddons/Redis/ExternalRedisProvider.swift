import Foundation
import SlipwaySystem

/// Redis add-ons on a Redis 7 server the operator runs elsewhere, given an administrator's URL in
/// `<root>/addons/providers.json` (`{"redis": {"adminURL": "redis://admin:…@cache.internal:6379"}}`): per add-on an
/// ACL user, `addon_<name>`, with a random password, allowed only keys and channels that begin with its own name and
/// a colon (`addon_redis_sunny_40213:…`), and no administrative or keyspace-wide command (``RedisACL``). Destroying
/// the add-on removes the user (Redis closes its connections) and then its keys, server-side. The administrator's
/// password goes to `redis-cli` in its environment, never on a command line; the user's password on its stdin.
public struct ExternalRedisProvider: AddonProvider {
    public let name = "external-redis"
    public let kind = AddonKind.redis
    let admin: RedisAdminURL
    let cli: String

    init(admin: RedisAdminURL, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.admin = admin
        cli = environment["SLIPWAY_REDIS_CLI"] ?? "/usr/bin/redis-cli"
    }

    public func provision(_ addon: String) throws(AddonError) -> AddonCredentials {
        let user = AddonNames.sqlIdentifier(addon)
        let password = AddonCredentials.randomPassword()
        let said = try command([], input: RedisACL.setUser(user, password: password) + "\n")
        guard said.trimmingCharacters(in: .whitespacesAndNewlines) == "OK" else {
            throw AddonError(.failed, "the Redis server refused the add-on's user: \(Self.firstLine(said))")
        }
        return AddonCredentials(host: admin.host, port: admin.port, database: "", user: user, password: password)
    }

    public func deprovision(_ addon: String, _ credentials: AddonCredentials) throws(AddonError) {
        let user = credentials.user
        guard PostgresStatements.isSafe(user) else { throw AddonError(.failed, "the add-on's user name is not valid") }
        let removed = try command(["ACL", "DELUSER", user])
        guard Int(removed.trimmingCharacters(in: .whitespacesAndNewlines)) != nil else {
            throw AddonError(.failed, "the Redis server did not remove the add-on's user: \(Self.firstLine(removed))")
        }
        let unlinked = try command(["EVAL", RedisACL.unlinkScript, "0", RedisACL.keyPattern(user)])
        guard Int(unlinked.trimmingCharacters(in: .whitespacesAndNewlines)) != nil else {
            throw AddonError(.failed, "the Redis server did not remove the add-on's keys: \(Self.firstLine(unlinked))")
        }
    }

    public func url(_ credentials: AddonCredentials) -> String {
        "redis://\(credentials.user):\(credentials.password)@\(credentials.host):\(credentials.port)"
    }

    public func backup(_ addon: String, _ credentials: AddonCredentials, to path: String) throws(AddonError) {
        throw AddonError(.failed, "Redis add-ons have no backups: keep what must last in PostgreSQL")
    }

    public func restore(_ addon: String, _ credentials: AddonCredentials, from path: String) throws(AddonError) {
        throw AddonError(.failed, "Redis add-ons have no backups: keep what must last in PostgreSQL")
    }

    public func isAvailable() -> Bool {
        (try? command(["PING"]))?.trimmingCharacters(in: .whitespacesAndNewlines) == "PONG"
    }

    /// Runs `redis-cli` as the administrator with `arguments` (or, with none, the commands on `input`); returns its
    /// replies. A server that does not answer, or refuses the administrator, is one line.
    private func command(_ arguments: [String], input: String? = nil) throws(AddonError) -> String {
        var child = ChildProcess(
            executable: cli, arguments: ["-h", admin.host, "-p", "\(admin.port)", "--user", admin.user] + arguments,
            environment: [
                "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/nonexistent",
                "REDISCLI_AUTH": admin.password,
            ],
            directory: "/", stdout: .capture(limit: 64 * 1024))
        child.input = Array((input ?? "").utf8)
        child.deadline = .now + .seconds(60)
        let result: ChildProcess.Result
        do { result = try child.run() } catch {
            throw AddonError(.serverDown, "redis-cli could not run on the server (\(error))")
        }
        let output = String(decoding: result.stdout, as: UTF8.self)
        if output.contains("Could not connect") || output.contains("Connection refused") || !result.status.succeeded {
            throw AddonError(
                .serverDown,
                "the Redis server at \(admin.host):\(admin.port) does not answer; try again when it is back")
        }
        let first = Self.firstLine(output)
        if first.contains("WRONGPASS") || first.contains("NOAUTH") || first.hasPrefix("NOPERM") {
            throw AddonError(
                .serverDown,
                "the Redis server at \(admin.host):\(admin.port) refuses the administrator: the operator checks "
                    + "providers.json")
        }
        return output
    }

    /// The first line of a reply, at most 200 characters.
    static func firstLine(_ text: String) -> String {
        String((text.split(whereSeparator: \.isNewline).first ?? "no reply").prefix(200))
    }
}

/// What an add-on's user may do on a shared Redis 7 server (a pure function, unit-tested): its own keys and channels,
/// `<user>:*`, every command but the administrative and dangerous ones (`CONFIG`, `FLUSHALL`, `FLUSHDB`, `KEYS`,
/// `SWAPDB`, `DEBUG`, `MONITOR`, `ACL`…), nor `SCAN` and `RANDOMKEY`, which would show other add-ons' key names.
enum RedisACL {
    static func setUser(_ user: String, password: String) -> String {
        precondition(PostgresStatements.isSafe(user) && PostgresStatements.isSafe(password))
        return "ACL SETUSER \(user) reset on >\(password) ~\(user):* &\(user):* +@all -@admin -@dangerous -scan "
            + "-randomkey"
    }

    /// The pattern of the user's keys.
    static func keyPattern(_ user: String) -> String { "\(user):*" }

    /// Unlinks every key matching `ARGV[1]` on the server itself (key names never travel through a client that could
    /// split one into two); returns how many.
    static let unlinkScript =
        "local cursor = '0' local count = 0 repeat local found = redis.call('SCAN', cursor, 'MATCH', ARGV[1], "
        + "'COUNT', 1000) cursor = found[1] for _, key in ipairs(found[2]) do redis.call('UNLINK', key) "
        + "count = count + 1 end until cursor == '0' return count"
}

/// An administrator's URL of a Redis server, `redis://user:password@host:port` (user `default` when absent).
struct RedisAdminURL: Sendable, Equatable {
    var user: String
    var password: String
    var host: String
    var port: UInt16

    init(user: String, password: String, host: String, port: UInt16) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
    }

    init?(_ text: String) {
        guard let components = URLComponents(string: text), components.scheme == "redis",
            let host = components.host, !host.isEmpty
        else { return nil }
        let user = components.percentEncodedUser?.removingPercentEncoding ?? ""
        self.user = user.isEmpty ? "default" : user
        password = components.percentEncodedPassword?.removingPercentEncoding ?? ""
        self.host = host
        guard let port = UInt16(exactly: components.port ?? 6379) else { return nil }
        self.port = port
    }
}
