import Foundation
import SlipwayCerts
import SlipwayRunnerKit
import Testing

@testable import SlipwayRouting
@testable import SlugRunner

/// HTTPS in the router's Caddy configuration (issue 26): which names get ACME certificates, the second server, the
/// redirects, and the failures' reasons.
@Suite struct RouterTLSConfigTests {
    let acme = RouterTLS.ACMEIssuer(
        directory: "https://ca.example/dir", email: "ops@example.com", trustedRoots: ["/srv/roots.pem"])

    func table(secure: Set<String> = []) -> RouteTable {
        var own = RouteTable.App(
            name: "own-cert", baseDomain: "apps.example.com", domains: ["secure.example.org"], upstreams: [])
        own.certificate = .init(certificate: "/c/own.crt", key: "/c/own.key")
        var manual = RouteTable.App(
            name: "manual", baseDomain: "apps.example.com", domains: ["manual.example.org"], upstreams: [])
        manual.automaticCertificates = false
        var table = RouteTable(apps: [
            .init(
                name: "shop", baseDomain: "apps.example.com", domains: ["shop.example.com", "*.shop.example.com"],
                upstreams: [.init(dyno: "web.1", port: 5001)]),
            own, manual,
            .init(name: "local", baseDomain: "localhost", domains: ["10.0.0.1"], upstreams: []),
        ])
        table.secureHosts = secure
        return table
    }

    func document(_ tls: RouterTLS?, _ table: RouteTable) throws -> [String: Any] {
        var config = CaddyConfig(
            listen: "127.0.0.1:8080", adminAddress: "localhost:2019", accessLog: "/a.log",
            resolverAddress: "udp/127.0.0.1:5353")
        config.tls = tls
        config.storage = "/srv/caddy/data/caddy"
        return try #require(try JSONSerialization.jsonObject(with: config.json(table)) as? [String: Any])
    }

    @Test func certificatesAreOrderedForIssuableNamesOfAppsWithAutomaticCertificatesOnly() {
        let tls = RouterTLS(listen: ":443", acme: acme)
        // No wildcard, no *.localhost, no IP address; not for an app with its own certificate or with them off.
        #expect(CaddyConfig.automatedHosts(table(), tls) == ["shop.apps.example.com", "shop.example.com"])
        var wildcard = tls
        wildcard.wildcard = .init(certificate: "/w.crt", key: "/w.key")
        #expect(CaddyConfig.automatedHosts(table(), wildcard) == ["shop.example.com"], "the wildcard covers own names")
        #expect(CaddyConfig.automatedHosts(table(), RouterTLS(listen: ":443", acme: nil)).isEmpty)
    }

    @Test func theTLSAppHasTheACMEIssuerOnTheRoutersPortsAndTheOperatorsFiles() throws {
        var tls = RouterTLS(listen: "127.0.0.1:8443", acme: acme)
        tls.wildcard = .init(certificate: "/w.crt", key: "/w.key")
        let document = try document(tls, table())
        #expect((document["storage"] as? [String: Any])?["root"] as? String == "/srv/caddy/data/caddy")
        let apps = try #require(document["apps"] as? [String: Any])
        let http = try #require(apps["http"] as? [String: Any])
        #expect(http["http_port"] as? Int == 8080 && http["https_port"] as? Int == 8443)
        let servers = try #require(http["servers"] as? [String: [String: Any]])
        #expect(servers["slipway-tls"]?["listen"] as? [String] == ["127.0.0.1:8443"])
        #expect((servers["slipway-tls"]?["automatic_https"] as? [String: Any])?["disable"] as? Bool == true)

        // Each certificate only for its own names: the app's own for its domains, the wildcard for own names.
        let connection = try #require(servers["slipway-tls"]?["tls_connection_policies"] as? [[String: Any]])
        #expect(connection.count == 3, "\(connection)")
        #expect((connection[0]["match"] as? [String: [String]])?["sni"] == ["secure.example.org"])
        #expect((connection[0]["certificate_selection"] as? [String: [String]])?["any_tag"] == ["app:own-cert"])
        #expect((connection[1]["certificate_selection"] as? [String: [String]])?["any_tag"] == ["wildcard"])
        #expect((connection[1]["match"] as? [String: [String]])?["sni"]?.contains("shop.apps.example.com") == true)
        #expect((connection[2]["match"] as? [String: [String]])?["sni"] == ["shop.example.com"])
        #expect(connection[2]["certificate_selection"] == nil)
        let tlsApp = try #require(apps["tls"] as? [String: Any])
        let certificates = try #require(tlsApp["certificates"] as? [String: Any])
        #expect(certificates["automate"] as? [String] == ["shop.example.com"])
        let files = try #require(certificates["load_files"] as? [[String: Any]])
        #expect(files.map { $0["certificate"] as? String } == ["/w.crt", "/c/own.crt"])
        let policies = try #require((tlsApp["automation"] as? [String: Any])?["policies"] as? [[String: Any]])
        #expect(policies.count == 1)
        #expect(policies[0]["subjects"] as? [String] == ["shop.example.com"])
        let issuer = try #require((policies[0]["issuers"] as? [[String: Any]])?.first)
        #expect(issuer["module"] as? String == "acme")
        #expect(issuer["ca"] as? String == "https://ca.example/dir")
        #expect(issuer["email"] as? String == "ops@example.com")
        #expect(issuer["trusted_roots_pem_files"] as? [String] == ["/srv/roots.pem"])
        let challenges = try #require(issuer["challenges"] as? [String: [String: Int]])
        #expect(challenges["http"]?["alternate_port"] == 8080 && challenges["tls-alpn"]?["alternate_port"] == 8443)
    }

    @Test func onlyNamesWithACertificateAreRedirectedAndEachServerTellsItsOwnPort() throws {
        let tls = RouterTLS(listen: "127.0.0.1:8443", acme: acme)
        let secured = try document(tls, table(secure: ["shop.example.com"]))
        let servers = try #require(
            ((secured["apps"] as? [String: Any])?["http"] as? [String: Any])?["servers"] as? [String: [String: Any]])
        let routes = try #require(servers["slipway"]?["routes"] as? [[String: Any]])
        let redirect = routes[1]
        #expect((redirect["match"] as? [[String: [String]]])?.first?["host"] == ["shop.example.com"])
        let handler = try #require((redirect["handle"] as? [[String: Any]])?.first)
        #expect(handler["status_code"] as? Int == 308)
        #expect(
            (handler["headers"] as? [String: [String]])?["Location"]
                == ["https://{http.request.host}:8443{http.request.uri}"])
        // An app that opted out (apps:set https-redirect=off) keeps plain HTTP for its names.
        var optedOut = table(secure: ["shop.example.com", "manual.example.org"])
        var manual = try #require(optedOut.apps["manual"])
        manual.redirectsToHTTPS = false
        optedOut.set(manual)
        let kept = try document(tls, optedOut)
        let keptRoutes = try #require(
            (((kept["apps"] as? [String: Any])?["http"] as? [String: Any])?["servers"] as? [String: [String: Any]])?[
                "slipway"]?["routes"] as? [[String: Any]])
        #expect((keptRoutes[1]["match"] as? [[String: [String]]])?.first?["host"] == ["shop.example.com"])
        let tlsRoutes = try #require(servers["slipway-tls"]?["routes"] as? [[String: Any]])
        #expect(!tlsRoutes.contains { ($0["handle"] as? [[String: Any]])?.first?["status_code"] as? Int == 308 })
        func forwardedPort(_ routes: [[String: Any]]) -> [String]? {
            for route in routes {
                for handler in route["handle"] as? [[String: Any]] ?? []
                where handler["handler"] as? String
                    == "reverse_proxy"
                {
                    return ((handler["headers"] as? [String: Any])?["request"] as? [String: Any]).flatMap {
                        ($0["set"] as? [String: [String]])?["X-Forwarded-Port"]
                    }
                }
            }
            return nil
        }
        #expect(forwardedPort(routes) == ["8080"])
        #expect(forwardedPort(tlsRoutes) == ["8443"])
        // Without HTTPS: one server, no tls app, no redirect.
        let plain = try document(nil, table(secure: ["shop.example.com"]))
        let plainApps = try #require(plain["apps"] as? [String: Any])
        #expect(plainApps["tls"] == nil)
        #expect(((plainApps["http"] as? [String: Any])?["servers"] as? [String: Any])?.count == 1)
    }

    @Test func aRefusedOrderIsOneLineTheUserCanActOn() {
        let log = """
            {"level":"info","ts":1.0,"logger":"tls.obtain","msg":"obtaining certificate","identifier":"a.test"}
            {"level":"error","ts":2.0,"logger":"tls.obtain","msg":"could not get certificate from issuer","identifier":"a.test","issuer":"ca","error":"HTTP 403 urn:ietf:params:acme:error:unauthorized - Cannot negotiate ALPN protocol \\"acme-tls/1\\" for tls-alpn-01 challenge"}
            {"level":"error","ts":2.5,"logger":"http.acme_client","msg":"challenge failed","identifier":"c.test","challenge_type":"http-01","status_code":400,"problem_type":"urn:ietf:params:acme:error:connection","error":"dial tcp 127.0.0.2:80: connect: connection refused"}
            {"level":"error","ts":2.6,"logger":"tls.obtain","msg":"could not get certificate from issuer","identifier":"c.test","issuer":"ca","error":"[c.test] solving challenges: no solvers available for remaining challenges"}
            {"level":"error","ts":3.0,"logger":"tls.obtain","msg":"could not get certificate from issuer","identifier":"b.test","issuer":"ca","error":"HTTP 429 urn:ietf:params:acme:error:rateLimited - too many certificates"}
            not json
            """
        let failures = CertificateFailures.latest(in: log)
        #expect(failures.count == 3)
        #expect(
            failures["c.test"]?.reason
                == "the CA could not check that c.test points at this router (connection: dial tcp 127.0.0.2:80: "
                + "connect: connection refused): point its DNS at the router's address; the router tries again")
        let a = failures["a.test"]?.reason ?? ""
        #expect(a.hasPrefix("the CA could not check that a.test points at this router (unauthorized: Cannot negotiate"))
        #expect(a.hasSuffix("point its DNS at the router's address; the router tries again"))
        #expect(failures["b.test"]?.reason.hasPrefix("the CA's rate limit is reached (too many certificates)") == true)
        #expect(failures["b.test"]?.date == Date(timeIntervalSince1970: 3))
    }

    @Test func theWatchFlagsForHTTPSAreCheckedWithOneLineEach() throws {
        #expect(
            try RouterSettings.tls(
                listen: nil, acmeCA: RouterSettings.defaultACMECA, email: nil, caRoots: [], wildcardCert: nil,
                wildcardKey: nil) == nil)
        let tls = try #require(
            try RouterSettings.tls(
                listen: ":443", acmeCA: RouterSettings.defaultACMECA, email: "ops@example.com", caRoots: ["/r.pem"],
                wildcardCert: "/w.crt", wildcardKey: "/w.key"))
        #expect(tls.acme?.directory == "https://acme-v02.api.letsencrypt.org/directory")
        #expect(tls.acme?.email == "ops@example.com" && tls.acme?.trustedRoots == ["/r.pem"])
        #expect(tls.wildcard == .init(certificate: "/w.crt", key: "/w.key"))
        #expect(
            try RouterSettings.tls(
                listen: ":443", acmeCA: "none", email: nil, caRoots: [], wildcardCert: nil, wildcardKey: nil)?.acme
                == nil)

        let refusals: [((String?, String, String?, String?, String?), String)] = [
            ((nil, RouterSettings.defaultACMECA, nil, "/w.crt", "/w.key"), "--wildcard-cert needs HTTPS"),
            ((":443", "http://ca.example/dir", nil, nil, nil), "--acme-ca is 'http://ca.example/dir'"),
            ((":443", RouterSettings.defaultACMECA, "ops", nil, nil), "--acme-email is 'ops'"),
            ((":443", RouterSettings.defaultACMECA, nil, "/w.crt", nil), "give --wildcard-cert and --wildcard-key"),
            (("443", RouterSettings.defaultACMECA, nil, nil, nil), "'443' is not a router address"),
        ]
        for ((listen, ca, email, certificate, key), expected) in refusals {
            #expect(throws: RunnerError.self) {
                try RouterSettings.tls(
                    listen: listen, acmeCA: ca, email: email, caRoots: [], wildcardCert: certificate, wildcardKey: key)
            }
            do {
                _ = try RouterSettings.tls(
                    listen: listen, acmeCA: ca, email: email, caRoots: [], wildcardCert: certificate, wildcardKey: key)
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
                #expect(!"\(error)".contains("\n"))
            }
        }
    }
}
