import Foundation
public import SlipwayDoorRecords

#if canImport(Glibc)
    import Glibc
#endif

/// What the server remembers about one build, next to its log: `<app>/builds/<id>.json`.
///
/// The pre-receive hook writes it when the build starts (`running`, with the hook's pid) and again when it ends;
/// post-receive adds the release it became. A record left `running` by a hook that was killed reads as `failed`:
/// a build is running only while it holds its work folder's lock (``Sweeper``).
public struct BuildRecord: Codable, Equatable, Sendable {
    /// How a build ended.
    public enum Result: String, Codable, Sendable {
        /// Still building.
        case running
        /// Built; the push went on to release it.
        case succeeded
        /// The build failed (or its process died), so the push was rejected.
        case failed
        /// Stopped by `builds:cancel`, a hang-up or a signal; the push was rejected.
        case cancelled
    }

    /// The build's id, as in `builds/<id>.log`.
    public var id: String
    /// The commit built.
    public var commit: String
    /// Who pushed.
    public var user: String
    public var result: Result
    /// When the build started, ISO 8601 in UTC.
    public var startedAt: String
    /// Seconds from start to end, once it ended.
    public var duration: Double?
    /// The pre-receive hook's process id, which `builds:cancel` signals.
    public var pid: Int32
    /// The release the build became, once published.
    public var release: Int?
    /// Who cancelled it with `builds:cancel`.
    public var cancelledBy: String?

    enum CodingKeys: String, CodingKey {
        case id, commit, user, result, duration, pid, release
        case startedAt = "started_at"
        case cancelledBy = "cancelled_by"
    }

    /// `<app>/builds/<id>.json`.
    static func path(_ app: AppPaths, id: String) -> String { "\(app.builds)/\(id).json" }
    /// The file `builds:cancel` leaves for the build to find: it holds the canceller's name.
    static func cancelMarker(_ app: AppPaths, id: String) -> String { "\(app.builds)/\(id).cancel" }

    /// Records that build `id` of `app` starts now, in this process.
    static func start(_ app: AppPaths, id: String, commit: String, user: String) throws -> BuildRecord {
        let record = BuildRecord(
            id: id, commit: commit, user: user, result: .running, startedAt: isoNow(), duration: nil, pid: getpid(),
            release: nil, cancelledBy: nil)
        try record.save(app)
        return record
    }

    /// Records how the build ended, `elapsed` seconds after it started. A build that `builds:cancel` asked to stop
    /// is recorded as cancelled, whatever error stopped it (one that succeeded first stays succeeded).
    mutating func finish(_ result: Result, elapsed: Double, app: AppPaths) {
        if result != .succeeded, let canceller = Self.canceller(app, id: id) {
            self.result = .cancelled
            cancelledBy = canceller
        } else {
            self.result = result
        }
        duration = elapsed
        try? save(app)
        unlink(Self.cancelMarker(app, id: id))
    }

    /// Who asked to cancel build `id`, if someone did.
    static func canceller(_ app: AppPaths, id: String) -> String? {
        guard let data = try? StateFiles.contents(of: cancelMarker(app, id: id)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    func save(_ app: AppPaths) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try StateFiles.writeAtomically(try encoder.encode(self), to: Self.path(app, id: id))
    }

    /// Sets the release of build `id`, once post-receive published it.
    static func noteRelease(_ version: Int, app: AppPaths, id: String) {
        guard var record = load(app, id: id) else { return }
        record.release = version
        try? record.save(app)
    }

    /// The record of build `id`, nil when there is none (logs from before records were kept).
    static func load(_ app: AppPaths, id: String) -> BuildRecord? {
        guard let data = try? StateFiles.contents(of: path(app, id: id)) else { return nil }
        return try? JSONDecoder().decode(BuildRecord.self, from: data)
    }

    /// The records of the app's kept builds, newest first; a `running` one whose process is gone reads `failed`.
    public static func all(_ app: AppPaths, root: SlipwayRoot) -> [BuildRecord] {
        BuildLog.ids(app).reversed().compactMap { id in
            guard var record = load(app, id: id) else { return nil }
            if record.result == .running && !Sweeper.isRunning(root: root, buildID: id) { record.result = .failed }
            return record
        }
    }

    /// The build of `app` running now, if there is one.
    public static func running(_ app: AppPaths, root: SlipwayRoot) -> BuildRecord? {
        all(app, root: root).first { $0.result == .running }
    }

    /// Stops the running build of `app` for `user`: leaves a note saying who cancelled it, sends SIGTERM to its
    /// pre-receive hook (which kills the buildpack's process group, records the build as cancelled and rejects the
    /// push), then waits up to `limit` for it to end. Returns the build, or nil when none was running.
    ///
    /// The hook, not the door, is signalled: the door would kill git too, and the pusher would see a broken
    /// connection instead of git's `pre-receive hook declined`.
    public static func cancel(_ app: AppPaths, root: SlipwayRoot, by user: String, limit: Duration = .seconds(60))
        throws -> BuildRecord?
    {
        guard let build = running(app, root: root), build.pid > 1 else { return nil }
        try StateFiles.writeAtomically(Data(user.utf8), to: cancelMarker(app, id: build.id))
        // Still running (its work folder is locked), so the pid is still the hook's and not a reused one.
        guard Sweeper.isRunning(root: root, buildID: build.id) else { return build }
        kill(build.pid, SIGTERM)
        let clock = ContinuousClock()
        let start = clock.now
        while Sweeper.isRunning(root: root, buildID: build.id), clock.now - start < limit { usleep(50_000) }
        return load(app, id: build.id) ?? build
    }

    static func isoNow() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }
}
