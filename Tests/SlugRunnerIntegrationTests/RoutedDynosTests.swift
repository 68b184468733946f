import Foundation
import SlipwaySpool
import SlipwayTestSupport
import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The watcher and its router together: an app scaled to three web dynos answers at its host name with requests
/// spread over all three, and scaled to none it gets the H14 page.
@Suite(.serialized) struct RoutedDynosTests {
    @Test func requestsReachEveryWebDynoAndWithoutOneTheH14Page() throws {
        let h = try RunnerHarness("routed")
        let layout = RootLayout(h.root)
        try FileManager.default.createDirectory(atPath: "\(h.root)/apps/myapp", withIntermediateDirectories: true)
        try DynoSettings().scaling("web", to: 3).save(to: layout.dynoSettings("myapp"))
        let out = try h.buildSlug()
        try h.publish(out, version: 1, config: ["PAGE": "routed"])
        let port = try freeLoopbackPort()
        let watcher = try h.startWatch(["--router", "127.0.0.1:\(port)"])
        let status = try #require(h.waitForRelease(1), "\(h.watchOutput)")
        #expect(status.processes.filter { $0.type == "web" && $0.state == "up" }.count == 3)
        #expect(status.baseDomain == "localhost")

        // 300 requests at myapp.localhost; the router's lines in the app's log say which dyno answered each.
        let client = try runTool(
            [
                "/usr/bin/python3", "-c",
                """
                import http.client, sys
                ok = 0
                for _ in range(300):
                    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
                    c.request("GET", "/page.txt", headers={"Host": "myapp.localhost"})
                    r = c.getresponse()
                    ok += r.status == 200 and r.read() == b"routed\\n"
                    c.close()
                print(ok)
                """, "\(port)",
            ], timeout: 120)
        #expect(client.stdout == "300\n", "\(client.output)")
        var counts: [String: Int] = [:]
        #expect(
            waitUntil(seconds: 30) {
                counts = [:]
                for line in h.log().split(separator: "\n") where line.contains("slugrunner[router]: at=info") {
                    for dyno in ["web.1", "web.2", "web.3"] where line.contains(" dyno=\(dyno) ") {
                        counts[dyno, default: 0] += 1
                    }
                }
                return counts.values.reduce(0, +) >= 300
            }, "\(counts)")
        for dyno in ["web.1", "web.2", "web.3"] { #expect(counts[dyno, default: 0] >= 60, "\(dyno): \(counts)") }

        // No web dyno: the app's own error page, from the router, not a connection error.
        try DynoSettings.load(from: layout.dynoSettings("myapp")).scaling("web", to: 0).save(
            to: layout.dynoSettings("myapp"))
        var page = ""
        #expect(
            waitUntil(seconds: 60) {
                let result = try? runTool(
                    [
                        "/usr/bin/curl", "-s", "-w", "%{http_code}", "--max-time", "5", "-H", "Host: myapp.localhost",
                        "http://127.0.0.1:\(port)/",
                    ], timeout: 10)
                page = result?.stdout ?? ""
                return page.hasSuffix("503") && page.contains("H14")
            }, "\(page)")
        #expect(h.stopWatch(watcher) == 0)
        #expect(!loopbackPortAcceptsConnections(port), "the router stopped with the watcher")
    }
}
