public import Foundation

/// The JSON body of one delivery, in Heroku's app-webhook shape:
/// `{"action":"create","resource":"release","actor":{…},"data":{…},"webhook_metadata":{…},…}`.
public struct WebhookPayload: Codable, Sendable, Equatable {
    public struct Metadata: Codable, Sendable, Equatable {
        public struct Reference: Codable, Sendable, Equatable { public var id: String }
        public struct Event: Codable, Sendable, Equatable {
            public var id: String
            public var include: String
        }
        public var delivery: Reference
        public var event: Event
        public var webhook: Reference
    }

    /// The event's id (one event, one id, whatever the number of webhooks it goes to).
    public var id: String
    public var action: String
    /// `build` or `release`.
    public var resource: String
    public var actor: Named
    public var createdAt: String
    public var publishedAt: String
    public var version: String
    public var build: BuildData?
    public var release: ReleaseData?
    public var webhookMetadata: Metadata

    enum CodingKeys: String, CodingKey {
        case id, action, resource, actor, version
        case createdAt = "created_at"
        case publishedAt = "published_at"
        case data
        case webhookMetadata = "webhook_metadata"
    }

    /// The payload of `event` (id `eventID`) as delivery `deliveryID` to webhook `webhookID`.
    public init(_ event: AppEvent, eventID: String, deliveryID: String, webhookID: String, at time: String) {
        id = eventID
        action = event.action
        resource = String(event.entity.rawValue.dropFirst("api:".count))
        actor = Named(event.actor)
        createdAt = time
        publishedAt = time
        version = "application/vnd.heroku+json; version=3"
        switch event {
        case .buildStarted(let data), .buildFinished(let data): build = data
        case .releaseCreated(let data): release = data
        }
        webhookMetadata = Metadata(
            delivery: .init(id: deliveryID), event: .init(id: eventID, include: event.entity.rawValue),
            webhook: .init(id: webhookID))
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        action = try container.decode(String.self, forKey: .action)
        resource = try container.decode(String.self, forKey: .resource)
        actor = try container.decode(Named.self, forKey: .actor)
        createdAt = try container.decode(String.self, forKey: .createdAt)
        publishedAt = try container.decode(String.self, forKey: .publishedAt)
        version = try container.decode(String.self, forKey: .version)
        webhookMetadata = try container.decode(Metadata.self, forKey: .webhookMetadata)
        if resource == "build" {
            build = try container.decode(BuildData.self, forKey: .data)
        } else {
            release = try container.decode(ReleaseData.self, forKey: .data)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(action, forKey: .action)
        try container.encode(resource, forKey: .resource)
        try container.encode(actor, forKey: .actor)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(publishedAt, forKey: .publishedAt)
        try container.encode(version, forKey: .version)
        if let build { try container.encode(build, forKey: .data) }
        if let release { try container.encode(release, forKey: .data) }
        try container.encode(webhookMetadata, forKey: .webhookMetadata)
    }

    /// The body as sent: compact JSON, keys sorted.
    public func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// The signature of every delivery: HMAC-SHA256 of the exact body with the webhook's secret, base64, as Heroku's
/// `Heroku-Webhook-Hmac-SHA256`.
public enum WebhookSignature {
    /// The header carrying it (also sent as Heroku's header name, for receivers written for Heroku).
    public static let header = "Slipway-Webhook-Hmac-SHA256"
    public static let herokuHeader = "Heroku-Webhook-Hmac-SHA256"
    /// The delivery's id (the same on every attempt of one delivery, so a receiver can drop repeats).
    public static let deliveryHeader = "Slipway-Webhook-Id"
    /// `api:build` or `api:release`.
    public static let eventHeader = "Slipway-Webhook-Event"
}
