public import Foundation
import SlipwaySystem

/// The whole Caddy configuration for a ``RouteTable``, as `POST /load` takes it (Caddy 2.6's JSON). `/load` replaces
/// everything, so every configuration restates the admin address and the logs as well as the routes.
///
/// Per request:
/// - a first route keeps the client's `X-Request-Id` when it has Heroku's form (20 to 200 of `A-Za-z0-9+/=-`),
///   otherwise takes Caddy's `{http.request.uuid}`, and sets it on the request to the app and on the response;
/// - then the apps' routes, matched on their host names, the most specific first (``RouteTable/hostRoutes``):
///   `reverse_proxy` to the app's web dynos, found in the router's DNS
///   (``RouteZone``; random choice, dial errors retried on another dyno for ``retryDuration``, a response not started
///   within ``timeout`` answered with the H12 page), or the H14 page when it has none;
/// - any other host gets the "no such app" page (404).
///
/// Which dyno answered is written to the access log without telling the client: a `map` handler turns
/// `{http.reverse_proxy.upstream.hostport}` (the dyno's target name, which carries its number) into
/// `<app> <dyno> <code>` under the placeholder the access log writes as `user_id` (`http.auth.user.id`; no
/// authentication handler runs here). The error routes set `<code>` (H12, H13, H14, H27) through a variable.
///
/// The document depends on the apps, their host names and whether each has web dynos, never on which dynos: so a
/// deploy changes no configuration, and Caddy, which closes every idle kept-alive connection when it loads one,
/// keeps its clients' connections.
public struct CaddyConfig: Sendable {
    /// The server's listen address (`127.0.0.1:8080`, `:80`).
    public var listen: String
    /// Caddy's admin address in Caddy's form (`unix//path/admin.sock`, `localhost:2019`).
    public var adminAddress: String
    /// The JSON access log the runner reads (``AccessLogReader``).
    public var accessLog: String
    /// Where Caddy's own log goes (warnings and errors only, rolled at 1 MB); nil: its stderr.
    public var caddyLog: String?
    /// The router's DNS (``RouterDNS``), `udp/127.0.0.1:<port>`: where Caddy finds each app's web dynos.
    public var resolverAddress: String
    /// How long an app has to start its response (Heroku: 30 s).
    public var timeout: Duration = .seconds(30)
    /// How long a request that cannot reach a dyno is tried again on the others (a dyno that just closed its port
    /// during a deploy): what makes a deploy lose no request.
    public var retryDuration: Duration = .seconds(5)
    /// The pause between those tries.
    public var retryInterval: Duration = .milliseconds(100)
    /// HTTPS: a second server, on ``RouterTLS/listen``, and the certificates (``RouterTLS``); nil: plain HTTP only.
    public var tls: RouterTLS?
    /// Caddy's storage folder (its certificates, ACME accounts and locks); nil: Caddy's default under its
    /// `XDG_DATA_HOME`.
    public var storage: String?

    /// The name of the HTTP server in Caddy's configuration, and of its access logger.
    static let serverName = "slipway"
    /// The name of the HTTPS server, which logs to the same access logger.
    static let tlsServerName = "slipway-tls"
    /// The placeholder the dyno that answered is mapped to.
    static let dynoVariable = "slipway.dyno"
    /// The variable the error routes set to the router's error code.
    static let codeVariable = "slipway_code"

    public init(
        listen: String, adminAddress: String, accessLog: String, resolverAddress: String, caddyLog: String? = nil
    ) {
        self.resolverAddress = resolverAddress
        self.listen = listen
        self.adminAddress = adminAddress
        self.accessLog = accessLog
        self.caddyLog = caddyLog
    }

    /// The configuration document.
    public func json(_ table: RouteTable) throws -> Data {
        try JSONSerialization.data(withJSONObject: document(table), options: [.sortedKeys, .withoutEscapingSlashes])
    }

    /// The configuration as JSON objects (for ``json(_:)`` and the tests).
    func document(_ table: RouteTable) -> [String: Any] {
        let accessLogger = "http.log.access.\(Self.serverName)"
        var defaultLog: [String: Any] = ["level": "WARN", "exclude": [accessLogger]]
        if let caddyLog {
            defaultLog["writer"] = [
                "output": "file", "filename": caddyLog, "roll_size_mb": 1, "roll_keep": 1, "roll_gzip": false,
            ]
        }
        let hostRoutes = table.hostRoutes
        // Caddy's automatic HTTPS stays off: which names get certificates, and which are redirected, is the
        // runner's (``RouterTLS``, ``RouteTable/secureHosts``), so that a name without a certificate keeps HTTP.
        var servers: [String: Any] = [
            Self.serverName: [
                "listen": [listen],
                "automatic_https": ["disable": true],
                "logs": ["default_logger_name": Self.serverName],
                "routes": [requestIDRoute()] + redirectRoutes(table)
                    + hostRoutes.map { appRoute($0, port: listenPort) } + [noSuchAppRoute()],
                "errors": ["routes": errorRoutes()],
            ] as [String: Any]
        ]
        var apps: [String: Any] = [:]
        if let tls {
            servers[Self.tlsServerName] =
                [
                    "listen": [tls.listen],
                    "automatic_https": ["disable": true],
                    "tls_connection_policies": connectionPolicies(table, tls),
                    "logs": ["default_logger_name": Self.serverName],
                    "routes": [requestIDRoute()] + hostRoutes.map { appRoute($0, port: tls.port) } + [noSuchAppRoute()],
                    "errors": ["routes": errorRoutes()],
                ] as [String: Any]
            apps["tls"] = tlsApp(table, tls)
        }
        var http: [String: Any] = ["servers": servers]
        if let tls {
            // The ports ACME's HTTP and TLS-ALPN challenges come to, and that redirects name.
            http["http_port"] = Int(listenPort) ?? 80
            http["https_port"] = Int(tls.port) ?? 443
        }
        apps["http"] = http
        var document: [String: Any] = [
            "admin": ["listen": adminAddress, "config": ["persist": false]],
            "logging": [
                "logs": [
                    "default": defaultLog,
                    "access": [
                        "writer": ["output": "file", "filename": accessLog, "roll": false],
                        "encoder": ["format": "json"],
                        "include": [accessLogger],
                    ],
                ]
            ],
            "apps": apps,
        ]
        if let storage { document["storage"] = ["module": "file_system", "root": storage] }
        return document
    }

    /// Keeps or makes the request id, and sets it on the request and the response.
    private func requestIDRoute() -> [String: Any] {
        [
            "handle": [
                [
                    "handler": "map", "source": "{http.request.header.X-Request-Id}",
                    "destinations": ["{slipway.request_id}"],
                    "mappings": [["input_regexp": "^[A-Za-z0-9+/=-]{20,200}$", "outputs": ["$0"]]],
                    "defaults": ["{http.request.uuid}"],
                ],
                [
                    "handler": "headers",
                    "request": ["set": ["X-Request-Id": ["{slipway.request_id}"]]],
                    "response": ["set": ["X-Request-Id": ["{slipway.request_id}"]]],
                ],
            ]
        ]
    }

    private func appRoute(_ route: RouteTable.HostRoute, port: String) -> [String: Any] {
        let app = route.app
        // Which dyno answered, from the target name Caddy dialled (`<n>.h…-<port>.web.<app>.slipway.internal.`).
        // Placeholders in a regular expression's output stay unexpanded, so a second map, with only a default
        // (which is expanded), puts the tag together; both are evaluated when the log line is written.
        let dynoMap: [String: Any] = [
            "handler": "map", "source": "{http.reverse_proxy.upstream.hostport}",
            "destinations": ["{\(Self.dynoVariable)}"],
            "mappings": [["input_regexp": RouteZone.hostPortPattern(app: app.name), "outputs": ["web.$1"]]],
            "defaults": ["-"],
        ]
        let tagMap: [String: Any] = [
            "handler": "map", "source": "{\(Self.dynoVariable)}", "destinations": ["{http.auth.user.id}"],
            "defaults": [logTag(app.name, "{\(Self.dynoVariable)}")],
        ]
        var handlers: [[String: Any]] = [dynoMap, tagMap]
        if app.upstreams.isEmpty {
            handlers += errorPage(.noWebProcesses)
        } else {
            handlers.append(reverseProxy(app: app.name, port: port))
        }
        return ["match": [["host": route.hosts]], "handle": handlers, "terminal": true]
    }

    /// What the access log's `user_id` says: `<app> <dyno> <code>` (the code empty unless an error route set it).
    private func logTag(_ app: String, _ dyno: String) -> String {
        "\(app) \(dyno) {http.vars.\(Self.codeVariable)}"
    }

    /// The app's dynos come from the router's DNS (``RouteZone``), looked up again every ``RouteZone/refresh``: a
    /// deploy changes the zone, not this configuration.
    private func reverseProxy(app: String, port: String) -> [String: Any] {
        let resolver = ["addresses": [resolverAddress]]
        return [
            "handler": "reverse_proxy",
            "dynamic_upstreams": [
                "source": "srv", "service": "web", "proto": "tcp", "name": RouteZone.lookupName(app: app),
                "refresh": Self.caddyDuration(RouteZone.refresh), "resolver": resolver,
            ],
            "load_balancing": [
                "selection_policy": ["policy": "random"],
                "try_duration": Self.caddyDuration(retryDuration),
                "try_interval": Self.caddyDuration(retryInterval),
            ],
            "transport": [
                "protocol": "http", "response_header_timeout": Self.caddyDuration(timeout), "resolver": resolver,
            ],
            // No flush_interval: Caddy already streams server-sent events and responses without a length as the
            // app writes them. (Flushing everything at once, -1, made a reload lose a request in flight: the client
            // got the headers, then the connection closed.)
            // X-Forwarded-For (the client's address; a client's own value is dropped), -Proto and -Host are
            // Caddy's (-Proto is https on the HTTPS server); the port is the one the client connected to.
            "headers": ["request": ["set": ["X-Forwarded-Port": [port]]]],
        ]
    }

    private func noSuchAppRoute() -> [String: Any] {
        [
            "handle": [
                [
                    "handler": "static_response", "status_code": 404, "body": ErrorPages.noSuchApp,
                    "headers": htmlHeaders,
                ]
            ]
        ]
    }

    /// Errors `reverse_proxy` returns: 504 when the response did not start in time (H12), 499 when the client left
    /// (H27), anything else when no dyno could be reached or one closed the connection (H13).
    private func errorRoutes() -> [[String: Any]] {
        func route(_ status: String?, _ code: RouterErrorCode) -> [String: Any] {
            var route: [String: Any] = [
                "handle": [
                    [
                        "handler": "headers",
                        "response": ["set": ["X-Request-Id": ["{slipway.request_id}"]]],
                    ]
                ] + errorPage(code),
                "terminal": true,
            ]
            if let status { route["match"] = [["vars": ["{http.error.status_code}": [status]]]] }
            return route
        }
        return [route("504", .requestTimeout), route("499", .clientInterrupted), route(nil, .connectionClosed)]
    }

    /// Sets the log's error code and answers with the code's page.
    private func errorPage(_ code: RouterErrorCode) -> [[String: Any]] {
        var response: [String: Any] = ["handler": "static_response", "status_code": code.status]
        if code != .clientInterrupted {
            response["body"] = ErrorPages.application(code)
            response["headers"] = htmlHeaders
        }
        return [["handler": "vars", Self.codeVariable: code.rawValue], response]
    }

    private var htmlHeaders: [String: [String]] {
        ["Content-Type": ["text/html; charset=utf-8"], "Cache-Control": ["no-cache, no-store"]]
    }

    /// The port part of ``listen``.
    var listenPort: String { Self.port(of: listen, default: "80") }

    /// The port part of a listen address (`127.0.0.1:8080`, `:443`).
    static func port(of listen: String, default: String) -> String {
        guard let colon = listen.lastIndex(of: ":") else { return `default` }
        return String(listen[listen.index(after: colon)...])
    }

    /// Caddy's duration form, in milliseconds (`30000ms`).
    static func caddyDuration(_ duration: Duration) -> String { "\(duration.wholeMilliseconds)ms" }
}
