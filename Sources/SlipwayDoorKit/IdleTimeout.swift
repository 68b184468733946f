public import Logging
public import NIOCore

/// Closes a connection on which nothing has moved for `--idle-timeout`: no byte from the client and no write to it
/// completed. A client that was killed, suspended or cut off by the network (a stalled TCP connection, which never
/// says it is gone) would otherwise keep its session, its app's lock and its connection slot for ever; closing the
/// connection cancels the session the way a hang-up does. A live push is never idle that long: git sends its pack
/// as fast as the door takes it, and a build says something at least every 20 seconds.
///
/// Shared by the SSH server and the HTTP door; it goes first in the connection's pipeline, under TLS and SSH, so
/// every byte counts.
public enum IdleTimeout {
    /// The handlers to add first to a connection's pipeline.
    public static func handlers(_ timeout: Duration, remote: String, logger: Logger) -> [ChannelHandler] {
        let seconds = max(1, timeout.components.seconds)
        return [
            IdleStateHandler(allTimeout: .seconds(seconds)),
            IdleCloser(seconds: seconds, remote: remote, logger: logger),
        ]
    }
}

private final class IdleCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let seconds: Int64
    private let remote: String
    private let logger: Logger

    init(seconds: Int64, remote: String, logger: Logger) {
        self.seconds = seconds
        self.remote = remote
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case IdleStateHandler.IdleStateEvent.all = event else {
            return context.fireUserInboundEventTriggered(event)
        }
        logger.notice(
            "connection closed: nothing moved either way for \(seconds)s (--idle-timeout)",
            metadata: ["remote": "\(remote)"])
        context.close(promise: nil)
    }
}
