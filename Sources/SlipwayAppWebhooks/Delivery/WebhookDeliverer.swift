public import Foundation
import NIOHTTP1
import SlipwayHTTP
public import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Sends the queued deliveries (`receive-pack deliver-webhooks`): one deliverer per root at a time (it holds
/// `run/webhooks.lock`; a second one finding it held leaves at once), each webhook's deliveries in order, a failed one
/// (no 2xx answer within the timeout) retried by its ``DeliveryPolicy`` before the next of the same webhook; it ends
/// when nothing is queued.
public struct WebhookDeliverer: Sendable {
    /// Sends one POST; returns the answer's status. Throws when no answer came (refused, timed out…).
    public typealias Post =
        @Sendable (_ url: String, _ headers: [(String, String)], _ body: Data, _ timeout: Double)
        throws -> Int

    public let layout: RootLayout
    public let policy: DeliveryPolicy
    let post: Post

    public init(layout: RootLayout, policy: DeliveryPolicy, post: @escaping Post = WebhookDeliverer.httpPost) {
        self.layout = layout
        self.policy = policy
        self.post = post
    }

    /// What a run did.
    public enum Outcome: Sendable, Equatable {
        /// Another deliverer holds the lock: it sends what is queued.
        case alreadyRunning
        /// The queue was emptied.
        case drained
    }

    /// Sends everything queued, waiting out retry delays; returns once the queue is empty (or another deliverer has
    /// taken over).
    public func run() -> Outcome {
        var outcome = Outcome.alreadyRunning
        while true {
            try? FileSystem.makeFolders(layout.run, mode: 0o755)
            let fd = open(layout.webhookDelivererLock, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0, FileLock.attempt(fd) else {
                if fd >= 0 { close(fd) }
                return outcome
            }
            outcome = .drained
            while let wait = sendDue() {
                if wait > 0 { usleep(useconds_t(min(wait, 1) * 1_000_000)) }
            }
            close(fd)
            // An event queued after the last look, whose own launch found the lock still held, is not left behind.
            if DeliveryQueue(layout: layout).isEmpty { return outcome }
        }
    }

    /// Tries each webhook's first delivery that is due; returns the seconds until the next one is due (0: go on at
    /// once), nil when nothing is queued.
    func sendDue() -> Double? {
        let queue = DeliveryQueue(layout: layout)
        let heads = queue.heads()
        guard !heads.isEmpty else { return nil }
        var wait = Double.infinity
        for var entry in heads {
            let now = Date().timeIntervalSince1970
            guard entry.delivery.notBefore <= now else {
                wait = min(wait, entry.delivery.notBefore - now)
                continue
            }
            let delivery = entry.delivery
            let hooks = (try? AppWebhooks(layout: layout, app: delivery.app).load()) ?? []
            guard let hook = hooks.first(where: { $0.id == delivery.webhookID }) else {
                queue.drop(app: delivery.app, webhook: delivery.webhookID)  // the webhook was removed
                wait = 0
                continue
            }
            var record = attempt(&entry.delivery, to: hook)
            let log = DeliveryLog(layout: layout, app: delivery.app)
            if record.status == .retrying, (try? queue.update(entry)) != nil {
                record.nextAttemptAt = isoTimestamp(Date(timeIntervalSince1970: entry.delivery.notBefore))
                log.note(record)
            } else {
                if record.status == .retrying { record.status = .failed }
                log.note(record)
                queue.remove(entry)
            }
            wait = 0
        }
        return wait
    }

    /// Sends `delivery` to `hook` once, counting the attempt; returns its record (delivered, retrying or failed).
    func attempt(_ delivery: inout QueuedDelivery, to hook: AppWebhook) -> DeliveryRecord {
        let body = Data(delivery.body.utf8)
        let signature = WebhookSignature.sign(body, secret: hook.secret)
        let headers = [
            ("Content-Type", "application/json"), ("User-Agent", "Slipway-Webhooks"),
            (WebhookSignature.header, signature), (WebhookSignature.herokuHeader, signature),
            (WebhookSignature.deliveryHeader, delivery.id), (WebhookSignature.eventHeader, delivery.event),
        ]
        delivery.attempts += 1
        var code: Int?
        var failure: String?
        let host = URLComponents(string: hook.url)?.host ?? ""
        let blocked = policy.allowPrivate ? nil : ReceiverAddress.privateAddresses(of: host).first
        if let blocked {
            failure = "refused: \(host) is \(blocked), a private address"
        } else {
            do {
                code = try post(hook.url, headers, body, policy.timeout)
            } catch {
                failure = Self.describe(error)
            }
        }
        let delivered = code.map { (200..<300).contains($0) } ?? false
        let status: DeliveryRecord.Status =
            delivered ? .delivered : delivery.attempts >= policy.attempts || blocked != nil ? .failed : .retrying
        if status == .retrying {
            delivery.notBefore = Date().timeIntervalSince1970 + policy.delay(afterAttempt: delivery.attempts)
        }
        var record = DeliveryRecord(delivery, status: status)
        record.code = code
        record.error = failure
        record.lastAttemptAt = isoTimestamp()
        return record
    }

    /// A failure without an answer in a few words: `connection refused`, `timed out`.
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectTimeout") || text.contains("deadlineExceeded") || text.contains("readTimeout") {
            return "timed out"
        }
        if text.contains("refused") { return "connection refused" }
        if text.lowercased().contains("tls") || text.contains("SSL") || text.contains("certificate") {
            return "TLS failed"
        }
        return TerminalText.printable(text, limit: 80)
    }

    /// POST through the one HTTP client (SlipwayHTTP), answer read up to 64 KB and dropped.
    public static let httpPost: Post = { url, headers, body, timeout in
        var fields = HTTPHeaders()
        for (name, value) in headers { fields.add(name: name, value: value) }
        let response = try SharedHTTPClient.sendWaiting(
            .POST, url, headers: fields, body: body, timeout: .milliseconds(Int64(timeout * 1000)), limit: 64 << 10)
        return response.status
    }
}
