import Foundation
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// HTTPS end to end (issue 26): `slugrunner watch --router-tls` with a private ACME CA (pebble) on loopback; after
/// `domains:add myapp shop.test` the app answers over HTTPS with a certificate for `shop.test`, `certs` says so, plain
/// HTTP is redirected, and ten deploys in a row under a client that never resends lose no request over HTTPS.
@Suite(.serialized) struct HTTPSDeployTests {
    @Test func aDomainGetsHTTPSFromTheCAAndTenDeploysUnderLoadLoseNoRequest() throws {
        let h = try PushHarness("https-deploys")
        let repo = try h.makeApp(files: [
            "Procfile": "web: python3 server.py\n",
            "server.py": try String(
                contentsOfFile: "\(TestPaths.repositoryRoot)/scripts/lib/versioned-server.py", encoding: .utf8),
            "version.txt": "version-0\n",
        ])
        let runner = try HTTPSRunner(h)
        defer { withExtendedLifetime(runner) {} }
        let (http, https, pebble, log) = (runner.http, runner.https, runner.pebble, runner.log)

        let first = try h.push(repo)
        #expect(first.status == 0, "\(first.output)")
        let added = try h.ssh("domains:add myapp shop.test")
        #expect(added.status == 0, "\(added.output)")
        let root = try pebble.issuingRoot()
        try #require(
            Self.serves("version-0 -", https: https, root: root, seconds: 30),
            "HTTPS within 30 s: \(PushToRunnerTests.read(log)) \(pebble.log.suffix(1500))")

        // certs shows the issued certificate; plain HTTP gets a 308 once the runner has seen it.
        var certs = try h.ssh("certs myapp")
        #expect(
            waitUntil(seconds: 20) {
                certs = (try? h.ssh("certs myapp")) ?? certs
                return certs.output.split(separator: "\n").contains {
                    $0.hasPrefix("shop.test ") && $0.contains(" issued  Pebble Intermediate CA")
                }
            }, "\(certs.output)")
        #expect(certs.output.contains("myapp.localhost  none"), "\(certs.output)")
        var redirect = ""
        #expect(
            waitUntil(seconds: 20) {
                redirect =
                    (try? runTool([
                        "/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--resolve",
                        "shop.test:\(http):127.0.0.1", "http://shop.test:\(http)/a?b=1",
                    ]))?.stdout ?? ""
                return redirect == "308 https://shop.test:\(https)/a?b=1"
            }, "\(redirect)")

        let results = h.scratch.url("load.json")
        let client = try TestProcess(
            [
                "/usr/bin/python3", "\(TestPaths.repositoryRoot)/scripts/load-client", "--router",
                "127.0.0.1:\(https)", "--host", "shop.test", "--no-resend", "--https", "--cacert", root,
            ],
            stdout: .file(results), stderr: .file(h.scratch.url("load.err")))
        defer { client.terminate() }

        // Six pushes, three config changes, one rollback, each served over HTTPS before the next.
        for deploy in 1...6 {
            try h.commit(repo, "version.txt", "version-\(deploy)\n")
            let push = try h.push(repo)
            #expect(push.status == 0, "\(push.output)")
            try #require(Self.serves("version-\(deploy) -", https: https, root: root), "\(PushToRunnerTests.read(log))")
        }
        for mark in ["a", "b", "c"] {
            #expect(try h.ssh("config:set myapp MARK=\(mark)").status == 0)
            try #require(Self.serves("version-6 \(mark)", https: https, root: root), "\(PushToRunnerTests.read(log))")
        }
        #expect(try h.ssh("rollback myapp v1").status == 0)
        try #require(Self.serves("version-0 -", https: https, root: root), "\(PushToRunnerTests.read(log))")

        client.signal(SIGTERM)
        #expect(client.wait(timeout: 60) == 0)
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results)))
                as? [String: Any], "\(PushToRunnerTests.read(results))")
        #expect(report["requests"] as? Int ?? 0 > 100, "the client kept sending: \(report)")
        #expect(report["failed"] as? Int == 0, "no request failed: \(report)")
        #expect(pebble.orders == 1, "one order for shop.test: \(pebble.log.suffix(1500))")

        // domains:remove ends HTTPS for the name.
        #expect(try h.ssh("domains:remove myapp shop.test").status == 0)
        #expect(waitUntil(seconds: 20) { !Self.answers(https: https, root: root).hasPrefix("version-") })
    }

    /// What the app answers at https://shop.test through the router, trusting only pebble's root.
    static func answers(https: UInt16, root: String) -> String {
        let result = try? runTool(
            [
                "/usr/bin/curl", "-s", "--max-time", "5", "--cacert", root, "--resolve",
                "shop.test:\(https):127.0.0.1", "https://shop.test:\(https)/",
            ], timeout: 10)
        return result?.stdout ?? ""
    }

    /// Waits until the app answers `body` over HTTPS.
    static func serves(_ body: String, https: UInt16, root: String, seconds: TimeInterval = 120) -> Bool {
        waitUntil(seconds: seconds) { answers(https: https, root: root) == body + "\n" }
    }
}
