import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// An app's settings, `<root>/apps/<app>/app.json`.
public struct AppSettings: Codable, Equatable, Sendable {
    /// The app's name (an ``AppName``).
    public var name: String
    /// The user who created it; may push, clone and manage it.
    public var owner: String
    /// Other users who may push and clone.
    public var collaborators: [String]
    /// The branch whose pushes deploy; nil for `main`, else `master`.
    public var deployBranch: String?
    /// Buildpacks to use instead of detection, in order (URLs or folders); empty to detect.
    public var buildpacks: [String]
    /// The subfolder of the repository to build (a monorepo's app); nil for the whole tree.
    public var buildDir: String?
    /// When the app was created, ISO 8601 in UTC.
    public var createdAt: String

    public init(
        name: String, owner: String, collaborators: [String] = [], deployBranch: String? = nil,
        buildpacks: [String] = [], buildDir: String? = nil, createdAt: String
    ) {
        self.name = name
        self.owner = owner
        self.collaborators = collaborators
        self.deployBranch = deployBranch
        self.buildpacks = buildpacks
        self.buildDir = buildDir
        self.createdAt = createdAt
    }

    public enum CodingKeys: String, CodingKey {
        case name, owner, collaborators, buildpacks
        case deployBranch = "deploy_branch"
        case buildDir = "build_dir"
        case createdAt = "created_at"
    }

    /// Lenient about lists an operator left out when writing the file by hand.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        owner = try container.decode(String.self, forKey: .owner)
        collaborators = try container.decodeIfPresent([String].self, forKey: .collaborators) ?? []
        deployBranch = try container.decodeIfPresent(String.self, forKey: .deployBranch)
        buildpacks = try container.decodeIfPresent([String].self, forKey: .buildpacks) ?? []
        buildDir = try container.decodeIfPresent(String.self, forKey: .buildDir)
        createdAt = try container.decodeIfPresent(String.self, forKey: .createdAt) ?? ""
    }
}

/// Who may push to which app: the apps under `<root>/apps/` and their `app.json`.
///
/// An app exists when its folder does; `mkdir(2)` is the claim, so of two first pushes at the same moment exactly
/// one creates the app. Every write of `app.json` replaces the whole file atomically.
public struct AppRegistry: Sendable {
    /// The server's root.
    public let root: SlipwayRoot

    public init(root: SlipwayRoot) {
        self.root = root
    }

    /// The refusal for a user who may not use an app, and for an app that does not exist when the user may not
    /// create it: the same words, so the door does not tell who probes it which apps exist.
    public static func noAccess(user: String, app: String) -> DoorError {
        DoorError(.noAccess, "slipway: \(TerminalText.printable(user)) has no access to \(TerminalText.printable(app))")
    }

    /// Creates `app`, owned by `owner`.
    ///
    /// Throws a ``DoorError`` with code `appExists` if the app exists already, including when another creator won
    /// the race a moment ago; callers then fall back to an access check.
    @discardableResult
    public func create(_ app: String, owner: String) throws -> AppSettings {
        try AppName.validate(app)
        try UserName.validate(owner)
        try makeFolder(root.appsDirectory)
        let paths = root.app(app)
        guard mkdir(paths.directory, 0o755) == 0 else {
            if errno == EEXIST { throw DoorError(.appExists, "slipway: app \(app) already exists") }
            throw DoorError.storage("create", paths.directory, errno: errno)
        }
        StateFiles.syncFolder(root.appsDirectory)
        let settings = AppSettings(name: app, owner: owner, createdAt: Self.now())
        do {
            try write(settings)
        } catch {
            // Give the name back: a folder without app.json would block the name for good.
            rmdir(paths.directory)
            throw error
        }
        return settings
    }

    /// The settings of `app`; nil if it does not exist. Throws for an invalid name or a damaged file.
    public func settings(_ app: String) throws -> AppSettings? {
        try AppName.validate(app)
        let path = root.app(app).settings
        guard let data = try StateFiles.contents(of: path) else { return nil }
        do {
            return try JSONDecoder().decode(AppSettings.self, from: data)
        } catch {
            throw DoorError(.storage, "slipway: \(path) is damaged (\(error)): fix or restore it")
        }
    }

    /// Replaces the app's `app.json` with `settings`. The app must exist.
    public func save(_ settings: AppSettings) throws {
        try AppName.validate(settings.name)
        try UserName.validate(settings.owner)
        for user in settings.collaborators { try UserName.validate(user) }
        guard FileManager.default.fileExists(atPath: root.app(settings.name).directory) else {
            throw DoorError(.notFound, "slipway: no app \(settings.name) (receive-pack apps list shows the apps)")
        }
        try write(settings)
    }

    /// Every app with an `app.json`, sorted by name. Folders that are not apps (no `app.json`, or a name outside
    /// the rule) are skipped.
    public func list() throws -> [AppSettings] {
        guard FileManager.default.fileExists(atPath: root.appsDirectory) else { return [] }
        let names = try FileManager.default.contentsOfDirectory(atPath: root.appsDirectory)
        return try names.sorted().compactMap { name in
            var isDirectory: ObjCBool = false
            guard (try? AppName.validate(name)) != nil,
                FileManager.default.fileExists(atPath: root.app(name).directory, isDirectory: &isDirectory),
                isDirectory.boolValue
            else { return nil }
            return try settings(name)
        }
    }

    /// Whether `user` may push to and clone `app`: its owner or a collaborator.
    public func canAccess(user: String, app: AppSettings) -> Bool {
        user == app.owner || app.collaborators.contains(user)
    }

    /// Lets `user` push to and clone `app`. Nothing changes if they already can.
    public func addCollaborator(_ user: String, to app: String) throws {
        try UserName.validate(user)
        try AppName.validate(app)
        try update(app) { settings in
            if !canAccess(user: user, app: settings) { settings.collaborators.append(user) }
        }
    }

    /// Changes the settings of `app` with `change` and returns them; nothing is written when `change` throws or
    /// changes nothing.
    ///
    /// Read-modify-write under a lock of its own (not the build lock, which a build holds for minutes), so two
    /// concurrent changes never lose one another.
    @discardableResult
    public func update(_ app: String, _ change: (inout AppSettings) throws -> Void) throws -> AppSettings {
        try AppName.validate(app)
        let paths = root.app(app)
        guard FileManager.default.fileExists(atPath: paths.directory) else { throw notFound(app) }
        return try StateFiles.withExclusiveLock("\(paths.directory)/app.json.lock") {
            guard let before = try self.settings(app) else { throw notFound(app) }
            var settings = before
            try change(&settings)
            if settings != before { try write(settings) }
            return settings
        }
    }

    /// Deletes `app`: its repository, releases, slugs, cache and logs.
    ///
    /// The folder is first renamed to `<root>/tmp/destroyed-<app>-<random>`, then deleted, so a crash part-way never
    /// leaves a half-deleted app under `apps/`. Refused while a build of the app holds its lock.
    public func destroy(_ app: String) throws {
        try AppName.validate(app)
        let paths = root.app(app)
        var info = stat()
        guard lstat(paths.directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { throw notFound(app) }
        try makeFolder(root.tmpDirectory)
        let graveyard = "\(root.tmpDirectory)/destroyed-\(app)-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"

        // Hold the build lock across the rename, so no build is running in the folder as it goes.
        let lock = open(paths.lock, O_RDWR | O_CLOEXEC)
        defer { if lock >= 0 { close(lock) } }
        if lock >= 0 && !FileLock.attempt(lock) {
            throw DoorError(.storage, "slipway: \(app) is building right now: destroy it when the build is done")
        }
        guard rename(paths.directory, graveyard) == 0 else {
            throw DoorError.storage("move away", paths.directory, errno: errno)
        }
        StateFiles.syncFolder(root.appsDirectory)
        StateFiles.syncFolder(root.tmpDirectory)
        do {
            try FileManager.default.removeItem(atPath: graveyard)
        } catch {
            throw DoorError(
                .storage,
                "slipway: \(app) is gone from apps/, but deleting \(graveyard) failed (\(error)): delete it by hand")
        }
    }

    // MARK: - Helpers

    private func notFound(_ app: String) -> DoorError {
        DoorError(.notFound, "slipway: no app \(app) (receive-pack apps list shows the apps)")
    }

    private func write(_ settings: AppSettings) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(settings)
        data.append(0x0A)
        try StateFiles.writeAtomically(data, to: root.app(settings.name).settings, mode: 0o644)
    }

    private func makeFolder(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw DoorError(.storage, "slipway: cannot create \(path): \(error)")
        }
    }

    private static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
