#if canImport(Glibc)
    import Glibc
#endif

/// `flock(2)`: advisory whole-file locks that the kernel releases when the last descriptor of the holder closes,
/// however its process ends, so a crash never leaves a lock behind. (swift-system has no `flock`.)
public enum FileLock {
    /// Who else may hold it at the same time.
    public enum Kind: Sendable {
        /// Nobody.
        case exclusive
        /// Other shared holders.
        case shared

        var operation: Int32 { self == .exclusive ? LOCK_EX : LOCK_SH }
    }

    /// Takes the lock on `fd`, waiting for other holders; false (with `errno`) on an error.
    public static func wait(_ fd: Int32, _ kind: Kind = .exclusive) -> Bool {
        while flock(fd, kind.operation) != 0 {
            guard errno == EINTR else { return false }
        }
        return true
    }

    /// Takes the lock on `fd` if nobody holds it in a conflicting way; false otherwise.
    public static func attempt(_ fd: Int32, _ kind: Kind = .exclusive) -> Bool {
        flock(fd, kind.operation | LOCK_NB) == 0
    }

    /// Releases a lock taken on `fd` (closing its last descriptor does too).
    public static func release(_ fd: Int32) {
        flock(fd, LOCK_UN)
    }
}
