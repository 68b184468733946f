import Foundation
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `ps*`, `domains*`, `apps:set healthcheck=` and `run` through the real door: OpenSSH's sshd running
/// `receive-pack shell` as the forced command, and `receive-pack <command>` locally. `run` talks to the real
/// ``ControlSocket`` of the runner (``OneOffTestRunner`` runs each request with `/bin/sh -c` on the passed fds).
@Suite(.serialized) struct DynoDoorTests {
    func harness() throws -> PushHarness {
        let h = try PushHarness("dynos", users: ["alice", "bob"])
        for (app, owner) in [("myapp", "alice"), ("other", "bob")] {
            let created = try h.receivePack(["apps", "create", app, "--owner", owner])
            guard created.status == 0 else { throw HarnessError("apps create failed: \(created.output)") }
        }
        return h
    }

    func settings(_ h: PushHarness, _ app: String = "myapp") throws -> DynoSettings {
        try DynoSettings.load(from: "\(h.root)/apps/\(app)/dynos.json")
    }

    @Test func dynoCommandsOverSSHRecordWhatIsWanted() throws {
        let h = try harness()
        let scaled = try h.ssh("ps:scale myapp web=3 worker=1", merge: false)
        #expect(scaled.status == 0, "\(scaled.output)")
        #expect(scaled.stderr == "Scaling myapp: web=3 worker=1 (the runner applies it within seconds)\n")
        #expect(
            scaled.stdout
                == "=== myapp formation\nTYPE    QTY  MEMORY  DISK\nweb     3    512 MB  2048 MB\nworker  1    512 MB  2048 MB\n"
        )
        #expect(try h.ssh("ps:resize myapp worker=1024").status == 0)
        #expect(try h.ssh("ps:restart myapp web").status == 0)
        #expect(try h.ssh("domains:add myapp www.example.com").status == 0)
        #expect(try h.ssh("apps:set myapp healthcheck=/up").status == 0)
        let wanted = try settings(h)
        #expect(wanted.formation == ["web": .init(quantity: 3), "worker": .init(quantity: 1, memoryMB: 1024)])
        #expect(wanted.restarts == ["web": 1] && wanted.domains == ["www.example.com"] && wanted.healthcheck == "/up")
        let domains = try h.ssh("domains myapp", merge: false)
        #expect(domains.stdout == "=== myapp domains\nmyapp.localhost (default)\nwww.example.com\n")

        // Another user: no access to myapp, and myapp's domain is not theirs to take.
        let denied = try h.ssh("ps:scale myapp web=0", as: "bob")
        #expect(denied.status == 1 && denied.output == "slipway: bob has no access to myapp\n", "\(denied.output)")
        let taken = try h.ssh("domains:add other WWW.EXAMPLE.COM", as: "bob")
        #expect(taken.status == 1 && taken.output.contains("is a domain of another app"), "\(taken.output)")
        #expect(try settings(h) == wanted)
        #expect(try settings(h, "other") == DynoSettings())

        #expect(try h.ssh("domains:remove myapp www.example.com").status == 0)
        #expect(try h.ssh("apps:set myapp healthcheck=").status == 0)
        #expect(try settings(h).domains.isEmpty && settings(h).healthcheck == nil)
    }

    @Test func psShowsWhatTheRunnerReports() throws {
        let h = try harness()
        let none = try h.ssh("ps myapp", merge: false)
        #expect(
            none.status == 0 && none.stdout.hasPrefix("No runner has reported dynos of myapp yet"), "\(none.output)")

        let started = RunnerState.isoTime(Date().addingTimeInterval(-120))
        let state = RunnerState(
            app: "myapp", watcher: nil, watcherPid: 1, updatedAt: started, host: "127.0.0.1",
            release: .init(version: 2, entry: "e", description: nil, createdAt: started), formation: ["web": 1],
            processes: [
                .init(
                    dyno: "web.1", type: "web", state: "up", port: 5001, pid: 7, release: 2, startedAt: started,
                    uptime: nil, restarts: 0, crashLoop: false, command: "python app.py", startTicks: nil,
                    memoryBytes: 50 * 1_048_576)
            ], lastDeploy: nil)
        try FileSystem.makeFolders("\(h.root)/runner/apps/myapp", mode: 0o755)
        try DurableFile.replace("\(h.root)/runner/apps/myapp/state.json", with: try JSONEncoder().encode(state))
        let watcher = try HeldLock("\(h.root)/runner/watch.lock")
        let shown = try withExtendedLifetime(watcher) { try h.ssh("ps myapp", merge: false) }
        #expect(shown.status == 0)
        #expect(shown.stdout.hasPrefix("=== web (512 MB): python app.py (1)\nweb.1: up "), "\(shown.output)")
        #expect(shown.stdout.hasSuffix(" +0000 (~ 2m ago), memory 50 MB\n"), "\(shown.output)")
    }

    @Test func theRunnersDynoCeilingAndPsStopOverSSH() throws {
        let h = try harness()
        // The runner reports its limits in state.json; the door refuses a formation past them and writes nothing.
        let now = RunnerState.isoTime(Date())
        let state = RunnerState(
            app: "myapp", watcher: nil, watcherPid: 1, updatedAt: now, host: "127.0.0.1", release: nil,
            formation: ["web": 1], processes: [], lastDeploy: nil, limits: .init(maxDynos: 4, maxDetachedRuns: 5),
            formationRefused: "web=9 makes 9 dynos; an app may run at most 4 here")
        try FileSystem.makeFolders("\(h.root)/runner/apps/myapp", mode: 0o755)
        try DurableFile.replace("\(h.root)/runner/apps/myapp/state.json", with: try JSONEncoder().encode(state))
        let refused = try h.ssh("ps:scale myapp web=3 worker=2")
        #expect(refused.status == 1, "\(refused.output)")
        #expect(
            refused.output
                == "slipway: myapp may run at most 4 dynos on this server, and that makes 5: scale other process "
                + "types down first, or ask the operator for more\n")
        #expect(try settings(h) == DynoSettings())
        #expect(try h.ssh("ps:scale myapp web=2 worker=2").status == 0)
        let watcher = try HeldLock("\(h.root)/runner/watch.lock")
        let shown = try withExtendedLifetime(watcher) { try h.ssh("ps myapp", merge: false) }
        #expect(shown.stdout.contains(" !     The runner keeps the formation it has: web=9 makes 9 dynos"))

        let notOneOff = try h.ssh("ps:stop myapp web.1")
        #expect(notOneOff.status == 1 && notOneOff.output.hasPrefix("slipway: 'web.1' is not a one-off dyno"))
        let noRunner = try h.ssh("ps:stop myapp run.1")
        #expect(noRunner.output == "slipway: no runner is running on this server: start slugrunner watch\n")
        #expect(try h.ssh("ps:stop myapp run.1", as: "bob").output == "slipway: bob has no access to myapp\n")
    }

    @Test func runOverSSHIsAttachedAndEndsWithTheDynosStatus() throws {
        let h = try harness()
        let absent = try h.ssh("run myapp -- true")
        #expect(absent.status == 1)
        #expect(absent.output == "slipway: no runner is running on this server: start slugrunner watch\n")

        let runner = try OneOffTestRunner(root: h.root)
        defer { runner.stop() }
        let result = try h.ssh("run myapp -- 'echo out; echo err >&2; exit 3'", merge: false)
        #expect(result.status == 3, "\(result.output)")
        #expect(result.stdout == "out\n")
        #expect(result.stderr.contains("err\n"))
        #expect(result.stderr.contains("Running `echo out; echo err >&2; exit 3` on myapp... up, run.1\n"))
        #expect(
            runner.records.first?.request
                == OneOffRequest(app: "myapp", command: "echo out; echo err >&2; exit 3", user: "alice"))

        // stdin reaches the dyno, and the words after the app make its command, shell syntax included.
        let piped = try runTool(
            sshArguments(key: h.key("alice"), port: h.sshd.port) + ["root@127.0.0.1", "run myapp tr a-z A-Z | rev"],
            stdin: "hello\n", timeout: 60)
        #expect(piped.status == 0 && piped.stdout == "OLLEH\n", "\(piped.output)")

        let detached = try h.ssh("run myapp --detach -- sleep 1", merge: false)
        #expect(detached.status == 0 && detached.stdout.isEmpty, "\(detached.output)")
        #expect(detached.stderr.contains("... up, run.3\nIts output goes to the app's log"))

        // The client goes away: the door exits, and the runner stops the dyno.
        let session = try h.startSSH("run myapp -- sleep 300")
        #expect(waitUntil(seconds: 30) { runner.records.count == 4 })
        session.send(SIGKILL)
        _ = session.wait(timeout: 30)
        #expect(waitUntil(seconds: 30) { runner.records.last?.killedForClosedDoor == true })
        #expect(try h.ssh("run myapp -- true", as: "bob").output == "slipway: bob has no access to myapp\n")
    }

    @Test func runLocallyPassesTheTerminalsStreams() throws {
        let h = try harness()
        let runner = try OneOffTestRunner(root: h.root)
        defer { runner.stop() }
        let result = try runTool(
            [TestPaths.product("receive-pack"), "run", "--root", h.root, "myapp", "--", "cat; exit 4"], stdin: "typed\n"
        )
        #expect(result.status == 4, "\(result.output)")
        #expect(result.stdout == "typed\n")
        #expect(runner.records.first?.request.user == "operator")
    }
}
