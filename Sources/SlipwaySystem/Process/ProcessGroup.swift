import CProcessShims

#if canImport(Glibc)
    import Glibc
#endif

/// Signals to whole process groups: every child ``Spawn`` starts leads a group (or session) of its own, so one
/// `kill(-pgid)` reaches everything it started, daemons and grandchildren included.
public enum ProcessGroup {
    /// Sends `signal` to every process in group `pgid`; a group that is gone is fine. Never group 0 or 1 (the caller's
    /// own group, or every process).
    public static func signal(_ pgid: pid_t, _ signal: Int32) {
        guard pgid > 1 else { return }
        kill(-pgid, signal)
    }

    /// Whether any process (zombies included) is left in group `pgid`.
    public static func exists(_ pgid: pid_t) -> Bool {
        guard pgid > 1 else { return false }
        return kill(-pgid, 0) == 0 || errno == EPERM
    }

    /// A descriptor that becomes readable once `pid` has exited (a pidfd, Linux 5.3+), so a supervisor's `poll`
    /// wakes at once rather than at its next timeout; -1 where the kernel has none. The caller closes it.
    public static func exitDescriptor(_ pid: pid_t) -> Int32 {
        slipway_pidfd_open(pid)
    }
}
