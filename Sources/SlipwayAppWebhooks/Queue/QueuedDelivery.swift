import Foundation

/// One delivery still to make: the body (signed when sent, with the webhook's secret as it is then), how many times it
/// was tried, and when it may be tried next. `<root>/webhooks/queue/<app>/<webhook>/<sequence>-<id>.json`.
public struct QueuedDelivery: Codable, Sendable, Equatable {
    public var id: String
    public var app: String
    public var webhookID: String
    /// `api:build`, `api:release`.
    public var event: String
    /// `create`, `update`.
    public var action: String
    /// The JSON body, byte for byte as it is sent and signed.
    public var body: String
    public var createdAt: String
    public var attempts: Int
    /// Seconds since 1970 before which it is not tried again.
    public var notBefore: Double

    enum CodingKeys: String, CodingKey {
        case id, app, event, action, body, attempts
        case webhookID = "webhook_id"
        case createdAt = "created_at"
        case notBefore = "not_before"
    }

    public init(
        id: String, app: String, webhookID: String, event: String, action: String, body: String, createdAt: String
    ) {
        self.id = id
        self.app = app
        self.webhookID = webhookID
        self.event = event
        self.action = action
        self.body = body
        self.createdAt = createdAt
        self.attempts = 0
        self.notBefore = 0
    }
}

/// What became of a delivery, kept in `<root>/apps/<app>/webhook-deliveries.json` (the last 100) for
/// `webhooks:deliveries`.
public struct DeliveryRecord: Codable, Sendable, Equatable {
    /// `pending` (queued, not tried yet), `retrying`, `delivered`, `failed` (every attempt failed).
    public enum Status: String, Codable, Sendable { case pending, retrying, delivered, failed }

    public var id: String
    public var webhookID: String
    public var event: String
    public var status: Status
    /// The receiver's last HTTP status, when it answered.
    public var code: Int?
    /// Why the last attempt failed without an answer (refused, timed out…).
    public var error: String?
    public var attempts: Int
    public var createdAt: String
    public var lastAttemptAt: String?
    /// When it is tried again (retrying).
    public var nextAttemptAt: String?

    enum CodingKeys: String, CodingKey {
        case id, event, status, code, error, attempts
        case webhookID = "webhook_id"
        case createdAt = "created_at"
        case lastAttemptAt = "last_attempt_at"
        case nextAttemptAt = "next_attempt_at"
    }

    public init(_ delivery: QueuedDelivery, status: Status) {
        id = delivery.id
        webhookID = delivery.webhookID
        event = "\(delivery.event) \(delivery.action)"
        self.status = status
        attempts = delivery.attempts
        createdAt = delivery.createdAt
    }
}
