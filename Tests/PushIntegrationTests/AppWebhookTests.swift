import Foundation
import SlipwayAppWebhooks
import SlipwayTestSupport
import Testing

/// App webhooks through the real door (OpenSSH's sshd, `receive-pack shell`, the hooks) and a real receiver: signed
/// build and release events for a good and a failed push, in order; retries of a receiver that answers 500; a push
/// that neither waits for nor fails with a receiver that hangs or is down.
@Suite(.serialized) struct AppWebhookTests {
    static let secret = "test-secret-42"

    func harness(_ environment: [String: String] = [:]) throws -> PushHarness {
        let h = try PushHarness(
            "app-webhooks",
            sessionEnvironment: [
                "SLIPWAY_WEBHOOK_RETRY_SECONDS": "0.2", "SLIPWAY_WEBHOOK_ATTEMPTS": "4",
                // The receivers run on this machine's loopback.
                "SLIPWAY_WEBHOOK_ALLOW_PRIVATE": "1",
            ].merging(
                environment
            ) { $1 })
        let created = try h.receivePack(["apps", "create", "myapp", "--owner", "alice"])
        guard created.status == 0 else { throw HarnessError("apps create failed: \(created.output)") }
        return h
    }

    func summary(_ request: WebhookReceiverHarness.Request) -> String {
        guard let payload = request.payload else { return "?" }
        if let build = payload.build { return "build \(payload.action) \(build.status.rawValue)" }
        if let release = payload.release { return "release v\(release.version) \(release.description)" }
        return "?"
    }

    @Test func aReceiverGetsSignedBuildAndReleaseEventsInOrder() throws {
        let h = try harness()
        let receiver = try WebhookReceiverHarness(in: h.scratch)
        let added = try h.ssh("webhooks:add myapp \(receiver.url) --include release,build --secret \(Self.secret)")
        #expect(added.status == 0 && added.output.contains("Adding webhook"), "\(added.output)")
        #expect(!added.output.contains(Self.secret))
        let listed = try h.ssh("webhooks myapp", merge: false)
        #expect(listed.stdout.contains("\(receiver.url)  api:build,api:release"), "\(listed.output)")

        let repo = try h.deployedApp()
        let commit = try git(["rev-parse", "--short=7", "HEAD"], in: repo).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let failing = try h.buildpack("failing", compile: "echo 'no Gemfile.lock here'; exit 1")
        try h.commit(repo, ".buildpacks", "\(failing)\n")
        let failed = try h.push(repo)
        #expect(failed.status != 0, "\(failed.output)")
        #expect(try h.ssh("config:set myapp GREETING=hi").status == 0)

        #expect(waitUntil { receiver.requests.count >= 6 }, "\(receiver.requests.map(summary))")
        let requests = receiver.requests
        #expect(
            requests.map(summary) == [
                "build create pending", "build update succeeded", "release v1 Deploy \(commit)",
                "build create pending", "build update failed", "release v2 Set GREETING config vars",
            ])
        for request in requests {
            let signature = try #require(request.header("Slipway-Webhook-Hmac-SHA256"))
            #expect(WebhookSignature.isValid(signature, body: request.body, secret: Self.secret))
            #expect(request.header("Slipway-Webhook-Id") == request.payload?.webhookMetadata.delivery.id)
            #expect(request.payload?.actor.name == "alice")
        }
        let builds = requests.compactMap(\.payload?.build)
        #expect(builds[0].id == builds[1].id && builds[2].id == builds[3].id && builds[0].id != builds[2].id)
        #expect(builds[1].sourceBlob.version.hasPrefix(commit))
        #expect(builds[3].failureReason?.isEmpty == false, "\(builds[3])")
        #expect(builds[1].failureReason == nil)
        #expect(requests[2].payload?.release?.user.name == "alice")

        // Once the deliverer is done (it records each answer after the receiver got the request): all delivered.
        #expect(h.webhookDeliveriesSettle())
        let deliveries = try h.ssh("webhooks:deliveries myapp", merge: false)
        #expect(deliveries.stdout.components(separatedBy: "delivered (204)").count == 7, "\(deliveries.stdout)")
        // Nobody else sees or changes the app's webhooks.
        try h.addUser("mallory")
        #expect(try h.ssh("webhooks myapp", as: "mallory").output == "slipway: mallory has no access to myapp\n")
        #expect(try h.ssh("webhooks:remove myapp \(receiver.url)", as: "mallory").status == 1)
        #expect(try h.ssh("webhooks:remove myapp \(receiver.url)").status == 0)
        #expect(try h.ssh("webhooks myapp", merge: false).stdout.contains("has no webhooks"))
    }

    @Test func aReceiverThatAnswers500GetsRetriesAndTheDeliveriesShowThem() throws {
        let h = try harness()
        let receiver = try WebhookReceiverHarness(in: h.scratch)
        try receiver.answer(500)
        let added = try h.ssh("webhooks:add myapp \(receiver.url) --include release", merge: false)
        #expect(added.status == 0, "\(added.output)")
        let secret = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.count == 64, "the generated secret is shown once: \(added.output)")
        _ = try h.deployedApp()

        // SLIPWAY_WEBHOOK_ATTEMPTS=4: four tries of the same delivery, then it is given up.
        #expect(waitUntil { receiver.requests.count >= 4 })
        #expect(h.webhookDeliveriesSettle())
        let tries = receiver.requests
        #expect(tries.count == 4)
        #expect(Set(tries.compactMap { $0.header("Slipway-Webhook-Id") }).count == 1)
        #expect(
            tries.allSatisfy {
                WebhookSignature.isValid($0.header("Slipway-Webhook-Hmac-SHA256") ?? "", body: $0.body, secret: secret)
            })
        let failed = try h.ssh("webhooks:deliveries myapp", merge: false).stdout
        #expect(failed.contains("api:release create") && failed.contains("4 attempts"), "\(failed)")
        #expect(failed.contains("failed (500)"), "\(failed)")

        // Once the receiver is fixed, the next event goes through.
        try receiver.answer(200)
        #expect(try h.ssh("config:set myapp A=2").status == 0)
        #expect(waitUntil { receiver.requests.count >= 5 })
        #expect(h.webhookDeliveriesSettle())
        #expect(tries.first?.payload?.release?.version == 1)
        #expect(receiver.requests.last?.payload?.release?.description == "Set A config vars")
        #expect(try h.ssh("webhooks:deliveries myapp", merge: false).stdout.contains("delivered (200)"))
    }

    @Test func aPushNeitherWaitsForNorFailsWithAReceiverThatHangsOrIsDown() throws {
        let h = try harness(["SLIPWAY_WEBHOOK_TIMEOUT_SECONDS": "60"])
        let receiver = try WebhookReceiverHarness(in: h.scratch)
        receiver.hold()
        #expect(try h.ssh("webhooks:add myapp \(receiver.url)").status == 0)
        let down = try freeLoopbackPort()
        #expect(try h.ssh("webhooks:add myapp http://127.0.0.1:\(down)/nobody-here --include release").status == 0)

        // The first push's events reach the receiver, which holds the first one unanswered: the push is over
        // meanwhile, and a second push goes through while the deliverer still waits on the receiver.
        let repo = try h.deployedApp()
        #expect(waitUntil { receiver.isHolding })
        try h.commit(repo, "README", "second\n")
        let second = try h.push(repo)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("Released v2"), "\(second.output)")
        #expect(receiver.isHolding && receiver.requests.count == 1)
        let waiting = try h.ssh("webhooks:deliveries myapp", merge: false).stdout
        #expect(waiting.contains("pending"), "\(waiting)")

        // Let the receiver answer: every event arrives, in order.
        receiver.release()
        #expect(waitUntil { receiver.requests.count >= 6 })
        #expect(h.webhookDeliveriesSettle())
        #expect(receiver.requests.compactMap(\.payload?.release?.version) == [1, 2])
        let outcome = try h.ssh("webhooks:deliveries myapp", merge: false).stdout
        #expect(outcome.contains("connection refused"), "\(outcome)")
    }
}
