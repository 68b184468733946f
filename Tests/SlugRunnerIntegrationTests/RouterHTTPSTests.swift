import Foundation
import SlipwayCerts
import SlipwayRouting
import SlipwaySpool
import SlipwayTestSupport
import SlugRunner
import Testing

/// HTTPS through the router (issue 26) against a real ACME CA on loopback, Debian's `pebble`, which validates every
/// order over the router's own ports: the router's Caddy gets a certificate for an app's domain, serves it, redirects
/// plain HTTP, reuses it after a restart and drops it with the domain; an order the CA refuses leaves HTTP serving.
@Suite(.serialized) struct RouterHTTPSTests {
    /// A router on two free loopback ports (HTTP, HTTPS) using a private pebble, with one web dyno.
    final class World {
        let routed: RouterWorld
        let pebble: PrivatePebble
        let httpPort: UInt16
        let tlsPort: UInt16
        let settings: RouterSettings
        var router: Router
        let web: RouteTable.Upstream

        init(_ label: String) throws {
            routed = try RouterWorld(label)
            httpPort = try freeLoopbackPort()
            tlsPort = try freeLoopbackPort()
            pebble = try PrivatePebble(folder: routed.scratch.url("pebble"), httpPort: httpPort, tlsPort: tlsPort)
            var settings = RouterSettings(folder: routed.scratch.url("router-tls"), listen: "127.0.0.1:\(httpPort)")
            settings.tls = RouterTLS(
                listen: "127.0.0.1:\(tlsPort)",
                acme: .init(directory: pebble.directory, email: "ops@example.com", trustedRoots: [pebble.listenerRoot]))
            self.settings = settings
            router = Router(settings: settings)
            web = try routed.startUpstream("web.1")
        }

        func stop() {
            router.stop()
            routed.stop()
            pebble.stop()
        }

        /// The app `shop` at `shop.localhost` and at `domains`, with the hosts that have a certificate redirected.
        func table(_ domains: [String]) -> RouteTable {
            var table = RouteTable(apps: [
                .init(name: "shop", baseDomain: "localhost", domains: domains, upstreams: [web])
            ])
            table.secureHosts = router.secureHosts(table)
            return table
        }

        /// `curl` to `host` over HTTPS (trusting only pebble's root) or HTTP: status, headers, body, curl's stderr.
        func get(
            _ host: String, https: Bool, path: String = "/", root: String? = nil
        ) throws -> (status: Int, headers: String, body: String, stderr: String) {
            let port = https ? tlsPort : httpPort
            let headerFile = routed.scratch.url("headers-\(UUID().uuidString)")
            var argv = [
                try tool("curl"), "-s", "--max-time", "10", "-D", headerFile, "-o", "-", "-w", "\n%{http_code}",
                "--resolve", "\(host):\(port):127.0.0.1",
            ]
            if let root { argv += ["--cacert", root] }
            let result = try runTool(argv + ["\(https ? "https" : "http")://\(host):\(port)\(path)"], timeout: 30)
            var body = result.stdout
            let status = body.split(separator: "\n").last.flatMap { Int($0) } ?? 0
            if let newline = body.lastIndex(of: "\n") { body = String(body[..<newline]) }
            let headers = (try? String(contentsOfFile: headerFile, encoding: .utf8)) ?? ""
            return (status, headers, body, result.stderr)
        }
    }

    @Test func anAppsDomainGetsACertificateFromTheCAAndPlainHTTPIsRedirected() throws {
        let world = try World("router-https")
        defer { world.stop() }
        try world.router.start()
        try world.router.apply(world.table(["shop.test"]))
        let root = try world.pebble.issuingRoot()

        // Until the certificate is there, the domain answers over HTTP as before.
        let plain = try world.get("shop.test", https: false)
        #expect(plain.status == 200, "\(plain)")
        #expect((RouterWorld.answer(plain.body)?["headers"] as? [String: String])?["X-Forwarded-Proto"] == "http")

        var reply = (status: 0, headers: "", body: "", stderr: "")
        let served = waitUntil(seconds: 30) {
            reply = (try? world.get("shop.test", https: true, root: root)) ?? reply
            return reply.status == 200
        }
        #expect(served, "HTTPS within 30 s: \(reply); pebble: \(world.pebble.log.suffix(2000))")
        let headers = RouterWorld.answer(reply.body)?["headers"] as? [String: String] ?? [:]
        #expect(RouterWorld.answer(reply.body)?["dyno"] as? String == "web.1")
        #expect(headers["X-Forwarded-Proto"] == "https", "\(headers)")
        #expect(headers["X-Forwarded-Port"] == "\(world.tlsPort)", "\(headers)")
        let stored = try #require(world.router.storage?.certificate(for: "shop.test"))
        #expect(stored.info.names == ["shop.test"])
        #expect(stored.info.issuer.hasPrefix("Pebble Intermediate CA"), "\(stored.info.issuer)")
        #expect(world.pebble.orders == 1)

        // With its certificate (which the router finds in Caddy's storage within seconds), the name's plain HTTP
        // requests get a 308 to the same URL over HTTPS.
        var redirected = (status: 0, headers: "", body: "", stderr: "")
        #expect(
            waitUntil(seconds: 10) {
                try? world.router.apply(world.table(["shop.test"]))
                redirected = (try? world.get("shop.test", https: false, path: "/cart?item=1")) ?? redirected
                return redirected.status == 308
            }, "\(redirected)")
        #expect(
            RouterWorld.header("Location", in: redirected.headers) == "https://shop.test:\(world.tlsPort)/cart?item=1")
        // The app's own name, a local one, gets no certificate and stays on HTTP.
        #expect(try world.get("shop.localhost", https: false).status == 200)

        // A new router (the runner restarted) serves the stored certificate and places no new order.
        world.router.stop()
        world.router = Router(settings: world.settings)
        try world.router.start()
        try world.router.apply(world.table(["shop.test"]))
        let again = try world.get("shop.test", https: true, root: root)
        #expect(again.status == 200, "\(again)")
        #expect(world.pebble.orders == 1, "no new order after a restart: \(world.pebble.log.suffix(1500))")

        // domains:remove: the name no longer answers over HTTPS (nor reaches the app over HTTP).
        try world.router.apply(world.table([]))
        #expect(waitUntil(seconds: 10) { (try? world.get("shop.test", https: true, root: root))?.status != 200 })
        #expect(try world.get("shop.test", https: false).status == 404)
    }

    @Test func anOrderTheCARefusesLeavesHTTPServingAndTheRouterNamesTheReason() throws {
        let world = try World("router-https-refused")
        defer { world.stop() }
        // The name points elsewhere (an address the router does not listen on): pebble cannot validate it.
        try world.pebble.point("elsewhere.test", at: "127.0.0.2")
        try world.router.start()
        try world.router.apply(world.table(["elsewhere.test"]))

        var failure: CertificateFailures.Failure?
        #expect(
            waitUntil(seconds: 30) {
                failure = world.router.certificateFailures()["elsewhere.test"]
                return failure != nil
            }, "Caddy logs the refused order; pebble: \(world.pebble.log.suffix(2000))")
        let reason = try #require(failure?.reason)
        let caddyLog = (try? String(contentsOfFile: world.settings.folder + "/caddy/caddy.log", encoding: .utf8)) ?? ""
        #expect(reason.contains("elsewhere.test points at this router"), "\(reason): \(caddyLog.suffix(3000))")
        #expect(!reason.contains(world.routed.scratch.url("")), "no server path: \(reason)")

        // HTTP keeps serving the app, without a redirect.
        try world.router.apply(world.table(["elsewhere.test"]))
        #expect(world.router.secureHosts(world.table(["elsewhere.test"])).isEmpty)
        let plain = try world.get("elsewhere.test", https: false)
        #expect(plain.status == 200, "\(plain)")
        #expect(RouterWorld.answer(plain.body)?["dyno"] as? String == "web.1")
        #expect(world.router.storage?.certificate(for: "elsewhere.test") == nil)
    }

    /// A self-signed certificate for `names` (its own root), made with openssl: the certificate and key files.
    static func selfSigned(_ names: [String], in folder: String, name: String) throws -> (String, String) {
        let certificate = "\(folder)/\(name).crt"
        let key = "\(folder)/\(name).key"
        let made = try runTool([
            try tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=\(names[0])", "-addext",
            "subjectAltName=" + names.map { "DNS:\($0)" }.joined(separator: ","),
        ])
        #expect(made.status == 0, "\(made.stderr)")
        return (certificate, key)
    }

    /// The operator's wildcard covers every app's own name, and an app's own certificate (`certs:add`) its domain;
    /// neither places an order with the CA.
    @Test func theOperatorsWildcardAndAnAppsOwnCertificateAreServedWithoutAnOrder() throws {
        let world = try World("router-https-wildcard")
        defer { world.stop() }
        let folder = world.routed.scratch.url("")
        let (wildcard, wildcardKey) = try Self.selfSigned(["*.apps.test"], in: folder, name: "wildcard")
        // The app's own certificate also names another app's domain: it is never served for that one.
        let (own, ownKey) = try Self.selfSigned(["shop.example.org", "other.example.org"], in: folder, name: "own")
        var settings = world.settings
        settings.tls?.wildcard = .init(certificate: wildcard, key: wildcardKey)
        world.router = Router(settings: settings)
        try world.router.start()

        var app = RouteTable.App(
            name: "shop", baseDomain: "apps.test", domains: ["shop.example.org"], upstreams: [world.web])
        app.certificate = try world.router.installAppCertificate(
            app: "shop", certificate: own, key: ownKey, fingerprint: "one"
        ).get()
        var other = RouteTable.App(
            name: "other", baseDomain: "apps.test", domains: ["other.example.org"], upstreams: [world.web])
        other.automaticCertificates = false
        var table = RouteTable(apps: [app, other])
        table.secureHosts = world.router.secureHosts(table)
        #expect(table.secureHosts == ["shop.apps.test", "shop.example.org", "other.apps.test"])
        try world.router.apply(table)

        let viaWildcard = try world.get("shop.apps.test", https: true, root: wildcard)
        #expect(viaWildcard.status == 200, "\(viaWildcard)")
        let viaOwn = try world.get("shop.example.org", https: true, root: own)
        #expect(viaOwn.status == 200, "\(viaOwn)")
        #expect(try world.get("shop.example.org", https: false).status == 308)
        let foreign = try world.get("other.example.org", https: true, root: own)
        #expect(foreign.status == 0, "no certificate for another app's domain: \(foreign)")
        #expect(try world.get("other.example.org", https: false).status == 200, "it keeps HTTP")
        let report = world.router.certificateReports["shop"] ?? []
        #expect(report.map(\.state) == ["installed", "installed"], "\(report)")
        #expect(report.first?.issuer == "*.apps.test")
        #expect(world.pebble.orders == 0)

        // A certificate that is not the key's is refused, with the reason, and nothing is handed to Caddy.
        let refused = world.router.installAppCertificate(
            app: "shop", certificate: own, key: wildcardKey, fingerprint: "two")
        guard case .failure(let error) = refused else {
            Issue.record("a key that is not the certificate's was accepted")
            return
        }
        #expect("\(error)".contains("the key is not the certificate's"), "\(error)")
    }
}
