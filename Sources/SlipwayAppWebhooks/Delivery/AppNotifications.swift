public import Foundation
public import SlipwaySpool
import SlipwaySystem

/// Where the door reports events: each becomes one queued delivery per webhook of the app that includes it, then a
/// deliverer is started to send them. Never throws and never waits for a receiver: an event that cannot be queued
/// (no webhooks, a full disk) is dropped, and the push or command goes on.
public enum AppNotifications {
    /// Queues `event` for the app's webhooks; starts a deliverer unless `deferLaunch` (the hooks under the door, which
    /// waits for every process its hooks leave: it starts the deliverer itself once git is done). Returns how many
    /// deliveries were queued.
    @discardableResult
    public static func notify(
        _ event: AppEvent, layout: RootLayout,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> Int {
        let hooks = ((try? AppWebhooks(layout: layout, app: event.app).load()) ?? []).filter {
            $0.include.contains(event.entity)
        }
        guard !hooks.isEmpty else { return 0 }
        let queue = DeliveryQueue(layout: layout)
        let eventID = UUID().uuidString.lowercased()
        let now = isoTimestamp()
        var queued = 0
        for hook in hooks {
            let deliveryID = UUID().uuidString.lowercased()
            let payload = WebhookPayload(event, eventID: eventID, deliveryID: deliveryID, webhookID: hook.id, at: now)
            guard let body = try? payload.body() else { continue }
            let delivery = QueuedDelivery(
                id: deliveryID, app: event.app, webhookID: hook.id, event: event.entity.rawValue,
                action: event.action, body: String(decoding: body, as: UTF8.self), createdAt: now)
            if (try? queue.enqueue(delivery)) != nil { queued += 1 }
        }
        if queued > 0, environment["SLIPWAY_LOCK_HELD"] != "1" {
            DelivererLauncher.start(layout: layout, environment: environment)
        }
        return queued
    }

    /// Reports a build: `result` is `running` (it starts), `succeeded`, or anything else (it failed: `reason`).
    public static func build(
        _ layout: RootLayout, app: String, id: String, result: String, commit: String, user: String,
        startedAt: String, reason: String?
    ) {
        let status: BuildData.Status = result == "running" ? .pending : result == "succeeded" ? .succeeded : .failed
        let data = BuildData(
            id: id, app: app, status: status, commit: commit, user: user, createdAt: startedAt,
            updatedAt: status == .pending ? startedAt : isoTimestamp(),
            failureReason: status == .failed ? reason ?? "The build failed." : nil)
        notify(status == .pending ? .buildStarted(data) : .buildFinished(data), layout: layout)
    }

    /// Reports a release just recorded and handed to the runner.
    public static func release(
        _ layout: RootLayout, app: String, version: Int, description: String, user: String, sourceVersion: String?,
        createdAt: String
    ) {
        let data = ReleaseData(
            app: app, version: version, description: description, user: user, sourceVersion: sourceVersion,
            createdAt: createdAt)
        notify(.releaseCreated(data), layout: layout)
    }
}

/// Starts `receive-pack deliver-webhooks` detached: a session of its own, `/dev/null` for its streams (no pipe of
/// the push's is held open), nothing inherited, so the caller's session ends at once whatever the receivers do.
public enum DelivererLauncher {
    /// Starts a deliverer if something is queued and none is at work (it picks up what is queued after it started).
    public static func start(
        layout: RootLayout, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        guard !HeldLock.isHeld(layout.webhookDelivererLock), !DeliveryQueue(layout: layout).isEmpty else { return }
        let executable = environment["SLIPWAY_RECEIVE_PACK"] ?? ProcessInfo.currentExecutable
        var passed = ["PATH": environment["PATH"] ?? "/usr/bin:/bin", "LANG": "C.UTF-8"]
        for name in DeliveryPolicy.Variable.all + ["TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"] {
            if let value = environment[name] { passed[name] = value }
        }
        var spawn = Spawn(
            executable: executable, arguments: ["deliver-webhooks", "--root", layout.path], environment: passed,
            directory: "/")
        spawn.stdin = .null
        spawn.stdout = .null
        spawn.stderr = .null
        spawn.group = .newSession
        _ = try? spawn.start()
    }
}
