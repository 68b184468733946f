import Foundation
import SlipwaySpool
import Testing

@testable import SlipwayLogs
@testable import SlugRunner

@Suite struct ProcessLaunchTests {
    @Test func theEnvironmentIsTheConfigWithHomePortAndDynoOnTop() {
        let launch = ProcessLaunch(
            home: "/srv/myapp/v7/app", command: "gunicorn app:app --bind 0.0.0.0:$PORT",
            configVars: [
                "GREETING": "hi", "PORT": "1", "HOME": "/root", "DYNO": "x", "": "empty", "A=B": "c",
                "NUL": "a\0b",
            ],
            port: 5123, dyno: "web.1")
        #expect(
            launch.environment == [
                "GREETING": "hi", "HOME": "/srv/myapp/v7/app", "PORT": "5123", "DYNO": "web.1",
                "PATH": "/usr/local/bin:/usr/bin:/bin",
            ])
        #expect(launch.skippedVariables == ["", "A=B", "NUL"])
        #expect(launch.directory == "/srv/myapp/v7/app")
        #expect(
            ProcessLaunch(home: "/h", command: "x", configVars: ["PATH": "/opt/bin"], port: 1, dyno: "web.1")
                .environment["PATH"] == "/opt/bin")
    }

    @Test func theCommandIsAnArgumentNeverPartOfTheScript() {
        let command = "echo \"$1\"; rm -rf / # not pasted anywhere"
        let launch = ProcessLaunch(home: "/h", command: command, configVars: [:], port: 1, dyno: "run.1")
        #expect(launch.arguments == ["/bin/bash", "-c", ProcessLaunch.profileScript, "slugrunner", command])
        #expect(!ProcessLaunch.profileScript.contains("rm -rf"))
        #expect(ProcessLaunch.profileScript.contains(#"for f in .profile.d/*.sh; do [ -e "$f" ] && . "$f"; done"#))
    }

    @Test func linesAreCutAtNewlinesAndAtTheLengthLimit() {
        var lines = OutputLines(maxLineLength: 4)
        let first = Array("ab\r\ncdefgh\nij".utf8).withUnsafeBytes { lines.append($0) }
        #expect(first == ["ab", "cdef", "gh"])
        #expect(lines.finish() == "ij")
        #expect(lines.finish() == nil)
        let invalid = [UInt8(0xff), 0x0a].withUnsafeBytes { lines.append($0) }
        #expect(invalid == ["\u{fffd}"])
    }

    @Test func statusJSONWritesPortAsANumberWithHerokusSpacing() throws {
        let status = AppStatus(
            app: "myapp", watcher: true, watcherPid: 42, updatedAt: "2026-01-02T03:04:05Z", host: "127.0.0.1",
            release: .init(version: 3, entry: "1.myapp.v3", description: "Deploy \"x\": {y}", createdAt: "c"),
            formation: ["web": 1, "myWorker": 0],
            processes: [
                .init(
                    dyno: "web.1", type: "web", state: "up", port: 5123, pid: 99, release: 3, startedAt: "s", uptime: 7,
                    restarts: 0, crashLoop: false, command: "a:b [c]", startTicks: 1)
            ],
            lastDeploy: nil)
        let json = try status.json()
        #expect(json.contains("\n      \"port\": 5123,\n"), "\(json)")
        #expect(json.contains("\"description\": \"Deploy \\\"x\\\": {y}\""))
        #expect(json.contains("\"myWorker\": 0"), "process type names are kept as they are")
        #expect(json.contains("\"processes\": [\n"))
        let decoded = try JSONDecoder().decode(AppStatus.self, from: Data(json.utf8))
        #expect(decoded == status)
        #expect(JSONLayout.indent("{\"a\":[],\"b\":{}}") == "{\n  \"a\": [],\n  \"b\": {}\n}\n")
    }

    /// A dyno on a swarm has no pid here: its age comes from its task's start, and it names its node.
    @Test func psTextShowsTheAgeAndNodeOfASwarmTask() throws {
        let started = try #require(AppStatus.parseTime("2026-01-02T03:04:05Z"))
        let task = AppStatus.Process(
            dyno: "web.2", type: "web", state: "up", port: 32768, pid: nil, release: 3,
            startedAt: "2026-01-02T03:04:05Z", uptime: nil, restarts: 0, crashLoop: false, command: "x",
            startTicks: nil, node: "node2")
        let processes = StatusReport.withUptimes([task], now: started.addingTimeInterval(300))
        #expect(processes.map(\.uptime) == [300])
        let status = AppStatus(
            app: "myapp", watcher: true, watcherPid: 42, updatedAt: "", host: "127.0.0.1",
            release: .init(version: 3, entry: "e", description: "Deploy 1a2b3c4", createdAt: "c"),
            formation: ["web": 1], processes: processes, lastDeploy: nil)
        #expect(
            StatusReport.text(status).contains("web.2: up 2026/01/02 03:04:05 +0000 (~ 5m ago) on node2, port 32768"))
    }

    @Test func psTextShowsStateUptimePortAndAFailedDeploy() {
        let status = AppStatus(
            app: "myapp", watcher: true, watcherPid: 42, updatedAt: "", host: "127.0.0.1",
            release: .init(version: 3, entry: "e", description: "Deploy 1a2b3c4", createdAt: "c"),
            formation: ["web": 1],
            processes: [
                .init(
                    dyno: "web.1", type: "web", state: "up", port: 5123, pid: 99, release: 3,
                    startedAt: "2026-01-02T03:04:05Z", uptime: 300, restarts: 2, crashLoop: false, command: "x",
                    startTicks: nil)
            ],
            lastDeploy: .init(
                version: 4, entry: "f", status: "failed", message: "web.1 exited", at: "2026-01-02T03:10:00Z"))
        #expect(
            StatusReport.text(status) == """
                === myapp v3: Deploy 1a2b3c4 (web=1)
                web.1: up 2026/01/02 03:04:05 +0000 (~ 5m ago), port 5123, http://127.0.0.1:5123/, pid 99, 2 restart(s)
                 !     v4 failed at 2026-01-02T03:10:00Z: web.1 exited

                """)
    }
}
