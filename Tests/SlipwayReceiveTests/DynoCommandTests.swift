import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

/// `ps*`, `domains*`, `apps:set healthcheck=` and `run`'s refusals, run in-process against a scratch root: what they
/// write to `dynos.json` and what they print.
@Suite struct DynoCommandTests {
    let scratch: ScratchDirectory
    let root: SlipwayRoot

    init() throws {
        scratch = try ScratchDirectory("dynos")
        root = SlipwayRoot(scratch.url("root"))
        try AppRegistry(root: root).create("myapp", owner: "alice")
        try AppRegistry(root: root).create("other", owner: "bob")
    }

    func run(_ words: [String], as actor: Actor = .user("alice")) -> (status: Int32, out: String, err: String) {
        runCommand(words, root: root, as: actor)
    }

    func settings(_ app: String = "myapp") throws -> DynoSettings {
        try DynoSettings.load(from: root.layout.dynoSettings(app))
    }

    @Test func scaleResizeAndRestartWriteDynosJSON() throws {
        let scaled = run(["ps:scale", "myapp", "web=3", "worker=1"])
        #expect(scaled.status == 0, "\(scaled.err)")
        #expect(scaled.err == "Scaling myapp: web=3 worker=1 (the runner applies it within seconds)\n")
        #expect(
            scaled.out
                == "=== myapp formation\nTYPE    QTY  MEMORY  DISK\nweb     3    512 MB  2048 MB\nworker  1    512 MB  2048 MB\n"
        )
        #expect(try settings().quantities == ["web": 3, "worker": 1])

        let resized = run(["ps:resize", "myapp", "web=1024"])
        #expect(resized.err == "Resizing myapp: web=1024 MB (the runner restarts those dynos with it within seconds)\n")
        #expect(try settings().formation["web"] == .init(quantity: 3, memoryMB: 1024))
        #expect(run(["ps:scale", "myapp", "web=0"]).status == 0)
        #expect(try settings().formation["web"] == .init(quantity: 0, memoryMB: 1024), "scaling keeps the memory")
        #expect(run(["ps:scale", "myapp"]).out.contains("web     0    1024 MB  2048 MB\n"))

        let disked = run(["ps:disk", "myapp", "web=4096"])
        #expect(
            disked.err
                == "Giving myapp's dynos new disks: web=4096 MB (the runner restarts those dynos with them within seconds)\n"
        )
        #expect(try settings().formation["web"] == .init(quantity: 0, memoryMB: 1024, diskMB: 4096))
        #expect(run(["ps:resize", "myapp", "web=512"]).status == 0)
        #expect(
            try settings().formation["web"] == .init(quantity: 0, memoryMB: 512, diskMB: 4096),
            "resizing keeps the disk")

        #expect(
            run(["ps:restart", "myapp"]).err
                == "Restarting the web, worker dynos of myapp (the runner restarts them within seconds)\n")
        #expect(run(["ps:restart", "myapp", "worker"]).status == 0)
        #expect(try settings().restarts == ["web": 1, "worker": 2])
    }

    @Test func badValuesAreRefusedInOneLineAndChangeNothing() throws {
        #expect(run(["ps:scale", "myapp", "web=2"]).status == 0)
        let before = try settings()
        let cases: [([String], String)] = [
            (["ps:scale", "myapp", "web=101"], "slipway: 'web=101' is not a valid scale: use TYPE=QUANTITY"),
            (["ps:scale", "myapp", "web=1", "web=2"], "slipway: web is given twice"),
            (["ps:scale", "myapp", "release=1"], "slipway: the release process type runs once per deploy"),
            (["ps:resize", "myapp", "web=32"], "slipway: 'web=32' is not a valid size: use TYPE=MB"),
            (["ps:resize", "myapp", "web=1GB"], "slipway: 'web=1GB' is not a valid size"),
            (["ps:disk", "myapp", "web=10"], "slipway: 'web=10' is not a valid disk size: use TYPE=MB"),
            (["ps:disk", "myapp", "release=1024"], "slipway: the release process type runs once per deploy"),
            (["ps:restart", "myapp", "web.1"], "slipway: 'web.1' is not a process type"),
            (["domains:add", "myapp", "not a host"], "slipway: 'not a host' is not a host name"),
            (["domains:add", "myapp", "myapp.localhost"], "slipway: myapp.localhost is myapp's own address"),
            (["domains:add", "myapp", "other.localhost"], "slipway: names of the form <app>.localhost"),
            (["domains:remove", "myapp", "www.example.com"], "slipway: myapp has no domain www.example.com"),
            (["apps:set", "myapp", "healthcheck=up"], "slipway: 'up' is not a health check path"),
            (["run", "myapp", "--", " "], "slipway: say what to run"),
        ]
        for (words, expected) in cases {
            let result = run(words)
            #expect(result.status == 1, "\(words)")
            #expect(result.err.hasPrefix(expected), "\(words): \(result.err)")
            #expect(result.err.filter { $0 == "\n" }.count == 1, "one line: \(result.err)")
        }
        #expect(try settings() == before)
    }

    @Test func domainsAreListedAddedOnceAndNeverShared() throws {
        let added = run(["domains:add", "myapp", "WWW.Example.com"])
        #expect(added.status == 0)
        #expect(added.err == "Adding www.example.com to myapp... done (the runner routes it within seconds)\n")
        #expect(run(["domains:add", "myapp", "www.example.com"]).err.contains("already: no change"))
        #expect(run(["domains:add", "myapp", "*.example.org"]).status == 0)
        #expect(try settings().domains == ["www.example.com", "*.example.org"])
        #expect(
            run(["domains", "myapp"]).out
                == "=== myapp domains\nmyapp.localhost (default)\nwww.example.com\n*.example.org\n")

        let taken = run(["domains:add", "other", "www.example.com"], as: .user("bob"))
        #expect(taken.status == 1)
        #expect(
            taken.err
                == "slipway: www.example.com is a domain of another app, or overlaps one (a wildcard covering it, or "
                + "a name under it); a host name belongs to one app: choose another\n")
        // Nor is a name under myapp's wildcard, nor a wildcard over its name.
        for name in ["api.example.org", "*.example.com", "*.a.example.org."] {
            #expect(run(["domains:add", "other", name], as: .user("bob")).status == 1, "\(name)")
        }
        #expect(try settings("other").domains.isEmpty)

        #expect(
            run(["domains:remove", "myapp", "www.example.com"]).err == "Removing www.example.com from myapp... done\n")
        #expect(run(["domains:add", "other", "www.example.com"], as: .user("bob")).status == 0)
        #expect(try settings().domains == ["*.example.org"])
    }

    @Test func theRunnerReportsItsBaseDomain() throws {
        let state = RunnerState(
            app: "myapp", watcher: nil, watcherPid: 1, updatedAt: "", host: nil, release: nil, formation: [:],
            processes: [], lastDeploy: nil, baseDomain: "apps.example.net")
        try FileSystem.makeFolders(scratch.url("root/runner/apps/myapp"), mode: 0o755)
        try DurableFile.replace(root.layout.runnerState("myapp"), with: try JSONEncoder().encode(state))
        #expect(run(["domains", "myapp"]).out == "=== myapp domains\nmyapp.apps.example.net (default)\n")
        #expect(run(["domains:add", "myapp", "myapp.apps.example.net"]).status == 1)
        #expect(run(["domains:add", "other", "x.apps.example.net"], as: .user("bob")).status == 1, "another app's")
        #expect(run(["domains:add", "myapp", "myapp.localhost"]).status == 0, "not the base domain here")
    }

    @Test func healthcheckIsSetAndCleared() throws {
        let set = run(["apps:set", "myapp", "healthcheck=/up"])
        #expect(set.status == 0, "\(set.err)")
        #expect(set.err.hasPrefix("Set healthcheck of myapp to /up: "))
        #expect(try settings().healthcheck == "/up")
        #expect(run(["apps:set", "myapp", "healthcheck="]).err.hasPrefix("Reset healthcheck of myapp"))
        #expect(try settings().healthcheck == nil)
    }

    @Test func usersWithoutAccessChangeNothing() throws {
        for words in [
            ["ps", "myapp"], ["ps:scale", "myapp", "web=2"], ["ps:resize", "myapp", "web=128"],
            ["ps:disk", "myapp", "web=128"], ["ps:restart", "myapp"],
            ["domains:add", "myapp", "a.example.com"], ["apps:set", "myapp", "healthcheck=/x"], ["run", "myapp", "ls"],
        ] {
            let refused = run(words, as: .user("bob"))
            #expect(refused.status == 1 && refused.err == "slipway: bob has no access to myapp\n", "\(words)")
        }
        #expect(!FileManager.default.fileExists(atPath: root.layout.dynoSettings("myapp")))
    }

    @Test func psSaysWhenNoRunnerReportedAndListsWhatRuns() throws {
        #expect(run(["ps:scale", "myapp", "web=2"]).status == 0)
        let none = run(["ps", "myapp"])
        #expect(none.status == 0)
        #expect(
            none.out.hasPrefix(
                "No runner has reported dynos of myapp yet: slugrunner watch does once it runs a release.\n=== myapp formation\n"
            ))

        let now = Date()
        let started = RunnerState.isoTime(now.addingTimeInterval(-300))
        func process(_ dyno: String, _ state: String, memory: Int?) -> RunnerState.Process {
            RunnerState.Process(
                dyno: dyno, type: String(dyno.split(separator: ".")[0]), state: state, port: 5000, pid: 42,
                release: 3, startedAt: started, uptime: nil, restarts: dyno == "web.2" ? 1 : 0, crashLoop: false,
                command: dyno.hasPrefix("run") ? "bash" : "gunicorn app:app", startTicks: nil, memoryBytes: memory)
        }
        let state = RunnerState(
            app: "myapp", watcher: nil, watcherPid: 1, updatedAt: "", host: "127.0.0.1",
            release: .init(version: 3, entry: "e", description: nil, createdAt: "c"), formation: ["web": 2],
            processes: [
                process("web.2", "crashed", memory: nil), process("web.1", "up", memory: 91_750_400),
                process("run.1", "up", memory: nil),
            ],
            lastDeploy: nil)
        try FileSystem.makeFolders(scratch.url("root/runner/apps/myapp"), mode: 0o755)
        try DurableFile.replace(root.layout.runnerState("myapp"), with: try JSONEncoder().encode(state))
        #expect(run(["ps", "myapp"]).out.hasPrefix("slugrunner watch is not running on this server"))

        // A watcher holds its lock.
        try FileSystem.makeFolders(scratch.url("root/runner"), mode: 0o755)
        let watcher = try HeldLock(root.layout.watchLock)
        let shown = withExtendedLifetime(watcher) { run(["ps", "myapp"]) }
        let time = formatClockTime(try #require(RunnerState.parseTime(started)))
        #expect(
            shown.out == """
                === web (512 MB): gunicorn app:app (2)
                web.1: up \(time) (~ 5m ago), memory 88 MB
                web.2: crashed \(time) (~ 5m ago), 1 restart

                === run: one-off processes (1)
                run.1: up \(time) (~ 5m ago): bash

                """, "\(shown.out)")
    }

    @Test func runWithoutARunnerSaysSo() {
        let result = run(["run", "myapp", "--", "echo", "hi"])
        #expect(result.status == 1)
        #expect(result.err == "slipway: no runner is running on this server: start slugrunner watch\n")
    }
}
