import Foundation
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One tenant cannot take the runner from the others: a flood of output is read off the watcher's loop and limited
/// per dyno (L11), one-off dynos are listed, capped, stoppable and end at their lifetime, each dyno has CPU shares
/// by its size, and an app's formation has a ceiling. The door's commands run as the operator does
/// (`receive-pack <command> --root`), against a real `slugrunner watch`.
@Suite(.serialized) struct FairShareTests {
    /// `receive-pack <command> --root <root> <arguments>`.
    static func door(_ h: RunnerHarness, _ command: String, _ arguments: [String]) throws -> ToolResult {
        try runTool([TestPaths.product("receive-pack"), command, "--root", h.root] + arguments, timeout: 120)
    }

    static func createApps(_ h: RunnerHarness, _ apps: [String]) throws {
        for app in apps {
            let created = try runTool(
                [TestPaths.product("receive-pack"), "apps", "create", "--root", h.root, app, "--owner", "alice"])
            guard created.status == 0 else { throw HarnessError("apps create failed: \(created.output)") }
        }
    }

    /// The app's log, its rotated part first.
    static func wholeLog(_ h: RunnerHarness, _ app: String) -> String {
        ((try? String(contentsOfFile: "\(h.root)/logs/\(app).log.1", encoding: .utf8)) ?? "") + h.log(app)
    }

    @Test func fourFloodingDynosStallNeitherTheRunnerNorAnotherApp() throws {
        let h = try RunnerHarness("flood")
        try Self.createApps(h, ["flooder", "quiet"])
        try h.publish(
            try h.buildSlug("flooder", procfile: "web: ./web.sh\nflood: exec yes flood-line\n"), app: "flooder",
            version: 1)
        try h.publish(
            try h.buildSlug("quiet", procfile: "web: ./web.sh\nworker: exec sleep 1000\n"), app: "quiet", version: 1,
            config: ["PAGE": "quiet"])
        try DynoSettings.update(RootLayout(h.root), app: "flooder") { $0 = $0.scaling("flood", to: 4) }
        let started = ContinuousClock.now
        let watcher = try h.startWatch(["--log-max-size", "200"])
        defer { _ = h.stopWatch(watcher) }
        #expect(h.waitForRelease(1, app: "quiet") != nil, "\(h.watchOutput)")
        #expect(
            waitUntil(seconds: 60) {
                (try? h.ps("flooder"))?.processes.filter { $0.type == "flood" && $0.state == "up" }.count == 4
            }, "\(h.watchOutput)")

        // While the four flood, the other app scales and runs a one-off dyno through the door.
        let scaled = try Self.door(h, "ps:scale", ["quiet", "worker=2"])
        #expect(scaled.status == 0, "\(scaled.output)")
        #expect(
            waitUntil(seconds: 60) {
                (try? h.ps("quiet"))?.processes.filter { $0.type == "worker" && $0.state == "up" }.count == 2
            }, "\(h.watchOutput)")
        let oneOff = try Self.door(h, "run", ["quiet", "--", "echo one-off says $PAGE"])
        #expect(oneOff.status == 0 && oneOff.stdout.contains("one-off says quiet"), "\(oneOff.output)")

        // Each flooding dyno's lines past its budget are dropped and counted, Heroku's way.
        #expect(
            waitUntil(seconds: 30) {
                (1...4).allSatisfy { n in
                    Self.wholeLog(h, "flooder").contains(
                        "slugrunner[flood.\(n)]: Error L11 (Tail buffer overflow) -> ")
                }
            }, "\(h.log("flooder").suffix(2000))")
        let log = Self.wholeLog(h, "flooder")
        #expect(log.contains("log lines dropped: flood.1 logs faster than 1000 lines per second"))
        #expect(log.contains("app[flood.2]: flood-line"))
        // Each kept at most its burst and its rate since it started (with a second's slack).
        let elapsed = Double((ContinuousClock.now - started).components.seconds) + 1
        let kept = log.components(separatedBy: "app[flood.1]: flood-line").count - 1
        #expect(kept <= 10_000 + Int(1000 * elapsed), "\(kept) lines in \(elapsed) s")
    }

    @Test func oneOffDynosAreListedCappedStoppableAndEndAtTheirLifetime() throws {
        let h = try RunnerHarness("one-offs")
        try Self.createApps(h, ["myapp"])
        try h.publish(try h.buildSlug(), version: 1)
        var watcher = try h.startWatch(["--max-detached-runs", "2"])
        #expect(h.waitForRelease(1) != nil, "\(h.watchOutput)")

        for expected in ["run.1", "run.2"] {
            let detached = try Self.door(h, "run", ["myapp", "--detach", "--", "sleep 1000"])
            #expect(detached.status == 0 && detached.stderr.contains("up, \(expected)"), "\(detached.output)")
        }
        let third = try Self.door(h, "run", ["myapp", "--detach", "--", "sleep 1000"])
        #expect(third.status == 1, "\(third.output)")
        #expect(
            third.stderr
                == "slipway: myapp already has 2 detached one-off dynos running, the most this server allows: stop one "
                + "with ps:stop myapp run.N, or wait for one to end\n", "\(third.output)")

        // ps lists them, with their command; ps:stop stops one.
        var listed = ""
        #expect(
            waitUntil(seconds: 30) {
                listed = (try? Self.door(h, "ps", ["myapp"]))?.stdout ?? ""
                return listed.contains("=== run: one-off processes (2)")
            }, "\(listed)")
        #expect(listed.contains("\nrun.1: up ") && listed.contains(": sleep 1000\nrun.2: up "), "\(listed)")
        #expect(try h.slugrunner(["ps", "myapp"]).stdout.contains("\nrun.2: up "))
        #expect(try h.slugrunner(["ps", "myapp"]).stdout.contains(": sleep 1000\n"))
        let run1 = try #require(try h.ps().processes.first { $0.dyno == "run.1" }?.pid)
        let stopped = try Self.door(h, "ps:stop", ["myapp", "run.1"])
        #expect(stopped.status == 0 && stopped.stderr == "Stopping run.1 of myapp... done\n", "\(stopped.output)")
        #expect(waitUntil(seconds: 30) { !processGroupExists(run1) })
        #expect(waitUntil(seconds: 30) { (try? h.ps())?.processes.map(\.dyno).sorted() == ["run.2", "web.1"] })
        #expect(h.log().contains("slugrunner[run.1]: Stop asked for by operator"))
        let unknown = try Self.door(h, "ps:stop", ["myapp", "run.9"])
        #expect(
            unknown.status == 1
                && unknown.stderr == "slipway: myapp has no one-off dyno run.9 running: ps myapp lists them\n",
            "\(unknown.output)")
        let notOneOff = try Self.door(h, "ps:stop", ["myapp", "web.1"])
        #expect(notOneOff.status == 1 && notOneOff.stderr.contains("'web.1' is not a one-off dyno"))
        // With one stopped, there is room for another.
        #expect(try Self.door(h, "run", ["myapp", "--detach", "--", "sleep 1000"]).status == 0)
        #expect(h.stopWatch(watcher) == 0)

        // A one-off dyno past its lifetime is stopped.
        watcher = try h.startWatch(["--one-off-lifetime", "2"])
        defer { _ = h.stopWatch(watcher) }
        #expect(h.waitForRelease(1) != nil, "\(h.watchOutput)")
        let long = try Self.door(h, "run", ["myapp", "--detach", "--", "sleep 1000"])
        #expect(long.status == 0, "\(long.output)")
        #expect(
            waitUntil(seconds: 60) {
                h.log().contains(
                    "slugrunner[run.1]: One-off dynos run at most 2s (slugrunner watch --one-off-lifetime): stopping it"
                )
            }, "\(h.log())")
        #expect(waitUntil(seconds: 30) { (try? h.ps())?.processes.map(\.dyno) == ["web.1"] })
    }

    @Test func scalingPastTheAppsCeilingIsRefusedAtTheDoorAndByTheRunner() throws {
        let h = try RunnerHarness("ceiling")
        try Self.createApps(h, ["myapp"])
        try h.publish(try h.buildSlug(procfile: "web: ./web.sh\nworker: exec sleep 1000\n"), version: 1)
        let watcher = try h.startWatch(["--max-dynos-per-app", "3"])
        defer { _ = h.stopWatch(watcher) }
        #expect(h.waitForRelease(1) != nil, "\(h.watchOutput)")
        #expect(try h.ps().limits == .init(maxDynos: 3, maxDetachedRuns: 5))

        // The door knows the runner's ceiling.
        let refused = try Self.door(h, "ps:scale", ["myapp", "web=2", "worker=2"])
        #expect(
            refused.status == 1
                && refused.stderr
                    == "slipway: myapp may run at most 3 dynos on this server, and that makes 4: scale other process "
                    + "types down first, or ask the operator for more\n",
            "\(refused.output)")
        #expect(try DynoSettings.load(from: RootLayout(h.root).dynoSettings("myapp")).quantities == ["web": 1])

        // Past the door (slugrunner scale writes dynos.json itself), the runner keeps what it has and says so.
        #expect(try h.slugrunner(["scale", "myapp", "web=2", "worker=2"]).status == 0)
        #expect(
            waitUntil(seconds: 30) {
                h.log().contains(
                    "slugrunner[scale]: Error: scaling refused: web=2 worker=2 makes 4 dynos; an app may run at most 3 "
                        + "here (slugrunner watch --max-dynos-per-app); keeping web=1")
            }, "\(h.log())")
        let listed = try Self.door(h, "ps", ["myapp"])
        #expect(listed.stdout.contains(" !     The runner keeps the formation it has: web=2 worker=2 makes 4"))
        #expect(try h.ps().processes.map(\.dyno) == ["web.1"])
        #expect(try h.slugrunner(["ps", "myapp"]).stdout.contains(" !     The runner keeps the formation it has: "))

        let allowed = try Self.door(h, "ps:scale", ["myapp", "web=2", "worker=1"])
        #expect(allowed.status == 0, "\(allowed.output)")
        #expect(
            waitUntil(seconds: 60) {
                (try? h.ps())?.processes.filter { $0.state == "up" }.map(\.dyno).sorted()
                    == ["web.1", "web.2", "worker.1"]
            }, "\(h.watchOutput)")
        #expect(try h.ps().formationRefused == nil)
    }
}
