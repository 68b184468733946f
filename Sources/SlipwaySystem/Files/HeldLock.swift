#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive ``FileLock`` on a lock file, held as long as this object lives: for short read-modify-write sections
/// shared by several programs (the door and `slugrunner scale` both change an app's `dynos.json`).
public final class HeldLock {
    private let fd: Int32

    /// Opens `path` (created with mode 0644 if missing; read-only, so a file another user created serves as well) and
    /// waits for the lock.
    public init(_ path: String) throws(SystemError) {
        let fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError("open", path, errno: errno) }
        guard FileLock.wait(fd) else {
            let number = errno
            close(fd)
            throw SystemError("lock", path, errno: number)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Whether some process holds a lock on the file at `path` right now (false when there is no such file). Takes
    /// and drops a shared lock to find out, so it never waits.
    public static func isHeld(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if FileLock.attempt(fd, .shared) {
            FileLock.release(fd)
            return false
        }
        return errno == EWOULDBLOCK
    }
}
