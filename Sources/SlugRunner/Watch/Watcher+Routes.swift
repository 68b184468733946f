import Foundation
import SlipwayLogs
import SlipwayMetrics
import SlipwayRouting
import SlipwayRunnerKit
import SlipwaySpool

/// Keeping the router (Caddy) in step with the web dynos that are up, and its request lines in the apps' logs.
extension Watcher {
    /// Starts the router (or takes over the existing Caddy) and says where apps answer.
    func startRouter() throws {
        guard let settings = settings.router else { return }
        if let admin = settings.adminAddress {
            try RouterSettings.checkAdminOutOfReach(
                admin, dynosOnHostNetwork: self.settings.swarm == nil && processes.isolation?.network == nil)
        }
        let router = Router(settings: settings)
        try router.start()
        self.router = router
        let user = router.user.map { ", user \($0)" } ?? ""
        let owner = settings.adminAddress.map { "the Caddy at \($0)" } ?? "Caddy (pid \(router.pid ?? 0)\(user))"
        event(
            nil, "router",
            "Routing http://<app>.\(settings.baseDomain):\((try? RouterSettings.parseListen(settings.listen))?.port ?? 0)/ "
                + "through \(owner), listening on \(settings.listen)"
                + (settings.tls.map { tls in
                    ", and HTTPS on \(tls.listen)"
                        + (tls.acme.map { " with certificates from \($0.directory)" }
                            ?? " with the operator's certificates")
                } ?? ""))
    }

    /// `<app>.<base domain>`: where the router answers for `app`.
    func routeHost(_ app: String) -> String {
        Router.hostName(app: app, baseDomain: settings.router?.baseDomain ?? RouterSettings.defaultBaseDomain)
    }

    /// What the router should serve now: every app the runner knows, with its host names and the web dynos of its
    /// current release that are up (none: the app's H14 page).
    func routeTable() -> RouteTable {
        let base = settings.router?.baseDomain ?? RouterSettings.defaultBaseDomain
        var table = RouteTable(
            apps: apps.values.map { app in
                var route = RouteTable.App(
                    name: app.name, baseDomain: base, domains: app.wanted.domains,
                    upstreams: engine.upstreams(of: app))
                route.automaticCertificates = app.wanted.automaticCertificates ?? true
                route.redirectsToHTTPS = app.wanted.httpsRedirect ?? true
                route.certificate = appCertificate(app.name, fingerprint: app.wanted.certificate)
                return route
            })
        if let router { table.secureHosts = router.secureHosts(table) }
        return table
    }

    /// The app's own certificate (`certs:add`) as the router's Caddy reads it; nil when it has none, or it cannot
    /// be used (said once in the app's log).
    private func appCertificate(_ app: String, fingerprint: String?) -> RouterTLS.CertificateFiles? {
        guard let router, router.settings.tls != nil, let fingerprint else { return nil }
        switch router.installAppCertificate(
            app: app, certificate: root.layout.appCertificate(app), key: root.layout.appCertificateKey(app),
            fingerprint: fingerprint)
        {
        case .success(let files): return files
        case .failure(let error):
            let message = "Cannot use the app's certificate: \(error)"
            if certificateFailures[app] != message { event(app, "router", message) }
            certificateFailures[app] = message
            return nil
        }
    }

    /// Sends the router the current table (when it changed). Called every pass, and at once before a dyno it may
    /// route to is stopped, so that no new request reaches a stopping dyno.
    func updateRoutes() {
        guard let router else { return }
        do {
            try router.apply(routeTable())
            routerFailure = nil
        } catch {
            let message = "\(error)"
            if routerFailure != message { event(nil, "router", "Cannot update the routes: \(message)") }
            routerFailure = message
        }
    }

    /// Writes the router's request lines into the apps' logs (`slugrunner[router]: at=info method=GET …`).
    func logRequests() {
        guard let router else { return }
        for request in router.drainAccessLog() where apps[request.app] != nil {
            log(request.app).write(
                LogLine(date: request.date, source: "slugrunner", component: "router", text: request.line))
            metrics?.request(
                app: request.app, date: request.date, dyno: request.dyno, status: request.status, code: request.code,
                milliseconds: request.serviceMilliseconds)
        }
    }
}
