public import Foundation
public import SlipwayDoorRecords
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// One build at a time per app: an exclusive lock (`FileLock`) on `<app>/lock`.
///
/// The kernel releases the lock when its holder exits, however it exits, so a crash never leaves a stuck lock. The
/// holder describes itself in `<app>/lock.json` (what it builds, for whom, since when) so that a waiting push can say
/// what it waits for.
public final class AppLock {
    /// What a holder writes about itself.
    public struct Holder: Codable, Sendable {
        public var user: String
        public var commit: String?
        public var since: Date
        public var pid: Int32
        /// The command holding the lock when it is not a push (`config:set`, `rollback`, `cache:purge`).
        public var action: String?

        public init(user: String, commit: String?, since: Date = Date(), pid: Int32 = getpid(), action: String? = nil) {
            self.user = user
            self.commit = commit
            self.since = since
            self.pid = pid
            self.action = action
        }
    }

    /// The locked descriptor; a child that inherits it holds the lock with this process.
    let fd: Int32
    private let infoPath: String

    private init(fd: Int32, infoPath: String) {
        self.fd = fd
        self.infoPath = infoPath
    }

    deinit {
        unlink(infoPath)
        close(fd)
    }

    /// How long to wait for another holder: `$SLIPWAY_LOCK_WAIT` seconds, default 600.
    public static func waitLimit(_ environment: [String: String]) -> Duration {
        .seconds(environment["SLIPWAY_LOCK_WAIT"].flatMap(Int.init) ?? 600)
    }

    /// Takes the lock of `app`, waiting up to `limit` for the current holder, and telling the pusher about the wait
    /// through `say` (at once, then every 20 seconds).
    public static func acquire(
        _ app: AppPaths, as holder: Holder, limit: Duration, say: (String) -> Void, shouldStop: () -> Bool = { false }
    ) throws -> AppLock {
        try FileManager.default.createDirectory(atPath: app.directory, withIntermediateDirectories: true)
        let fd = open(app.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let failure = SystemError("open", app.lock, errno: errno)
            throw DoorError(
                .pushFailed, lines: "Cannot open the lock of \(app.name): \(String(cString: strerror(failure.errno))).",
                systemError: failure)
        }
        let clock = ContinuousClock()
        let start = clock.now
        var lastMessage: ContinuousClock.Instant?
        while !FileLock.attempt(fd) {
            if shouldStop() {
                close(fd)
                throw DoorError(.cancelled, lines: "The push was cancelled while waiting for the build lock.")
            }
            if clock.now - start >= limit {
                close(fd)
                throw DoorError(
                    .busy,
                    lines:
                        "Gave up after waiting \(Int(limit.components.seconds))s for the other build of \(app.name).",
                    "Push again when it has finished.")
            }
            if lastMessage.map({ clock.now - $0 >= .seconds(20) }) ?? true {
                say(waitingMessage(app))
                lastMessage = clock.now
            }
            usleep(200_000)
        }
        let lock = AppLock(fd: fd, infoPath: "\(app.directory)/lock.json")
        lock.describe(holder)
        return lock
    }

    /// Replaces the holder's description (for example once the commit being built is known).
    public func describe(_ holder: Holder) {
        Self.write(holder, to: infoPath)
    }

    /// Describes the holder of a lock taken by another process of this push (`receive-pack shell`).
    public static func describe(_ app: AppPaths, _ holder: Holder) {
        write(holder, to: "\(app.directory)/lock.json")
    }

    private static func write(_ holder: Holder, to infoPath: String) {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        guard let data = try? encoder.encode(holder) else { return }
        let temp = "\(infoPath).\(getpid()).tmp"
        if FileManager.default.createFile(atPath: temp, contents: data) { rename(temp, infoPath) }
    }

    /// `Waiting for the build of 1a2b3c4 by alice, started 40s ago` (or `Waiting for config:set by alice, …`).
    static func waitingMessage(_ app: AppPaths) -> String {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        guard let data = FileManager.default.contents(atPath: "\(app.directory)/lock.json"),
            let holder = try? decoder.decode(Holder.self, from: data)
        else { return "Waiting for another push to \(app.name) to finish" }
        let ago = max(0, Int(Date().timeIntervalSince(holder.since)))
        let what = holder.action ?? holder.commit.map { "the build of \($0.prefix(7))" } ?? "a push"
        return "Waiting for \(what) by \(holder.user), started \(ago)s ago"
    }
}
