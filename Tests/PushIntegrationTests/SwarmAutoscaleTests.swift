import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Autoscaling on the swarm engine (docs/metrics.md): the same rule as on one machine, a step being a change of the
/// web service's replicas. An app answering in 400 ms under steady load, autoscaled over SSH with `--p95 200 --min 1
/// --max 4` (a 10 s window), grows to 2 web dynos and more, never past 4, and back to 1 once the load stops, every step
/// in its log and no request failed.
@Suite(.serialized) struct SwarmAutoscaleTests {
    /// The web dyno: every GET answered after `$DELAY_MS` milliseconds, on `0.0.0.0:$PORT`.
    static let webApp = """
        import http.server, os, time
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                time.sleep(int(os.environ.get("DELAY_MS", "0")) / 1000)
                body = b"ok\\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args): pass
        http.server.ThreadingHTTPServer.daemon_threads = True
        http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
        """

    /// Clients that each send `GET /` without pause, each on a new connection, until the file `stop` exists; then
    /// prints `{"ok": n, "failed": n, "errors": […]}`.
    static let loadScript = """
        import http.client, json, os, sys, threading
        port, stop, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
        ok, failed, errors, lock = [0], [0], [], threading.Lock()
        def client():
            while not os.path.exists(stop):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    c.request("GET", "/", headers={"Host": "myapp.localhost"})
                    r = c.getresponse()
                    r.read()
                    c.close()
                    with lock:
                        if r.status == 200: ok[0] += 1
                        else:
                            failed[0] += 1
                            errors.append(f"status {r.status}")
                except Exception as error:
                    with lock:
                        failed[0] += 1
                        errors.append(repr(error))
        workers = [threading.Thread(target=client) for _ in range(threads)]
        for w in workers: w.start()
        for w in workers: w.join()
        print(json.dumps({"ok": ok[0], "failed": failed[0], "errors": errors[:10]}))
        """

    /// The runner's web formation of myapp (its `state.json`).
    static func webFormation(_ root: String) -> Int? {
        (try? Data(contentsOf: URL(fileURLWithPath: "\(root)/runner/apps/myapp/state.json")))
            .flatMap { RunnerState.decode($0) }?.formation["web"]
    }

    @Test func theWebServiceFollowsTheLoadWithinItsBounds() throws {
        let scratch = try ScratchDirectory("swarm-autoscale")
        let swarm = try PrivateSwarm(directory: try scratch.makeDirectory("nodes"))
        defer { swarm.stop() }
        let b = try BucketHarness("swarm-autoscale", weedAddress: swarm.hostAddress)
        let h = b.push
        let router = try freeLoopbackPort()
        let log = h.scratch.url("watch.log")
        let watcher = try b.startSwarmRunner(swarm, router: router, log: log, extra: ["--autoscale-window", "10"])
        defer { watcher.terminate(grace: 30) }
        let appLog = { PushToRunnerTests.read("\(h.root)/logs/myapp.log") }
        let details = { "\(PushToRunnerTests.read(log))\n--- app log:\n\(appLog())" }

        let repo = try h.makeApp(files: ["Procfile": "web: python3 server.py\n", "server.py": Self.webApp])
        let pushed = try h.push(repo)
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(try h.ssh("config:set myapp DELAY_MS=400").status == 0)
        let served = waitUntil(seconds: 180) {
            let reply = try? runTool([
                "/usr/bin/curl", "-s", "--max-time", "5", "-H", "Host: myapp.localhost", "http://127.0.0.1:\(router)/",
            ])
            return reply?.stdout == "ok\n" && appLog().contains("Deployed v2")
        }
        try #require(served, "\(details())")
        let enable = try h.ssh("ps:autoscale myapp web --min 1 --max 4 --p95 200")
        #expect(enable.status == 0, "\(enable.output)")

        try h.scratch.write("load.py", Self.loadScript)
        let stop = h.scratch.url("stop-load")
        let load = try StreamingProcess(["/usr/bin/python3", h.scratch.url("load.py"), "\(router)", stop, "6"])
        defer { load.wait(timeout: 0.1) }
        var most = 0
        let web = { () -> Int in
            let count = Self.webFormation(h.root) ?? 0
            most = max(most, count)
            return count
        }
        #expect(waitUntil(seconds: 90) { web() >= 2 }, "\(details())")
        #expect(waitUntil(seconds: 120) { web() == 4 }, "\(details())")
        try h.scratch.write("stop-load", "")
        #expect(load.wait(timeout: 60) == 0)
        let summary = (try? JSONSerialization.jsonObject(with: Data(load.text.utf8))) as? [String: Any]
        #expect(summary?["failed"] as? Int == 0, "\(load.text)")

        #expect(waitUntil(seconds: 300) { web() == 1 }, "\(details())")
        #expect(most == 4, "never more than --max")
        let steps = appLog().split(separator: "\n").filter { $0.contains("slugrunner[autoscale]: ") }.map {
            String($0.split(separator: "slugrunner[autoscale]: ", maxSplits: 1).last ?? "")
        }
        #expect(
            steps.map { String($0.prefix(10)) } == [
                "web 1 → 2,", "web 2 → 3,", "web 3 → 4,", "web 4 → 3,", "web 3 → 2,", "web 2 → 1,",
            ], "\(steps)")
    }
}
