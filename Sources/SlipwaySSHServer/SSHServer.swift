import Foundation
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
import NIOSSH
public import SlipwayDoorKit
import SlipwayDoorRecords
import SlipwayReceive
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Slipway's built-in SSH server (`receive-pack serve`): public-key authentication against the authorized_keys file
/// that `receive-pack keys` maintains, and `exec` sessions served by `receive-pack shell`, the same forced command
/// OpenSSH runs. Built on swift-nio-ssh.
///
/// Limits: connections at once, failed authentications per connection, time to authenticate, builds at once
/// (enforced by the hooks through `SLIPWAY_MAX_BUILDS`). ``shutdown()`` stops accepting, lets running sessions
/// finish for the grace period, then cancels them (SIGTERM to each `receive-pack shell`, which stops git and the
/// build without publishing anything).
public final class SSHServer: Sendable {
    public let options: ServerOptions
    public let hostKey: HostKey
    /// Whether ``hostKey`` was created by this start.
    public let hostKeyCreated: Bool
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    private let keys: AuthorizedKeyStore
    private let sessions = ActiveSessions()
    private let connections: ConnectionCount
    private let listener = Listener()

    /// Loads (or creates) the host key; nothing listens until ``start()``.
    public init(options: ServerOptions, logger: Logger) throws {
        var options = options
        if options.maxBuilds > 0 { options.passedEnvironment["SLIPWAY_MAX_BUILDS"] = "\(options.maxBuilds)" }
        self.options = options
        self.logger = logger
        (hostKey, hostKeyCreated) = try HostKey.loadOrCreate(at: options.resolvedHostKeyPath)
        keys = AuthorizedKeyStore(path: options.resolvedAuthorizedKeysPath)
        connections = ConnectionCount(limit: options.maxConnections)
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(2, System.coreCount))
    }

    /// The users whose every key is of a type this server cannot verify (they can push through OpenSSH only).
    public var usersWithoutUsableKeys: [String] {
        let entries = keys.entries()
        let users = Set(entries.map(\.user))
        return users.filter { user in !entries.contains { $0.user == user && $0.key.isSupportedByBuiltinServer } }
            .sorted()
    }

    /// Binds the listening socket; returns the address it listens on.
    @discardableResult
    public func start() throws -> SocketAddress {
        let bootstrap = Listener.bootstrap(group: group)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.initializeConnection(channel)
                }
            }
        return try listener.bind(bootstrap, host: options.host, port: options.port, purpose: "", flag: "--listen")
    }

    /// Stops accepting connections, waits up to the grace period for running sessions, then cancels the rest and
    /// waits for them to clean up. Returns the number of sessions that had to be cancelled.
    @discardableResult
    public func shutdown() -> Int {
        listener.drain(sessions, gracePeriod: options.gracePeriod, group: group, logger: logger, what: "session(s)")
    }

    // MARK: - Connections

    private func initializeConnection(_ channel: Channel) throws {
        let remote = channel.remoteAddress.map(Self.describe) ?? "unknown"
        guard connections.admit(channel, remote: remote, logger: logger) else { return }
        let state = ConnectionState(remote: remote)
        let authenticator = KeyAuthenticator(
            keys: keys, state: state, maxFailures: options.maxAuthFailures,
            onTooManyFailures: { channel.close(promise: nil) })
        var configuration = SSHServerConfiguration(hostKeys: [hostKey.nioKey], userAuthDelegate: authenticator)
        // Unknown key types are refused inside swift-nio-ssh without reaching the delegate; bound them too.
        configuration.maxAuthAttempts = options.maxAuthFailures * 4
        let handler = NIOSSHHandler(
            role: .server(configuration), allocator: channel.allocator,
            inboundChildChannelInitializer: { [self] child, type in
                self.initializeChildChannel(child, type: type, connection: state)
            })
        let grace = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(options.loginGraceTime.nanoseconds))) {
            if state.values.user == nil { channel.close(promise: nil) }
        }
        channel.closeFuture.whenComplete { [self] _ in
            grace.cancel()
            logConnection(state)
        }
        try channel.pipeline.syncOperations.addHandlers(
            IdleTimeout.handlers(options.idleTimeout, remote: remote, logger: logger) + [
                handler, ConnectionErrorHandler(logger: logger),
            ])
    }

    private func initializeChildChannel(_ child: Channel, type: SSHChannelType, connection: ConnectionState)
        -> EventLoopFuture<Void>
    {
        // Only sessions: port forwarding (direct-tcpip) and anything else is refused.
        guard case .session = type, let user = connection.values.user else {
            return child.eventLoop.makeFailedFuture(DoorError(.server, lines: "only session channels are served"))
        }
        // At most `maxSessions` at once per connection, as OpenSSH's MaxSessions: each runs a process, and
        // --max-connections counts connections, not what one connection multiplexes.
        var admitted = false
        connection.update { values in
            admitted = values.open < Self.maxSessions
            if admitted { values.open += 1 }
        }
        guard admitted else {
            logger.notice(
                "session refused: \(Self.maxSessions) are open on this connection",
                metadata: ["remote": "\(connection.remote)", "user": "\(user)"])
            return child.eventLoop.makeFailedFuture(
                DoorError(.server, lines: "at most \(Self.maxSessions) sessions at once per connection"))
        }
        child.closeFuture.whenComplete { _ in connection.update { $0.open -= 1 } }
        return child.eventLoop.makeCompletedFuture {
            try child.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            try child.pipeline.syncOperations.addHandler(
                SessionHandler(
                    connection: connection, user: user, options: options, sessions: sessions, logger: logger))
        }
    }

    /// Session channels one connection may have open at once (OpenSSH's `MaxSessions` default).
    public static let maxSessions = 10

    /// One line per connection: who, how it authenticated (a fingerprint, never key material), how long.
    private func logConnection(_ state: ConnectionState) {
        let values = state.values
        let duration = formatDuration(ContinuousClock.now - state.opened)
        if let user = values.user {
            logger.info(
                "connection closed",
                metadata: [
                    "remote": "\(state.remote)", "user": "\(user)", "key": "\(values.fingerprint ?? "")",
                    "sessions": "\(values.sessions)", "duration": "\(duration)",
                ])
        } else {
            logger.notice(
                "connection refused: \(state.refusalReason)",
                metadata: ["remote": "\(state.remote)", "failures": "\(values.failures)", "duration": "\(duration)"])
        }
    }

    private static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress else { return "\(address)" }
        return address.port.map { "\(ip):\($0)" } ?? ip
    }
}

/// Closes a connection whose SSH handler failed (a protocol error, a peer that sent garbage); the server and the
/// other connections go on.
private final class ConnectionErrorHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }
}

extension Duration {
    var nanoseconds: Double {
        Double(components.seconds) * 1e9 + Double(components.attoseconds) / 1e9
    }
}
