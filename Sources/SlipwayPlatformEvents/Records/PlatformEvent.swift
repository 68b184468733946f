public import Foundation
public import SlipwayLogs

/// Something the door did to an app that belongs in the app's log, as Heroku's `app[api]` lines: a build started,
/// succeeded or failed, a release was created. The door records each one in the spool (docs/spool.md, "The door's
/// events"); the runner writes it into the app's log, and so to every drain, as a `slugrunner[api]` line.
///
/// ```json
/// {"app":"myapp","at":"2026-12-07T11:40:01Z","build_id":"20261207-113958-8f2c","kind":"build-started","user":"alice","version":1}
/// ```
public struct PlatformEvent: Codable, Equatable, Sendable {
    /// What happened. A runner ignores a kind it does not know (a newer door's).
    public enum Kind: String, Codable, Sendable {
        case buildStarted = "build-started"
        case buildSucceeded = "build-succeeded"
        case buildFailed = "build-failed"
        case releaseCreated = "release-created"
    }

    /// The record's format: 1.
    public var version: Int
    public var kind: String
    public var app: String
    /// Who did it: the pusher, the user who changed the config or rolled back, or `operator`.
    public var user: String
    /// When the door recorded it (ISO 8601, UTC).
    public var at: String
    /// The build's id (`builds:output <app> <id>`), for build events.
    public var buildID: String?
    /// The release's number and description (`Deploy 8f47482`), for `release-created`.
    public var release: Int?
    public var description: String?

    enum CodingKeys: String, CodingKey {
        case version, kind, app, user, at, release, description
        case buildID = "build_id"
    }

    public init(
        _ kind: Kind, app: String, user: String, at: Date = Date(), buildID: String? = nil, release: Int? = nil,
        description: String? = nil
    ) {
        self.version = 1
        self.kind = kind.rawValue
        self.app = app
        self.user = user
        self.at = ISO8601DateFormatter().string(from: at)
        self.buildID = buildID
        self.release = release
        self.description = description
    }

    /// The record's bytes, as stored.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// The record in `data`; nil when it is not one this runner reads (another format version, not JSON).
    public static func decode(_ data: Data) -> PlatformEvent? {
        guard let event = try? JSONDecoder().decode(PlatformEvent.self, from: data), event.version == 1 else {
            return nil
        }
        return event
    }

    /// The text of the app's log line, Heroku's words; nil for a kind this runner does not know.
    ///
    /// ```
    /// Build started by user alice
    /// Build succeeded
    /// Build failed -- check your build output: builds:output myapp 20261207-113958-8f2c
    /// Release v3 created by user alice (Deploy 8f47482)
    /// ```
    public var text: String? {
        // Cut, since the spool is not the door's alone (docs/threat-model.md); the log replaces control characters.
        let user = user.prefix(64)
        switch Kind(rawValue: kind) {
        case .buildStarted: return "Build started by user \(user)"
        case .buildSucceeded: return "Build succeeded"
        case .buildFailed:
            guard let buildID else { return "Build failed" }
            return "Build failed -- check your build output: builds:output \(app.prefix(30)) \(buildID.prefix(100))"
        case .releaseCreated:
            let number = release.map { "v\($0) " } ?? ""
            return "Release \(number)created by user \(user)" + (description.map { " (\($0.prefix(200)))" } ?? "")
        case nil: return nil
        }
    }

    /// The app's log line (`slugrunner[api]: …`), written `now`; nil for a kind this runner does not know.
    public func logLine(now: Date = Date()) -> LogLine? {
        text.map { LogLine.runner(Self.component, $0, date: now) }
    }

    /// The component of the lines: Heroku's `api`.
    public static let component = "api"
}
