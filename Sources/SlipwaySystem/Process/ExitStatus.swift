#if canImport(Glibc)
    public import Glibc
#endif

/// How a child process ended.
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// The status as a shell would report it: the exit code, or 128 + the signal.
    public var code: Int32 {
        switch self {
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        }
    }

    public var succeeded: Bool { self == .exited(0) }

    /// `status 1`, `SIGKILL`: how logs say it.
    public var description: String {
        switch self {
        case .exited(let code): "status \(code)"
        case .signaled(let signal): signalName(signal)
        }
    }

    /// Decodes a `waitpid` status word (WIFEXITED, WEXITSTATUS and WTERMSIG are macros Swift cannot call).
    public init(waitStatus status: Int32) {
        let low = status & 0x7f
        self = low == 0 ? .exited((status >> 8) & 0xff) : .signaled(low)
    }
}

/// `waitpid` on one child, retried when a signal interrupts it.
public enum Reaping {
    /// What became of the child.
    public enum Outcome: Equatable, Sendable {
        /// Still running (only without `block`).
        case running
        /// It ended, and is reaped now.
        case ended(ExitStatus)
        /// Not a child of this process (any more): reaped by someone else, or never ours.
        case notAChild
    }

    /// Reaps `pid` if it has ended, or waits until it has when `block`.
    public static func reap(_ pid: pid_t, block: Bool) -> Outcome {
        var status: Int32 = 0
        while true {
            let rc = waitpid(pid, &status, block ? 0 : WNOHANG)
            if rc == 0 { return .running }
            if rc > 0 {
                SupervisedChildren.shared.remove(pid)
                return .ended(ExitStatus(waitStatus: status))
            }
            if errno != EINTR { return .notAChild }
        }
    }

    /// What ``reapAny()`` found.
    public enum AnyOutcome: Equatable, Sendable {
        /// This child ended and is reaped now.
        case ended(pid: pid_t, status: ExitStatus)
        /// Children are left, and all of them still run.
        case running
        /// No child is left at all.
        case noChildren
    }

    /// Reaps one child that has ended, whichever it is, without waiting. A supervisor (or a subreaper, whose
    /// orphaned grandchildren become its own) calls it until it returns `.running` or `.noChildren`.
    public static func reapAny() -> AnyOutcome {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid > 0 {
                SupervisedChildren.shared.remove(pid)
                return .ended(pid: pid, status: ExitStatus(waitStatus: status))
            }
            if pid == 0 { return .running }
            if errno != EINTR { return .noChildren }
        }
    }

    /// Reaps every child that has ended, without waiting.
    public static func reapAllEnded() -> [(pid: pid_t, status: ExitStatus)] {
        var reaped: [(pid: pid_t, status: ExitStatus)] = []
        while case .ended(let pid, let status) = reapAny() { reaped.append((pid, status)) }
        return reaped
    }
}
