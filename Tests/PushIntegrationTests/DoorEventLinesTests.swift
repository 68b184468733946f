import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// The door's build and release lines (`slugrunner[api]`, Heroku's `app[api]`) in the app's log and at its drain (a
/// real rsyslogd), in order with the runner's own: a good push and a failed one, through the real door and
/// `slugrunner watch` on its root.
@Suite(.serialized) struct DoorEventLinesTests {
    /// The door's lines and the runner's deploy lines, in order.
    static func story(_ entries: [LogEntry]) -> [String] {
        entries.filter { $0.source == "slugrunner" && ($0.component == "api" || $0.component == "deploy") }.map {
            $0.component == "api" ? $0.text : "\($0.component): \($0.text.prefix(11))"
        }
    }

    @Test func aGoodAndAFailedPushShowTheDoorsLinesInTheAppLogAndAtTheDrainInOrder() throws {
        let h = try PushHarness("door-events")
        let created = try h.receivePack(["apps", "create", "myapp", "--owner", "alice"])
        try #require(created.status == 0, "\(created.output)")
        let rsyslog = try PrivateRsyslog(folder: try h.scratch.makeDirectory("syslog"), certificates: nil)
        defer { rsyslog.stop() }
        let added = try h.ssh("drains:add myapp syslog://127.0.0.1:\(rsyslog.port)")
        #expect(added.status == 0, "\(added.output)")
        let watchLog = h.scratch.url("watch.log")
        let watcher = try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", h.root, "--grace", "5", "--interval", "0.2",
                "--router", "none",
            ], stdout: .file(watchLog), stderr: .file(watchLog))
        defer { watcher.terminate(grace: 30) }
        let appLog = { PushToRunnerTests.read("\(h.root)/logs/myapp.log") }

        let repo = try h.deployedApp(["Procfile": "web: exec python3 -u -m http.server $PORT --bind 0.0.0.0\n"])
        let commit = try git(["rev-parse", "--short=7", "HEAD"], in: repo).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(waitUntil(seconds: 60) { appLog().contains("Deployed v1") }, "\(PushToRunnerTests.read(watchLog))")
        let failing = try h.buildpack("failing", compile: "echo 'no Gemfile.lock here'; exit 1")
        try h.commit(repo, ".buildpacks", "\(failing)\n")
        let failed = try h.push(repo)
        #expect(failed.status != 0, "\(failed.output)")
        #expect(waitUntil(seconds: 30) { appLog().contains("slugrunner[api]: Build failed") }, "\(appLog())")

        let log = LogEntry.entries(appLog())
        let story = Self.story(log)
        #expect(
            story.prefix(3) == [
                "Build started by user alice", "Build succeeded", "Release v1 created by user alice (Deploy \(commit))",
            ], "\(story)")
        #expect(story.suffix(2).first == "Build started by user alice", "\(story)")
        let last = try #require(story.last)
        #expect(last.hasPrefix("Build failed -- check your build output: builds:output myapp "), "\(story)")
        // The runner's lines about v1 come after the door's release line and before the next build's.
        let deploys = story.indices.filter { story[$0].hasPrefix("deploy: ") }
        #expect(!deploys.isEmpty && deploys.allSatisfy { $0 > 2 && $0 < story.count - 2 }, "\(story)")
        #expect(story.contains("deploy: Deployed v1"), "\(story)")
        // The failed build's id is one `builds:output` shows.
        let id = try #require(last.split(separator: " ").last.map(String.init))
        let output = try h.ssh("builds:output myapp \(id)", merge: false)
        #expect(output.status == 0 && output.stdout.contains("no Gemfile.lock here"), "\(output.output)")

        // The drain got every line of the log, the door's among them, in the log's order.
        var received: [LogEntry] = []
        #expect(
            waitUntil(seconds: 60) {
                received = LogEntry.entries(rsyslog.messages())
                return received == LogEntry.entries(appLog())
            }, "the drain got \(received.count) lines: \(Self.story(received))\nthe log: \(story)")
        #expect(rsyslog.messages().filter { $0.appName == "slugrunner" && $0.procID == "api" }.count == 5)
    }
}
