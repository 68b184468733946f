import Foundation
import SlipwayTestSupport
import Testing

/// The runner acts when the door changes something, not at its next periodic look: with `--interval` an hour, a
/// push, a scale and a config change are each running within the wait below (the periodic look would take an hour).
@Suite(.serialized) struct RunnerWakeTests {
    static let procfile = "web: python3 -u -m http.server $PORT --bind 0.0.0.0\n"

    @Test func aPushAScaleAndAConfigChangeWakeTheRunner() throws {
        let h = try PushHarness("runner-wake")
        let log = h.scratch.url("watch.log")
        let watcher = try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", h.root, "--grace", "5", "--interval", "3600",
                "--router", "none",
            ],
            stdout: .file(log), stderr: .file(log))
        defer { watcher.terminate(grace: 30) }
        #expect(waitUntil(seconds: 30) { PushToRunnerTests.read(log).contains("Watching ") })

        _ = try h.deployedApp(["Procfile": Self.procfile])
        #expect(waitUntil(seconds: 60) { Self.up(h, version: 1).count == 1 }, "\(PushToRunnerTests.read(log))")

        let scaled = try h.ssh("ps:scale myapp web=2")
        #expect(scaled.status == 0, "\(scaled.output)")
        #expect(waitUntil(seconds: 60) { Self.up(h, version: 1).count == 2 }, "\(PushToRunnerTests.read(log))")

        let set = try h.ssh("config:set myapp GREETING=hello")
        #expect(set.status == 0, "\(set.output)")
        #expect(waitUntil(seconds: 60) { Self.up(h, version: 2).count == 2 }, "\(PushToRunnerTests.read(log))")
    }

    /// The dynos of `version` that are up, from `slugrunner ps --json`.
    static func up(_ h: PushHarness, version: Int) -> [String] {
        guard let ps = try? runTool([TestPaths.product("slugrunner"), "ps", "myapp", "--json", "--root", h.root]),
            let status = try? JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [String: Any],
            (status["release"] as? [String: Any])?["version"] as? Int == version
        else { return [] }
        return ((status["processes"] as? [[String: Any]]) ?? []).filter {
            $0["release"] as? Int == version && $0["state"] as? String == "up"
        }.compactMap { $0["dyno"] as? String }
    }
}
