import Foundation
import SlipwaySpool
import SlipwayTestSupport
import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Autoscaling on the local engine: an app answering in 400 ms under steady load, autoscaled with `--p95 200 --min 1
/// --max 4` (a 10 s window), grows to 2 web dynos and more, never past 4, and back to 1 once the load stops, every
/// step in its log and no request failed; a manual `ps:scale` turns it off.
@Suite(.serialized) struct AutoscaleTests {
    /// Clients that each send `GET /slow` without pause, each on a new connection, until the file `stop` exists;
    /// then prints `{"ok": n, "failed": n, "errors": […]}`.
    static let loadScript = """
        import http.client, json, os, sys, threading
        port, stop, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
        ok, failed, errors, lock = [0], [0], [], threading.Lock()
        def client():
            while not os.path.exists(stop):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    c.request("GET", "/slow", headers={"Host": "myapp.localhost"})
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

    @Test func theWebFormationFollowsTheLoadWithinItsBounds() throws {
        let h = try RunnerHarness("autoscale")
        try MetricsTests.prepare(h, config: ["DELAY_MS": "400"])
        let enable = try MetricsTests.door(
            h, ["ps:autoscale", "myapp", "web", "--min", "1", "--max", "4", "--p95", "200"])
        #expect(enable.status == 0, "\(enable.output)")
        let port = try freeLoopbackPort()
        _ = try h.startWatch(["--router", "127.0.0.1:\(port)", "--autoscale-window", "10"])
        #expect(h.waitForRelease(1) != nil, "\(h.watchOutput)")

        try h.scratch.write("load.py", Self.loadScript)
        let stop = h.scratch.url("stop-load")
        let load = try StreamingProcess(["/usr/bin/python3", h.scratch.url("load.py"), "\(port)", stop, "6"])
        defer { load.wait(timeout: 0.1) }
        var most = 0
        let webCount = { () -> Int in
            let count = (try? h.ps())?.formation["web"] ?? 0
            most = max(most, count)
            return count
        }
        let started = ContinuousClock.now
        #expect(waitUntil(seconds: 90) { webCount() >= 2 }, "\(h.log())")
        #expect(ContinuousClock.now - started < .seconds(90))
        // Under the same load it keeps growing to its max, and no further.
        #expect(waitUntil(seconds: 90) { webCount() == 4 }, "\(h.log())")
        try h.scratch.write("stop-load", "")
        #expect(load.wait(timeout: 60) == 0)
        let result = load.text
        let summary = (try? JSONSerialization.jsonObject(with: Data(result.utf8))) as? [String: Any]
        #expect(summary?["failed"] as? Int == 0, "\(result)")
        #expect((summary?["ok"] as? Int ?? 0) > 100, "\(result)")

        // Without requests it steps down to min, and the dynos it stopped are gone.
        #expect(
            waitUntil(seconds: 300) {
                guard let status = try? h.ps() else { return false }
                most = max(most, status.formation["web"] ?? 0)
                return status.formation["web"] == 1 && status.processes.filter { $0.type == "web" }.count == 1
            }, "\(h.log())")
        #expect(most == 4, "never more than --max")
        let steps = h.log().split(separator: "\n").filter { $0.contains("slugrunner[autoscale]: ") }.map {
            String($0.split(separator: "slugrunner[autoscale]: ", maxSplits: 1).last ?? "")
        }
        #expect(
            steps.map { String($0.prefix(10)) } == [
                "web 1 → 2,", "web 2 → 3,", "web 3 → 4,", "web 4 → 3,", "web 3 → 2,", "web 2 → 1,",
            ], "\(steps)")
        #expect(steps.first?.contains(" over 10 s") == true && steps.first?.contains("p95 4") == true, "\(steps)")
        #expect(steps.last?.hasSuffix("no requests over 10 s") == true, "\(steps)")

        // A manual ps:scale turns autoscaling off.
        let scale = try MetricsTests.door(h, ["ps:scale", "myapp", "web=2"])
        #expect(scale.status == 0, "\(scale.output)")
        #expect(try DynoSettings.load(from: RootLayout(h.root).dynoSettings("myapp")).autoscale == nil)
        #expect(waitUntil(seconds: 30) { (try? h.ps())?.formation["web"] == 2 })
        let ps = try MetricsTests.door(h, ["ps", "myapp"])
        #expect(ps.stdout.contains("=== web") && !ps.stdout.contains("autoscaled"), "\(ps.output)")
    }
}
