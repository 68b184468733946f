import CProcessShims

#if canImport(Glibc)
    import Glibc
#endif

/// A pipe whose two ends are close-on-exec, so a child gets only the end it is given explicitly.
///
/// Our own `pipe2(O_CLOEXEC)` rather than swift-system's `FileDescriptor.pipe()`: that one sets no close-on-exec
/// flag, and between its `pipe` and a later `fcntl` another thread's spawn could inherit both ends.
public struct PipeEnds: Sendable {
    /// The end this process reads from.
    public let readEnd: Int32
    /// The end handed to a child, or written to.
    public let writeEnd: Int32

    /// Opens a pipe; with `nonBlockingRead`, reads from it return `EAGAIN` instead of waiting (for `poll` loops).
    public init(nonBlockingRead: Bool = false) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        guard slipway_pipe_cloexec(&fds) == 0 else { throw SystemError("pipe2", errno: errno) }
        if nonBlockingRead { _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) }
        readEnd = fds[0]
        writeEnd = fds[1]
    }

    /// `count` pipes, or none: when one cannot be opened, those opened before it are closed again.
    public static func several(_ count: Int) throws(SystemError) -> [PipeEnds] {
        var pipes: [PipeEnds] = []
        do {
            for _ in 0..<count { pipes.append(try PipeEnds()) }
        } catch {
            for pipe in pipes { pipe.close() }
            throw error
        }
        return pipes
    }

    /// The ends as `pipe(2)` returns them: `[read, write]`.
    public var descriptors: [Int32] { [readEnd, writeEnd] }

    /// Closes both ends.
    public func close() {
        _ = Glibc.close(readEnd)
        _ = Glibc.close(writeEnd)
    }
}
