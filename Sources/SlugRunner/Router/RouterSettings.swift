public import SlipwayRouting
public import SlipwayRunnerKit
import SlipwaySpool

/// How the runner's router runs (`slugrunner watch --router …`).
public struct RouterSettings: Sendable {
    /// Where the router takes requests (`--router <host>:<port>`; `:80` means every address).
    public var listen: String
    /// The admin address of a Caddy that is already running and is given over to the runner (`--router-admin`),
    /// in Caddy's form (`localhost:2019`, `unix//run/caddy/admin.sock`); nil: the runner starts and owns one.
    public var adminAddress: String?
    /// The domain app host names end with (`--base-domain`): `<app>.<baseDomain>`.
    public var baseDomain: String
    /// The router's folder (`<root>/runner/router`): the configuration last sent, the access log, an owned Caddy's
    /// admin socket, log and storage.
    public var folder: String
    /// How long an app has to start its response before the client gets the H12 page (Heroku: 30 s).
    public var timeout: Duration
    /// The Caddy program; nil: `caddy` on `PATH`.
    public var caddyExecutable: String?
    /// HTTPS (`--router-tls`, `--acme-ca`, `--acme-email`, `--wildcard-cert`): where the router takes it and where
    /// certificates come from, with the operator's files as the operator named them (the runner gives its own
    /// Caddy copies); nil: plain HTTP only.
    public var tls: RouterTLS?

    public init(
        folder: String, listen: String = "127.0.0.1:8080", adminAddress: String? = nil,
        baseDomain: String = RouterSettings.defaultBaseDomain, timeout: Duration = .seconds(30)
    ) {
        self.folder = folder
        self.listen = listen
        self.adminAddress = adminAddress
        self.baseDomain = baseDomain
        self.timeout = timeout
    }

    /// The base domain of a local install: `python-app.localhost` resolves to loopback without any DNS set-up.
    public static let defaultBaseDomain = "localhost"

    /// The settings `slugrunner watch` was given: `--router <address>` (or `none`: no router), `--router-admin`
    /// (drive an existing Caddy instead of starting one), `--base-domain`; the router's folder is under `root`.
    public static func from(
        router: String, admin: String?, baseDomain: String, root: RunnerRoot
    ) throws -> RouterSettings? {
        guard router != "none" else {
            guard admin == nil else {
                throw RunnerError(.usage, "slugrunner: --router-admin needs a router; drop --router none")
            }
            return nil
        }
        _ = try parseListen(router)
        guard DynoSettings.isDomain(baseDomain), !baseDomain.hasPrefix("*.") else {
            throw RunnerError(
                .usage,
                "slugrunner: '\(baseDomain)' is not a base domain: give a lowercase host name, such as apps.example.com"
            )
        }
        return RouterSettings(
            folder: "\(root.runnerDirectory)/router", listen: router, adminAddress: admin, baseDomain: baseDomain)
    }

    /// Refuses a Caddy admin address (`--router-admin`) that a dyno could reach: whoever reaches it can replace the
    /// router's whole configuration (`POST /load`) and take any app's traffic. A unix socket is out of every dyno's
    /// reach (the runner's root is hidden in the sandbox; the socket's own folder should be too); a TCP address is
    /// refused when dynos share the host's network (`dynosOnHostNetwork`), and anywhere but on loopback otherwise
    /// (Swarm tasks and dynos with networks of their own reach the host's other addresses through their gateway).
    public static func checkAdminOutOfReach(_ admin: String, dynosOnHostNetwork: Bool) throws {
        guard !admin.hasPrefix("unix/") else { return }
        let host = admin.lastIndex(of: ":").map { String(admin[..<$0]) } ?? admin
        let loopback = ["localhost", "[::1]", "::1"].contains(host) || host.hasPrefix("127.")
        if dynosOnHostNetwork || !loopback {
            throw RunnerError(
                .usage,
                "slugrunner: dynos could reach Caddy's admin address \(admin) and replace the router's "
                    + "configuration with their own: give Caddy's admin API a unix socket (for example --router-admin "
                    + "unix//run/caddy/admin.sock, with `admin unix//run/caddy/admin.sock` in its Caddyfile)"
                    + (dynosOnHostNetwork
                        ? ", or run the runner as root so that each dyno gets a network of its own" : ""))
        }
    }

    /// The host and port of a listen address (`127.0.0.1:8080`, `[::1]:8080`, `:8080`); a usage error otherwise.
    public static func parseListen(_ listen: String) throws -> (host: String, port: UInt16) {
        guard let colon = listen.lastIndex(of: ":"), let port = UInt16(listen[listen.index(after: colon)...]),
            port > 0
        else {
            throw RunnerError(
                .usage,
                "slugrunner: '\(listen)' is not a router address: use <address>:<port>, for example 127.0.0.1:8080")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}
