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
    }

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

    /// The apps sorted by name: the order their routes have in Caddy's configuration, so that a host claimed by two
    /// apps always goes to the same one.
    public var sortedApps: [App] { apps.values.sorted { $0.name < $1.name } }
}
