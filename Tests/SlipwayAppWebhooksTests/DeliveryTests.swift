import Foundation
import SlipwayAppWebhooks
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The queue and the deliverer, with a recording stand-in for the HTTP POST (the real one is in the push tests).
struct DeliveryTests {
    /// What the stand-in receiver got, and the statuses it answers with, in turn (then 204).
    final class Receiver: @unchecked Sendable {
        private let lock = NSLock()
        private var answers: [Result<Int, Failure>]
        private(set) var requests: [(url: String, headers: [String: String], body: Data)] = []

        struct Failure: Error, CustomStringConvertible { var description = "Connection refused (errno 111)" }

        init(answers: [Result<Int, Failure>] = []) { self.answers = answers }

        var post: WebhookDeliverer.Post {
            { url, headers, body, _ in
                try self.lock.withLock {
                    self.requests.append((url, Dictionary(headers, uniquingKeysWith: { $1 }), body))
                    return try (self.answers.isEmpty ? .success(204) : self.answers.removeFirst()).get()
                }
            }
        }

        var bodies: [WebhookPayload] {
            lock.withLock { requests.compactMap { try? JSONDecoder().decode(WebhookPayload.self, from: $0.body) } }
        }
    }

    /// A root of its own for each test (Swift Testing makes an instance per test), with the app `shop`.
    let scratch: ScratchDirectory
    let layout: RootLayout

    init() throws {
        scratch = try ScratchDirectory("deliveries")
        _ = try scratch.makeDirectory("apps/shop")
        layout = RootLayout(scratch.path)
    }

    func release(_ version: Int, user: String = "alice") -> AppEvent {
        .releaseCreated(
            ReleaseData(
                app: "shop", version: version, description: "Deploy abc\(version)", user: user, sourceVersion: nil,
                createdAt: "now"))
    }

    /// Events queued without a deliverer starting (as in the hooks under the door).
    let deferred = ["SLIPWAY_LOCK_HELD": "1"]

    @Test func eventsGoOnlyToWebhooksThatIncludeThemSignedAndInOrder() throws {
        let hooks = AppWebhooks(layout: layout, app: "shop")
        let hook = try hooks.add(url: "https://a.example/h", include: [.release], secret: "the-secret")
        let build = BuildData(
            id: "b1", app: "shop", status: .pending, commit: "c", user: "alice", createdAt: "t", updatedAt: "t")
        #expect(AppNotifications.notify(.buildStarted(build), layout: layout, environment: deferred) == 0)
        for version in 1...5 {
            #expect(AppNotifications.notify(release(version), layout: layout, environment: deferred) == 1)
        }
        #expect(DeliveryQueue(layout: layout).pending(app: "shop").count == 5)

        let receiver = Receiver()
        let outcome = WebhookDeliverer(layout: layout, policy: DeliveryPolicy(allowPrivate: true), post: receiver.post)
            .run()
        #expect(outcome == .drained)
        #expect(receiver.bodies.compactMap(\.release?.version) == [1, 2, 3, 4, 5])
        for request in receiver.requests {
            let signature = try #require(request.headers["Slipway-Webhook-Hmac-SHA256"])
            #expect(WebhookSignature.isValid(signature, body: request.body, secret: "the-secret"))
            #expect(request.headers["Heroku-Webhook-Hmac-SHA256"] == signature)
            #expect(request.headers["Slipway-Webhook-Event"] == "api:release")
            #expect(request.headers["Content-Type"] == "application/json")
            #expect(request.url == "https://a.example/h")
        }
        let ids = receiver.requests.compactMap { $0.headers["Slipway-Webhook-Id"] }
        #expect(Set(ids).count == 5)
        #expect(receiver.bodies.allSatisfy { $0.webhookMetadata.webhook.id == hook.id })
        #expect(DeliveryQueue(layout: layout).isEmpty)
        let records = DeliveryLog(layout: layout, app: "shop").records()
        #expect(records.map(\.status) == Array(repeating: .delivered, count: 5))
        #expect(records.map(\.id) == ids)
    }

    @Test func aFailedDeliveryIsRetriedBeforeTheNextOneAndRecorded() throws {
        _ = try AppWebhooks(layout: layout, app: "shop").add(
            url: "https://a.example/h", include: [.release], secret: nil)
        AppNotifications.notify(release(1), layout: layout, environment: deferred)
        AppNotifications.notify(release(2), layout: layout, environment: deferred)
        let receiver = Receiver(answers: [.success(500), .failure(.init()), .success(200)])
        let policy = DeliveryPolicy(attempts: 5, firstRetry: 0.05, timeout: 1, allowPrivate: true)
        #expect(WebhookDeliverer(layout: layout, policy: policy, post: receiver.post).run() == .drained)
        // v1 three times (500, refused, 200), then v2: never v2 before v1 is through.
        #expect(receiver.bodies.compactMap(\.release?.version) == [1, 1, 1, 2])
        #expect(Set(receiver.requests.prefix(3).compactMap { $0.headers["Slipway-Webhook-Id"] }).count == 1)
        let records = DeliveryLog(layout: layout, app: "shop").records()
        #expect(records.count == 2)
        #expect(records.first?.status == .delivered && records.first?.attempts == 3 && records.first?.code == 200)
        let listing = WebhookManagement.deliveries(layout, app: "shop").out
        #expect(listing.first == "=== shop webhook deliveries (newest first)")
        #expect(listing.contains { $0.contains("api:release create") && $0.contains("3 attempts") })
    }

    @Test func aDeliveryIsGivenUpAfterTheLastAttemptAndTheNextOneGoesOn() throws {
        _ = try AppWebhooks(layout: layout, app: "shop").add(
            url: "https://a.example/h", include: [.release], secret: nil)
        AppNotifications.notify(release(1), layout: layout, environment: deferred)
        AppNotifications.notify(release(2), layout: layout, environment: deferred)
        let receiver = Receiver(answers: [.success(500), .success(502), .failure(.init())])
        let policy = DeliveryPolicy(attempts: 3, firstRetry: 0.01, timeout: 1, allowPrivate: true)
        #expect(WebhookDeliverer(layout: layout, policy: policy, post: receiver.post).run() == .drained)
        #expect(receiver.bodies.compactMap(\.release?.version) == [1, 1, 1, 2])
        let records = DeliveryLog(layout: layout, app: "shop").records()
        #expect(records.first?.status == .failed && records.first?.attempts == 3)
        #expect(records.first?.error == "connection refused")
        #expect(records.last?.status == .delivered)
    }

    @Test func aRemovedWebhooksDeliveriesAreDropped() throws {
        let hook = try AppWebhooks(layout: layout, app: "shop").add(
            url: "https://a.example/h", include: [.release], secret: nil)
        AppNotifications.notify(release(1), layout: layout, environment: deferred)
        _ = try WebhookManagement.remove(layout, app: "shop", hook.id)
        #expect(DeliveryQueue(layout: layout).isEmpty)
        let receiver = Receiver()
        #expect(
            WebhookDeliverer(layout: layout, policy: DeliveryPolicy(allowPrivate: true), post: receiver.post).run()
                == .drained)
        #expect(receiver.requests.isEmpty)
    }

    @Test func aSecondDelivererLeavesWhileOneIsAtWork() throws {
        try FileManager.default.createDirectory(atPath: layout.run, withIntermediateDirectories: true)
        let fd = open(layout.webhookDelivererLock, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
        defer { close(fd) }
        #expect(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let receiver = Receiver()
        #expect(
            WebhookDeliverer(layout: layout, policy: DeliveryPolicy(allowPrivate: true), post: receiver.post).run()
                == .alreadyRunning)
    }

    @Test func aReceiverOnThisServerOrItsPrivateNetworkIsRefused() throws {
        for host in [
            "127.0.0.1", "localhost", "api.localhost", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254",
            "100.64.0.1", "0.0.0.0", "[::1]", "::", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "224.0.0.1",
        ] {
            #expect(ReceiverAddress.isPrivateLiteral(host), "\(host)")
        }
        for host in ["93.184.216.34", "example.com", "2606:4700::1111", "172.32.0.1", "100.128.0.1"] {
            #expect(!ReceiverAddress.isPrivateLiteral(host), "\(host)")
        }
        #expect(ReceiverAddress.privateAddresses(of: "127.0.0.1") == ["127.0.0.1"])

        let hooks = AppWebhooks(layout: layout, app: "shop")
        #expect(throws: WebhookError.self) {
            try hooks.add(url: "http://127.0.0.1:9/", include: [.release], secret: nil)
        }
        // Allowed by the operator at add time, then refused at delivery by a deliverer that does not allow it: the
        // delivery fails at once, nothing is sent.
        _ = try hooks.add(url: "http://127.0.0.1:9/", include: [.release], secret: nil, allowPrivate: true)
        AppNotifications.notify(release(1), layout: layout, environment: deferred)
        let receiver = Receiver()
        #expect(WebhookDeliverer(layout: layout, policy: DeliveryPolicy(), post: receiver.post).run() == .drained)
        #expect(receiver.requests.isEmpty)
        let record = try #require(DeliveryLog(layout: layout, app: "shop").records().first)
        #expect(record.status == .failed && record.attempts == 1)
        #expect(record.error == "refused: 127.0.0.1 is 127.0.0.1, a private address")
    }

    @Test func theRetryDelaysDoubleFromTheFirstAndTheOperatorSetsThem() {
        let policy = DeliveryPolicy()
        #expect((1...7).map { policy.delay(afterAttempt: $0) } == [30, 60, 120, 240, 480, 960, 1920])
        // 8 attempts span about an hour.
        #expect((1...7).map { policy.delay(afterAttempt: $0) }.reduce(0, +) == 3810)
        let set = DeliveryPolicy.from(environment: [
            "SLIPWAY_WEBHOOK_ATTEMPTS": "3", "SLIPWAY_WEBHOOK_RETRY_SECONDS": "0.5",
            "SLIPWAY_WEBHOOK_TIMEOUT_SECONDS": "2",
        ])
        #expect(set == DeliveryPolicy(attempts: 3, firstRetry: 0.5, timeout: 2))
        #expect(DeliveryPolicy.from(environment: ["SLIPWAY_WEBHOOK_ATTEMPTS": "0"]) == DeliveryPolicy())
    }
}
