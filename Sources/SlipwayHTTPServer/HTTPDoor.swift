import Foundation
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
public import SlipwayDoorKit
import SlipwayDoorRecords
import SlipwayReceive

#if canImport(Glibc)
    import Glibc
#endif

/// Slipway's HTTP door (`receive-pack serve --http`): git's smart HTTP protocol for push and clone, authenticated as
/// Heroku's (HTTP Basic, any user name, an API token as the password). Each authenticated git request runs
/// `receive-pack http-backend --user <user>`, which applies the same access checks, app creation, lock and hooks
/// as the SSH door and runs git's own `git http-backend`; this server only authenticates, limits failed attempts per
/// client address and per credential (never refusing a correct one), and streams the request body into that process and its output back, live.
public final class HTTPDoor: Sendable {
    public let options: ServerOptions
    private let logger: Logger
    private let group: MultiThreadedEventLoopGroup
    let sessions = ActiveSessions()
    let tokens: TokenStore
    let limiter = NIOLockedValueBox(LoginLimiter())
    /// The proxies whose `Forwarded` and `X-Forwarded-For` headers name the client (`--trusted-proxy`).
    let proxies: TrustedProxies
    private let listener = Listener()
    private let connections: ConnectionCount
    /// HTTPS when set (swift-nio-ssl); plain HTTP, for a router that terminates TLS, when nil.
    private let tls: NIOSSLContext?

    /// Nothing listens until ``start()``; `options.host` and `options.port` are the HTTP door's address. With
    /// `certificate` and `key` (PEM files) it speaks HTTPS.
    public init(options: ServerOptions, logger: Logger, certificate: String? = nil, key: String? = nil) throws {
        if let certificate, let key {
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificate).map {
                    NIOSSLCertificateSource.certificate($0)
                }
                let configuration = TLSConfiguration.makeServerConfiguration(
                    certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
                tls = try NIOSSLContext(configuration: configuration)
            } catch {
                throw DoorError(
                    .configuration,
                    lines: "cannot use --tls-cert \(certificate) and --tls-key \(key): \(error); give PEM files")
            }
        } else {
            tls = nil
        }
        var options = options
        if options.maxBuilds > 0 { options.passedEnvironment["SLIPWAY_MAX_BUILDS"] = "\(options.maxBuilds)" }
        self.options = options
        self.logger = logger
        tokens = TokenStore(root: options.root)
        proxies = try TrustedProxies(options.trustedProxies)
        connections = ConnectionCount(limit: options.maxConnections)
        group = MultiThreadedEventLoopGroup(numberOfThreads: max(2, System.coreCount))
    }

    /// Binds the listening socket; returns the address it listens on.
    @discardableResult
    public func start() throws -> SocketAddress {
        let bootstrap = Listener.bootstrap(group: group)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: false)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    guard self.admit(channel) else { return }
                    try channel.pipeline.syncOperations.addHandlers(
                        IdleTimeout.handlers(
                            self.options.idleTimeout, remote: channel.remoteAddress?.ipAddress ?? "unknown",
                            logger: self.logger))
                    if let tls = self.tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(GitHTTPHandler(door: self, logger: logger))
                }
            }
        return try listener.bind(
            bootstrap, host: options.host, port: options.port, purpose: " for HTTP", flag: "--http")
    }

    /// Counts the connection against `--max-connections` (closing it when the door is full); the handler gives it
    /// `--login-grace-time` to send its request, as the SSH server gives a client to authenticate.
    private func admit(_ channel: Channel) -> Bool {
        connections.admit(channel, remote: channel.remoteAddress?.ipAddress ?? "unknown", logger: logger)
    }

    /// Stops accepting, waits up to the grace period for running requests, then cancels the rest (SIGTERM to each
    /// `receive-pack http-backend`, which stops git and the build). Returns the number cancelled.
    @discardableResult
    public func shutdown() -> Int {
        listener.drain(sessions, gracePeriod: options.gracePeriod, group: group, logger: logger, what: "request(s)")
    }

    /// What a request's `Authorization: Basic` header (any user name, a token as the password) proves.
    enum Login {
        /// The user the token authenticates as, and the token's id.
        case valid(user: String, tokenID: String)
        /// A wrong, revoked or malformed credential: the secret presented (to count failures of the same one).
        case wrong(secret: String)
    }

    func authenticate(_ header: String) -> Login {
        guard header.count < 1024, header.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return .wrong(secret: String(header.prefix(1024))) }
        let password = String(text[text.index(after: colon)...])
        guard let token = try? tokens.verify(password) else { return .wrong(secret: password) }
        return .valid(user: token.user, tokenID: token.id)
    }
}
