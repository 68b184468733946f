import Foundation
public import SlipwayDoorRecords
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// A cap on builds running at once across all apps (`receive-pack serve --max-builds`, passed to the hooks as
/// `SLIPWAY_MAX_BUILDS`): `<root>/run/build-slots/<n>` are N lock files, and a build holds a lock (`FileLock`) on one of
/// them while it runs. The kernel frees a slot when its holder exits, however it exits.
public final class BuildSlot {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// Takes a free slot out of `limit`, waiting up to `wait` and saying why (at once, then every 20 seconds).
    /// Returns nil when `limit` is 0 (no cap).
    public static func acquire(
        root: SlipwayRoot, limit: Int, wait: Duration, say: (String) -> Void, shouldStop: () -> Bool = { false }
    ) throws -> BuildSlot? {
        guard limit > 0 else { return nil }
        let folder = "\(root.runDirectory)/build-slots"
        try StateFiles.makeFolders(folder)
        let fds = try (0..<limit).map { index -> Int32 in
            let fd = open("\(folder)/\(index)", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw DoorError.storage("open", "\(folder)/\(index)", errno: errno) }
            return fd
        }
        let clock = ContinuousClock()
        let start = clock.now
        var lastMessage: ContinuousClock.Instant?
        while true {
            if let free = fds.first(where: { FileLock.attempt($0) }) {
                for fd in fds where fd != free { close(fd) }
                return BuildSlot(fd: free)
            }
            if shouldStop() || clock.now - start >= wait {
                for fd in fds { close(fd) }
                let stopped = shouldStop()
                throw DoorError(
                    stopped ? .cancelled : .busy,
                    lines: stopped
                        ? "The push was cancelled while waiting for a build slot."
                        : "Gave up after waiting \(Int(wait.components.seconds))s for a build slot: the server is busy.",
                    "Push again in a while.")
            }
            if lastMessage.map({ clock.now - $0 >= .seconds(20) }) ?? true {
                say(
                    "Waiting for a free build slot: \(limit) build\(limit == 1 ? " is" : "s are") running (the server runs at most \(limit) at once)"
                )
                lastMessage = clock.now
            }
            usleep(200_000)
        }
    }
}
