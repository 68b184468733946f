import SlipwaySpool

/// What the router serves: for each app, the host names it answers at and the web dynos that take its requests.
///
/// A pure value: the watcher builds one from its apps after every change and hands it to ``Router/apply(_:)``, which
/// sends Caddy a new configuration only when the table differs from the one Caddy has.
public struct RouteTable: Equatable, Sendable {
    /// A web dyno that is `up`: where Caddy sends requests, and the dyno name the router's log lines show.
    public struct Upstream: Equatable, Hashable, Sendable {
        /// The dyno's name (`web.1`).
        public var dyno: String
        /// The port it listens on.
        public var port: UInt16
        /// The address it is reached at (the runner's `--host`).
        public var host: String

        public init(dyno: String, port: UInt16, host: String = "127.0.0.1") {
            self.dyno = dyno
            self.port = port
            self.host = host
        }

        /// `host:port`, as Caddy dials it and names it in `{http.reverse_proxy.upstream.hostport}`.
        public var hostPort: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    /// One app's routes.
    public struct App: Equatable, Sendable {
        /// The app's name.
        public var name: String
        /// Every host name it answers at: `<app>.<base domain>` first, then its domains.
        public var hosts: [String]
        /// Its running web dynos; empty means every request gets the H14 page.
        public var upstreams: [Upstream]
        /// Whether the router orders certificates from its ACME CA for the app's names (`certs:auto`, the default;
        /// `certs:auto:disable` turns it off). Off too while the app has a certificate of its own.
        public var automaticCertificates = true
        /// Whether plain HTTP to its names that have a certificate gets a 308 to HTTPS (`apps:set https-redirect`).
        public var redirectsToHTTPS = true
        /// The app's own certificate for its domains (`certs:add`), as Caddy reads it.
        public var certificate: RouterTLS.CertificateFiles?

        public init(name: String, hosts: [String], upstreams: [Upstream]) {
            self.name = name
            self.hosts = hosts
            self.upstreams = upstreams
        }

        /// An app answering at `<name>.<baseDomain>` and at `domains`.
        public init(name: String, baseDomain: String, domains: [String] = [], upstreams: [Upstream]) {
            let own = RouteTable.hostName(app: name, baseDomain: baseDomain)
            self.init(name: name, hosts: [own] + domains.filter { $0 != own }, upstreams: upstreams)
        }

        /// Its custom domains: every host name but its own (the first).
        public var domains: ArraySlice<String> { hosts.dropFirst() }
    }

    /// The host names that have a certificate now (``CertificateStorage``): a plain HTTP request to one of them gets a
    /// 308 to HTTPS. A name whose certificate is not there yet (or could not be issued) keeps answering over HTTP.
    public var secureHosts: Set<String> = []

    /// `<app>.<baseDomain>`: the host name an app answers at.
    public static func hostName(app: String, baseDomain: String) -> String { "\(app).\(baseDomain)" }

    /// The apps by name.
    public private(set) var apps: [String: App] = [:]

    public init(apps: [App] = []) {
        for app in apps { self.apps[app.name] = app }
    }

    /// Adds `app`, or replaces the routes of the app of that name.
    public mutating func set(_ app: App) { apps[app.name] = app }

    /// Removes the app named `name` (its hosts then get the "no such app" page).
    public mutating func remove(_ name: String) { apps[name] = nil }

    /// The apps sorted by name.
    public var sortedApps: [App] { apps.values.sorted { $0.name < $1.name } }

    /// Some of an app's host names, which the router matches together (one route in Caddy's configuration).
    public struct HostRoute: Equatable, Sendable {
        public var app: App
        public var hosts: [String]
    }

    /// The order the router tries host names in: the most specific first, whatever the apps' names (every exact
    /// name, then wildcards with more labels before those with fewer: `*.api.example.com` before `*.example.com`),
    /// so that an app's `www.example.com` is never captured by another app's `*.example.com`. Ties (two apps
    /// claiming one name, which `domains:add` refuses) go by app name, so a host always goes to the same app.
    public var hostRoutes: [HostRoute] {
        var ranked: [(rank: Int, route: HostRoute)] = []
        for app in sortedApps {
            let exact = app.hosts.filter { !DomainName.isWildcard($0) }
            if !exact.isEmpty { ranked.append((Int.max, HostRoute(app: app, hosts: exact))) }
            let wildcards = Dictionary(grouping: app.hosts.filter(DomainName.isWildcard), by: DomainName.specificity)
            for (rank, hosts) in wildcards { ranked.append((rank, HostRoute(app: app, hosts: hosts))) }
        }
        return ranked.sorted { $0.rank != $1.rank ? $0.rank > $1.rank : $0.route.app.name < $1.route.app.name }
            .map(\.route)
    }
}
