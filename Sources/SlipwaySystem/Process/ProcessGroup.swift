import CProcessShims
public import Glibc

/// Signals to whole process groups: every child ``Spawn`` starts leads a group (or session) of its own, so one
/// `kill(-pgid)` reaches everything it started, daemons and grandchildren included.
public enum ProcessGroup {
    /// Sends `signal` to every process in group `pgid`; a group that is gone is fine. Never group 0 or 1 (the caller's
    /// own group, or every process).
    public static func signal(_ pgid: Glibc.pid_t, _ signal: Int32) {
        guard pgid > 1 else { return }
        kill(-pgid, signal)
    }

    /// Sends `signal` to every process in group `pgid` except those running one of `sparing` (absolute paths of
    /// executables). A sandbox's own processes are spared this way: bubblewrap dies of SIGTERM, and its
    /// `--die-with-parent` then SIGKILLs the whole sandbox, so the app inside would never get its grace period;
    /// signalled alone, the app exits and the sandbox ends with it. Reads `/proc`, so it sees the processes of this
    /// PID namespace (a sandbox's included, by their outer pids).
    public static func signal(_ pgid: Glibc.pid_t, _ signal: Int32, sparing: Set<String>) {
        guard pgid > 1 else { return }
        for pid in members(of: pgid) {
            var buffer = [CChar](repeating: 0, count: 4096)
            let length = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
            let executable =
                length > 0 ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
            if !sparing.contains(executable) { kill(pid, signal) }
        }
    }

    /// The processes of group `pgid` now.
    public static func members(of pgid: Glibc.pid_t) -> [Glibc.pid_t] {
        ProcessStat.all().filter { $0.stat.group == pgid }.map(\.pid)
    }

    /// Whether any process (zombies included) is left in group `pgid`.
    public static func exists(_ pgid: Glibc.pid_t) -> Bool {
        guard pgid > 1 else { return false }
        return kill(-pgid, 0) == 0 || errno == EPERM
    }

    /// A descriptor that becomes readable once `pid` has exited (a pidfd, Linux 5.3+), so a supervisor's `poll`
    /// wakes at once rather than at its next timeout; -1 where the kernel has none. The caller closes it.
    public static func exitDescriptor(_ pid: Glibc.pid_t) -> Int32 {
        slipway_pidfd_open(pid)
    }
}
