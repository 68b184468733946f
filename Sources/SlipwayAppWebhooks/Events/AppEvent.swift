import Foundation

/// Something that happened to an app that its webhooks may be told: a build started or ended, a release was made.
/// The door makes them; the engine that runs the dynos (local or swarm) plays no part.
public enum AppEvent: Sendable, Equatable {
    /// A build started (Heroku: `api:build` `create`, status `pending`).
    case buildStarted(BuildData)
    /// A build ended (`api:build` `update`, status `succeeded` or `failed`, with the reason line).
    case buildFinished(BuildData)
    /// A release was made (`api:release` `create`): a deploy, a config change, a rollback.
    case releaseCreated(ReleaseData)

    /// The entity a webhook subscribes to for this event.
    public var entity: WebhookEntity {
        switch self {
        case .buildStarted, .buildFinished: .build
        case .releaseCreated: .release
        }
    }

    /// Heroku's action: `create` or `update`.
    public var action: String {
        switch self {
        case .buildStarted, .releaseCreated: "create"
        case .buildFinished: "update"
        }
    }

    /// The app's name.
    public var app: String {
        switch self {
        case .buildStarted(let build), .buildFinished(let build): build.app.name
        case .releaseCreated(let release): release.app.name
        }
    }

    /// Who caused it: the pusher, or the user who changed the config or rolled back.
    public var actor: String {
        switch self {
        case .buildStarted(let build), .buildFinished(let build): build.user.name
        case .releaseCreated(let release): release.user.name
        }
    }
}

/// A name, as Heroku's payloads nest them (`"app": {"name": "myapp"}`).
public struct Named: Codable, Sendable, Equatable {
    public var name: String
    public init(_ name: String) { self.name = name }
}

/// The `data` of an `api:build` event.
public struct BuildData: Codable, Sendable, Equatable {
    /// How a build stands: Heroku's `pending`, `succeeded`, `failed`.
    public enum Status: String, Codable, Sendable { case pending, succeeded, failed }

    public struct SourceBlob: Codable, Sendable, Equatable {
        /// The commit built.
        public var version: String
    }

    public var id: String
    public var app: Named
    public var status: Status
    public var sourceBlob: SourceBlob
    public var user: Named
    public var createdAt: String
    public var updatedAt: String
    /// Why a failed build failed: the line the pusher saw (Slipway's addition to Heroku's shape).
    public var failureReason: String?

    enum CodingKeys: String, CodingKey {
        case id, app, status, user
        case sourceBlob = "source_blob"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case failureReason = "failure_reason"
    }

    public init(
        id: String, app: String, status: Status, commit: String, user: String, createdAt: String,
        updatedAt: String, failureReason: String? = nil
    ) {
        self.id = id
        self.app = Named(app)
        self.status = status
        self.sourceBlob = SourceBlob(version: commit)
        self.user = Named(user)
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.failureReason = failureReason
    }
}

/// The `data` of an `api:release` event.
public struct ReleaseData: Codable, Sendable, Equatable {
    public var id: String
    public var app: Named
    public var version: Int
    /// `Deploy 1a2b3c4`, `Set FOO config vars`, `Rollback to v3`.
    public var description: String
    public var user: Named
    /// Always `succeeded`: the event is sent once the release is recorded and handed to the runner.
    public var status: String
    public var current: Bool
    /// The commit the release's slug was built from, when known.
    public var sourceVersion: String?
    public var createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, app, version, description, user, status, current
        case sourceVersion = "source_version"
        case createdAt = "created_at"
    }

    public init(app: String, version: Int, description: String, user: String, sourceVersion: String?, createdAt: String)
    {
        self.id = "\(app)-v\(version)"
        self.app = Named(app)
        self.version = version
        self.description = description
        self.user = Named(user)
        self.status = "succeeded"
        self.current = true
        self.sourceVersion = sourceVersion
        self.createdAt = createdAt
    }
}
