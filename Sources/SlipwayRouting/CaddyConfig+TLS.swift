import SlipwaySpool

/// HTTPS in Caddy's configuration (``RouterTLS``): the `tls` app (the operator's certificates loaded from files,
/// the names Caddy orders certificates for from the ACME CA) and the HTTP server's redirects.
extension CaddyConfig {
    /// The host names whose certificates Caddy orders from the ACME CA and renews: each app's issuable names
    /// (``RouterTLS/isIssuable(_:)``) while its automatic certificates are on and it has no certificate of its own,
    /// its own name left out when the base domain's wildcard covers it. Sorted, without repeats.
    public static func automatedHosts(_ table: RouteTable, _ tls: RouterTLS) -> [String] {
        guard tls.acme != nil else { return [] }
        var hosts: Set<String> = []
        for app in table.sortedApps where app.automaticCertificates && app.certificate == nil {
            for (index, host) in app.hosts.enumerated() where RouterTLS.isIssuable(host) {
                if index == 0, tls.wildcard != nil { continue }
                hosts.insert(host)
            }
        }
        return hosts.sorted()
    }

    /// The `tls` app: the operator's certificates (the wildcard, the apps' own), and one automation policy with the
    /// ACME issuer for ``automatedHosts(_:_:)``. Caddy keeps what it obtains in its storage and reuses it after a
    /// restart; a failed order is retried with Caddy's backoff while the name keeps answering over HTTP.
    func tlsApp(_ table: RouteTable, _ tls: RouterTLS) -> [String: Any] {
        var files: [[String: Any]] = []
        if let wildcard = tls.wildcard {
            files.append(["certificate": wildcard.certificate, "key": wildcard.key, "tags": ["wildcard"]])
        }
        for app in table.sortedApps {
            if let own = app.certificate {
                files.append(["certificate": own.certificate, "key": own.key, "tags": ["app:\(app.name)"]])
            }
        }
        var certificates: [String: Any] = [:]
        if !files.isEmpty { certificates["load_files"] = files }
        var app: [String: Any] = [:]
        let automated = Self.automatedHosts(table, tls)
        if let acme = tls.acme, !automated.isEmpty {
            certificates["automate"] = automated
            var issuer: [String: Any] = [
                "module": "acme", "ca": acme.directory,
                // The challenges come to the router's own ports (`http_port`, `https_port`): Caddy answers them
                // on its servers there.
                "challenges": [
                    "http": ["alternate_port": Int(listenPort) ?? 80],
                    "tls-alpn": ["alternate_port": Int(tls.port) ?? 443],
                ],
            ]
            if let email = acme.email { issuer["email"] = email }
            if !acme.trustedRoots.isEmpty { issuer["trusted_roots_pem_files"] = acme.trustedRoots }
            app["automation"] = ["policies": [["subjects": automated, "issuers": [issuer]]]]
        }
        if !certificates.isEmpty { app["certificates"] = certificates }
        return app
    }

    /// Which certificate the HTTPS server may present for a client's name (SNI): an app's own (`certs:add`) only for
    /// that app's domains, the operator's wildcard only for the apps' own names, and what Caddy obtained for the
    /// names it orders. Caddy would otherwise pick among every certificate it holds, so that one app's certificate
    /// covering another app's domain could be served for it. A name in no policy gets no certificate; with no name at
    /// all, one policy for a name that cannot exist keeps the port TLS only.
    func connectionPolicies(_ table: RouteTable, _ tls: RouterTLS) -> [[String: Any]] {
        var policies: [[String: Any]] = []
        for app in table.sortedApps where app.certificate != nil && !app.domains.isEmpty {
            policies.append([
                "match": ["sni": Array(app.domains)],
                "certificate_selection": ["any_tag": ["app:\(app.name)"]],
            ])
        }
        if tls.wildcard != nil {
            let own = table.sortedApps.compactMap(\.hosts.first)
            if !own.isEmpty {
                policies.append(["match": ["sni": own], "certificate_selection": ["any_tag": ["wildcard"]]])
            }
        }
        let automated = Self.automatedHosts(table, tls)
        if !automated.isEmpty { policies.append(["match": ["sni": automated]]) }
        return policies.isEmpty ? [["match": ["sni": ["no-certificate.invalid"]]]] : policies
    }

    /// On the HTTP server: a request to a name that has a certificate (``RouteTable/secureHosts``) gets a 308 to the
    /// same URL over HTTPS (ACME's HTTP challenges are answered before any route), unless its app opted out.
    func redirectRoutes(_ table: RouteTable) -> [[String: Any]] {
        let optedOut = Set(table.sortedApps.filter { !$0.redirectsToHTTPS }.flatMap(\.hosts))
        let redirected = table.secureHosts.subtracting(optedOut)
        guard let tls, !redirected.isEmpty else { return [] }
        let port = tls.port == "443" ? "" : ":\(tls.port)"
        return [
            [
                "match": [["host": redirected.sorted()]],
                "handle": [
                    [
                        "handler": "static_response", "status_code": 308,
                        "headers": ["Location": ["https://{http.request.host}\(port){http.request.uri}"]],
                    ]
                ],
                "terminal": true,
            ]
        ]
    }
}
