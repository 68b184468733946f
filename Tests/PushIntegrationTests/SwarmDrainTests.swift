import Foundation
import SlipwayAppWebhooks
import SlipwayTestSupport
import Testing

/// Drains and app webhooks when the dynos run on a real two-node swarm (``PrivateSwarm``) and releases travel through
/// a bucket (SeaweedFS): one deploy, whose task output, runner lines and door lines (copied from the bucket) reach a
/// real rsyslogd drain, and whose signed build and release events reach a webhook receiver.
@Suite(.serialized) struct SwarmDrainTests {
    static let secret = "swarm-secret-42"

    @Test func aSwarmAppsTaskOutputAndPlatformLinesReachItsDrainAndItsWebhookGetsSignedEvents() throws {
        let scratch = try ScratchDirectory("swarm-drains")
        let swarm = try PrivateSwarm(directory: try scratch.makeDirectory("nodes"))
        defer { swarm.stop() }
        let b = try BucketHarness(
            "swarm-drains", weedAddress: swarm.hostAddress,
            sessionEnvironment: ["SLIPWAY_WEBHOOK_ALLOW_PRIVATE": "1", "SLIPWAY_WEBHOOK_RETRY_SECONDS": "0.2"])
        let h = b.push
        let created = try h.receivePack(["apps", "create", "myapp", "--owner", "alice"])
        try #require(created.status == 0, "\(created.output)")
        let rsyslog = try PrivateRsyslog(folder: try h.scratch.makeDirectory("syslog"), certificates: nil)
        defer { rsyslog.stop() }
        let receiver = try WebhookReceiverHarness(in: h.scratch)
        #expect(try h.ssh("drains:add myapp syslog://127.0.0.1:\(rsyslog.port)").status == 0)
        let hooked = try h.ssh("webhooks:add myapp \(receiver.url) --include release,build --secret \(Self.secret)")
        #expect(hooked.status == 0, "\(hooked.output)")
        let router = try freeLoopbackPort()
        let log = h.scratch.url("watch.log")
        let watcher = try b.startSwarmRunner(swarm, router: router, log: log)
        defer { watcher.terminate(grace: 30) }
        let appLog = { PushToRunnerTests.read("\(h.root)/logs/myapp.log") }
        let details = { "\(PushToRunnerTests.read(log))\n--- app log:\n\(appLog())" }

        let repo = try h.makeApp(files: [
            "Procfile": "web: echo \"task $DYNO says hello\"; BIND_ADDRESS=0.0.0.0 exec python3 server.py\n",
            "server.py": try String(
                contentsOfFile: "\(TestPaths.repositoryRoot)/scripts/lib/versioned-server.py", encoding: .utf8),
            "version.txt": "version-0\n",
        ])
        let pushed = try h.push(repo)
        #expect(pushed.status == 0, "\(pushed.output)")
        let commit = try git(["rev-parse", "--short=7", "HEAD"], in: repo).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        try #require(waitUntil(seconds: 180) { appLog().contains("Deployed v1") }, "\(details())")

        // The drain: the task's output, the runner's lines and the door's, as the log has them, in its order.
        let hello = LogEntry(source: "app", component: "web.1", text: "task web.1 says hello")
        #expect(
            waitUntil(seconds: 60) {
                let received = LogEntry.entries(rsyslog.messages())
                return received.contains(hello) && received.contains { $0.text.hasPrefix("Deployed v1") }
            }, "\(rsyslog.messages().suffix(20))\n\(details())")
        let received = LogEntry.entries(rsyslog.messages())
        let logged = LogEntry.entries(appLog())
        #expect(Array(logged.prefix(received.count)) == received, "the drain has the log's lines in its order")
        let story = DoorEventLinesTests.story(received)
        #expect(
            story.prefix(3) == [
                "Build started by user alice", "Build succeeded", "Release v1 created by user alice (Deploy \(commit))",
            ], "\(story)")
        #expect(story.dropFirst(3).allSatisfy { $0.hasPrefix("deploy: ") } && story.contains("deploy: Deployed v1"))

        // The webhook: the build's start and success and the release, signed, in order.
        #expect(waitUntil(seconds: 60) { receiver.requests.count >= 3 }, "\(receiver.requests.count) requests")
        let events = receiver.requests.compactMap(\.payload).map { payload -> String in
            if let build = payload.build { return "build \(payload.action) \(build.status.rawValue)" }
            return payload.release.map { "release v\($0.version) \($0.description)" } ?? "?"
        }
        #expect(
            events == ["build create pending", "build update succeeded", "release v1 Deploy \(commit)"], "\(events)")
        for request in receiver.requests {
            let signature = try #require(request.header("Slipway-Webhook-Hmac-SHA256"))
            #expect(WebhookSignature.isValid(signature, body: request.body, secret: Self.secret))
        }
    }
}
