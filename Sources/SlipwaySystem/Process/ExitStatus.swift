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
