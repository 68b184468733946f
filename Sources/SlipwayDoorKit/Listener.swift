public import Foundation
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
import SlipwayDoorRecords
import SlipwayReceive
import SlipwaySystem

/// What the doors share around their sessions: the listening socket, the drain at shutdown,
/// and waiting for each session's `receive-pack` child.
public final class Listener: Sendable {
    private let channel = NIOLockedValueBox<Channel?>(nil)

    public init() {}

    /// A TCP server bootstrap as both doors want it: the address reusable at once after a restart, a deep backlog.
    public static func bootstrap(group: EventLoopGroup) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
    }

    /// Binds `bootstrap` to `host:port`; a failure names the address and the `flag` that chooses another. Returns
    /// the bound address (port 0 picks a free one).
    public func bind(_ bootstrap: ServerBootstrap, host: String, port: Int, purpose: String, flag: String) throws
        -> SocketAddress
    {
        let bound: Channel
        do {
            bound = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            throw DoorError(
                .server,
                lines: "cannot listen on \(host):\(port)\(purpose): \(error); choose another address with \(flag)")
        }
        channel.withLockedValue { $0 = bound }
        guard let address = bound.localAddress else {
            throw DoorError(.server, lines: "the listening socket has no address")
        }
        return address
    }

    /// Stops accepting, waits up to `gracePeriod` for the running sessions, then cancels the rest (SIGTERM to each
    /// session's process group, SIGKILL 30 s later) and waits for them to end, and a few seconds more for their
    /// clients to take the last of their answers; shuts `group` down. Returns the number of sessions cancelled.
    public func drain(
        _ sessions: ActiveSessions, gracePeriod: Duration, group: EventLoopGroup, logger: Logger, what: String
    ) -> Int {
        if let bound = channel.withLockedValue({ $0 }) { try? bound.close().wait() }
        let clock = ContinuousClock()
        func wait(until deadline: ContinuousClock.Instant, for done: () -> Bool) {
            while !done() && clock.now < deadline { usleep(50_000) }
        }
        wait(until: clock.now + gracePeriod) { sessions.count == 0 }
        let cancelled = sessions.running
        if cancelled > 0 {
            logger.notice("cancelling \(cancelled) running \(what) after the grace period")
            sessions.signalAll(SIGTERM)
            wait(until: clock.now + .seconds(30)) { sessions.running == 0 }
            sessions.signalAll(SIGKILL)
            while sessions.running > 0 { usleep(50_000) }
        }
        // A client still connected after its session ended (a multiplexed SSH connection) does not hold it up long.
        wait(until: clock.now + .seconds(5)) { sessions.count == 0 }
        try? group.syncShutdownGracefully()
        return cancelled
    }

    /// Waits for the session's child `pid` on a thread of its own (waitpid on that pid only, so no other child is
    /// reaped by mistake), then calls `exited` with its exit code on `eventLoop`.
    public static func reapInBackground(_ pid: pid_t, eventLoop: EventLoop, exited: @escaping (Int32) -> Void) {
        let bound = NIOLoopBound(exited, eventLoop: eventLoop)
        Thread.detachNewThread {
            let status: Int32
            switch Reaping.reap(pid, block: true) {
            case .ended(let exit): status = exit.code
            case .running, .notAChild: status = 0  // a pid that is not (or no longer) ours
            }
            eventLoop.execute { bound.value(status) }
        }
    }
}
