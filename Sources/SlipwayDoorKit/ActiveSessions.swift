public import Logging
import NIOConcurrencyHelpers
public import NIOCore

#if canImport(Glibc)
    public import Glibc
#endif

/// The sessions running now, so that shutdown can wait for them and, after the grace period, cancel them. A session
/// counts from its child's start until both the child has exited and the client's connection has closed: the
/// child's last output (git's report of the refs) may still be on its way when the child exits, and shutting the
/// event loops down then would cut it off.
public final class ActiveSessions: Sendable {
    public struct Token: Hashable, Sendable {
        fileprivate let id: Int
    }
    private struct Session {
        var pid: pid_t?
        var connected = true
    }
    private let state = NIOLockedValueBox<(next: Int, sessions: [Int: Session])>((0, [:]))

    public init() {}

    /// Counts the session of child `pid` until ``exited(_:)`` is called and `connection` has closed.
    public func add(_ pid: pid_t, connection: Channel) -> Token {
        let token = state.withLockedValue { state -> Token in
            state.next += 1
            state.sessions[state.next] = Session(pid: pid)
            return Token(id: state.next)
        }
        connection.closeFuture.whenComplete { [self] _ in update(token) { $0.connected = false } }
        return token
    }

    /// The session's child has exited (and been reaped: its pid is never signalled again).
    public func exited(_ token: Token) { update(token) { $0.pid = nil } }

    /// Sessions not over yet: a child running, or a client still connected.
    public var count: Int { state.withLockedValue { $0.sessions.count } }

    /// Sessions whose child is still running.
    public var running: Int { state.withLockedValue { $0.sessions.values.count { $0.pid != nil } } }

    /// Sends `signal` to every running session process (`receive-pack shell`, which stops git and the build
    /// cleanly).
    public func signalAll(_ signal: Int32) {
        for pid in state.withLockedValue({ $0.sessions.values.compactMap(\.pid) }) { kill(pid, signal) }
    }

    private func update(_ token: Token, _ change: (inout Session) -> Void) {
        state.withLockedValue { state in
            guard var session = state.sessions[token.id] else { return }
            change(&session)
            state.sessions[token.id] = session.pid == nil && !session.connected ? nil : session
        }
    }
}

/// The connections a server has open, against `--max-connections` (shared by the SSH server and the HTTP door).
public final class ConnectionCount: Sendable {
    private let open = NIOLockedValueBox(0)
    public let limit: Int

    public init(limit: Int) { self.limit = limit }

    /// Counts `channel` (until it closes) if there is room; otherwise logs why and closes it, and returns false.
    public func admit(_ channel: Channel, remote: String, logger: Logger) -> Bool {
        let admitted = open.withLockedValue { count -> Bool in
            guard count < limit else { return false }
            count += 1
            return true
        }
        guard admitted else {
            logger.warning(
                "connection refused: \(limit) connections are open (--max-connections)",
                metadata: ["remote": "\(remote)"])
            channel.close(promise: nil)
            return false
        }
        channel.closeFuture.whenComplete { [open] _ in open.withLockedValue { $0 -= 1 } }
        return true
    }
}
