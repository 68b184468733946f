import Foundation
import SlipwaySpool
import SlipwayTestSupport
import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Metrics against the real router (Caddy) and runner: requests of known statuses and service times give the
/// counts and percentiles `metrics --json` prints at the door, the Prometheus page parses with prometheus-client's
/// parser, and the figures survive a restart of the runner.
@Suite(.serialized) struct MetricsTests {
    /// The web dyno: `GET /answer/<status>/<ms>` answers `status` after `ms` milliseconds; `/slow` after
    /// `$DELAY_MS`; anything else 200 at once.
    static let webApp = """
        import http.server, os, time
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                parts = self.path.strip("/").split("/")
                status, ms = 200, 0
                if parts[0] == "answer" and len(parts) == 3:
                    status, ms = int(parts[1]), int(parts[2])
                elif parts[0] == "slow":
                    ms = int(os.environ.get("DELAY_MS", "400"))
                time.sleep(ms / 1000)
                body = b"ok\\n"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args): pass
        http.server.ThreadingHTTPServer.daemon_threads = True
        http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
        """

    /// Builds and publishes the app, and registers it at the door (`apps/myapp/app.json`).
    static func prepare(_ h: RunnerHarness, config: [String: String] = [:]) throws {
        try FileManager.default.createDirectory(atPath: "\(h.root)/apps/myapp", withIntermediateDirectories: true)
        try Data(#"{"name": "myapp", "owner": "alice", "created_at": "2026-12-07T00:00:00Z"}"#.utf8).write(
            to: URL(fileURLWithPath: "\(h.root)/apps/myapp/app.json"))
        let out = try h.buildSlug(files: ["web.py": webApp], procfile: "web: python3 -u web.py\n")
        try h.publish(out, version: 1, config: config)
    }

    /// `receive-pack <words> --root <root>`.
    static func door(_ h: RunnerHarness, _ words: [String]) throws -> ToolResult {
        try runTool([TestPaths.product("receive-pack")] + words + ["--root", h.root], timeout: 60)
    }

    /// `metrics myapp --json`'s `total`.
    static func total(_ h: RunnerHarness) throws -> [String: Any]? {
        let result = try door(h, ["metrics", "myapp", "--json", "--since", "2h"])
        guard result.status == 0 else { return nil }
        return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])?["total"]
            as? [String: Any]
    }

    /// The nearest-rank percentile of `values`.
    static func percentile(_ values: [Int], _ quantile: Double) -> Double {
        let sorted = values.sorted()
        return Double(sorted[max(1, Int((quantile * Double(sorted.count)).rounded(.up))) - 1])
    }

    @Test func theDoorsMetricsMatchTheRouterLinesAndSurviveARestart() throws {
        let h = try RunnerHarness("metrics")
        try Self.prepare(h)
        let port = try freeLoopbackPort()
        let metricsPort = try freeLoopbackPort()
        let watcher = try h.startWatch(["--router", "127.0.0.1:\(port)", "--metrics", "127.0.0.1:\(metricsPort)"])
        #expect(h.waitForRelease(1) != nil, "\(h.watchOutput)")

        // 70 requests of known statuses and times, one after the other.
        let statuses = [200, 200, 200, 201, 302, 404, 500]
        let delays = [2, 5, 9, 17, 33, 65, 129, 250]
        let plan = (0..<70).map { (statuses[$0 % statuses.count], delays[$0 % delays.count]) }
        let client = try runTool(
            [
                "/usr/bin/python3", "-c",
                """
                import http.client, sys
                got = []
                for path in sys.argv[2:]:
                    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
                    c.request("GET", path, headers={"Host": "myapp.localhost"})
                    r = c.getresponse()
                    r.read()
                    got.append(str(r.status))
                    c.close()
                print(" ".join(got))
                """, "\(port)",
            ] + plan.map { "/answer/\($0.0)/\($0.1)" }, timeout: 120)
        #expect(client.stdout == plan.map { "\($0.0)" }.joined(separator: " ") + "\n", "\(client.output)")

        var total: [String: Any]?
        #expect(
            waitUntil(seconds: 30) {
                total = try? Self.total(h)
                return total?["requests"] as? Int == 70
            }, "\(String(describing: total))")
        #expect(total?["responses"] as? [String: Int] == ["2xx": 40, "3xx": 10, "4xx": 10, "5xx": 10])
        #expect((total?["errors"] as? [String: Int])?.isEmpty == true)

        // The test's own percentiles, from the router lines in the app's log.
        var times: [Int] = []
        #expect(
            waitUntil(seconds: 10) {
                times = h.log().split(separator: "\n").filter { $0.contains("slugrunner[router]: at=info") }.compactMap
                {
                    line in
                    line.split(separator: " ").first { $0.hasPrefix("service=") }.flatMap {
                        Int($0.dropFirst("service=".count).dropLast(2))
                    }
                }
                return times.count == 70
            })
        let service = try #require(total?["service_ms"] as? [String: Double])
        for (name, quantile) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
            let ours = try #require(service[name])
            #expect(abs(ours - Self.percentile(times, quantile)) <= 1, "\(name): \(ours) vs \(times.sorted())")
        }
        let memory = (total?["memory"] as? [String: Any])?["web"] as? [String: Any]
        #expect(
            (memory?["max_mb"] as? Double ?? 0) > 0, "the web dyno's memory is sampled: \(String(describing: total))")

        // The Prometheus page, through prometheus-client's own parser (installed by scripts/setup --tests with the
        // python3 found first on PATH).
        let parsed = try runTool(
            [
                "/usr/bin/env", "python3", "-c",
                """
                import json, sys, urllib.request
                from prometheus_client.parser import text_string_to_metric_families
                page = urllib.request.urlopen("http://127.0.0.1:" + sys.argv[1] + "/metrics").read().decode()
                out = {}
                for family in text_string_to_metric_families(page):
                    for sample in family.samples:
                        if sample.labels.get("app") == "myapp":
                            key = sample.name + "," + ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                            out[key] = sample.value
                print(json.dumps(out))
                """, "\(metricsPort)",
            ], timeout: 30)
        #expect(parsed.status == 0, "\(parsed.output)")
        let samples = (try? JSONSerialization.jsonObject(with: Data(parsed.stdout.utf8))) as? [String: Double] ?? [:]
        #expect(samples["slipway_requests_total,app=myapp,class=2xx,type=web"] == 40, "\(samples)")
        #expect(samples["slipway_requests_total,app=myapp,class=5xx,type=web"] == 10)
        #expect(samples["slipway_service_time_seconds_count,app=myapp,type=web"] == 70)
        #expect(samples["slipway_service_time_seconds_bucket,app=myapp,le=+Inf,type=web"] == 70)
        #expect(samples["slipway_memory_errors_total,app=myapp,code=R14,type=web"] == 0, "memory sampled, no R14")

        // `ps` at the door: each web dyno's share of the last minute's requests.
        let ps = try Self.door(h, ["ps", "myapp"])
        #expect(
            ps.stdout.contains("web.1: up") && ps.stdout.contains("100% of the last minute's requests"), "\(ps.output)")

        // A new runner adds to what the last one wrote.
        #expect(h.stopWatch(watcher) == 0)
        _ = try h.startWatch(["--router", "127.0.0.1:\(port)"])
        #expect(h.waitForRelease(1) != nil, "\(h.watchOutput)")
        #expect(try Self.total(h)?["requests"] as? Int == 70, "the figures survived the restart")
        let one = try runTool(
            [
                "/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: myapp.localhost",
                "http://127.0.0.1:\(port)/answer/404/1",
            ])
        #expect(one.stdout == "404")
        #expect(waitUntil(seconds: 30) { (try? Self.total(h))?["requests"] as? Int == 71 })
    }
}
