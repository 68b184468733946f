#if canImport(Glibc)
    import Glibc
#endif

/// Linux `inotify`: a descriptor that becomes readable when a file is created in, moved into or finished being
/// written in one of the watched folders, for a loop that already polls descriptors and wants to act at once instead
/// of at its next periodic look. (Neither Foundation nor swift-system offers inotify.)
///
/// It says only that something changed, never what: the caller looks again at what it cares about. Events can be
/// lost (a full queue, a folder made before its watch was added), so a caller keeps its periodic look as a fallback.
public final class FolderWatch {
    /// The descriptor to poll; readable when an event is pending.
    public let fd: Int32
    private var watched: Set<String> = []

    /// Opens the inotify instance (non-blocking, close-on-exec).
    public init() throws(SystemError) {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw SystemError("inotify_init1", "", errno: errno) }
    }

    deinit { close(fd) }

    /// Watches `folder` for files created, moved in or closed after writing (a temporary name renamed into place
    /// counts). Adding the same folder again does nothing. False when the folder cannot be watched (missing).
    @discardableResult
    public func watch(_ folder: String) -> Bool {
        guard !watched.contains(folder) else { return true }
        guard inotify_add_watch(fd, folder, UInt32(IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)) >= 0 else {
            return false
        }
        watched.insert(folder)
        return true
    }

    /// Whether `folder` is watched.
    public func isWatching(_ folder: String) -> Bool { watched.contains(folder) }

    /// Reads every pending event without waiting; true when there was at least one (or the queue overflowed).
    public func drain() -> Bool {
        var any = false
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                any = true
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                return any
            }
        }
    }
}
