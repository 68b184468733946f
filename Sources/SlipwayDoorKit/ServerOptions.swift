import Foundation
public import SlipwayDoorRecords
import SlipwayReceive
import SlipwaySpool

/// How the doors run (the built-in SSH server and the HTTP door); `receive-pack serve` fills it from its flags. Every limit has a default that suits
/// a small team on one machine.
public struct ServerOptions: Sendable {
    /// The server's folder (the same root as every other receive-pack command).
    public var root: SlipwayRoot
    /// The address to listen on.
    public var host: String = "127.0.0.1"
    /// The port to listen on; 0 picks a free one (tests).
    public var port: Int = 2222
    /// The host key file; default `<root>/ssh_host_ed25519_key`.
    public var hostKeyPath: String?
    /// The authorized_keys file; default `<root>/authorized_keys`.
    public var authorizedKeysPath: String?
    /// The `receive-pack` executable each session runs as `receive-pack shell --user <user>`.
    public var receivePack: String
    /// Connections open at once; more are closed at once (with a log line).
    public var maxConnections: Int = 64
    /// Failed authentication attempts allowed per connection before it is closed (as OpenSSH's `MaxAuthTries`).
    public var maxAuthFailures: Int = 6
    /// Time a connection may take to authenticate before it is closed (as OpenSSH's `LoginGraceTime`).
    public var loginGraceTime: Duration = .seconds(30)
    /// Builds running at once across all apps; later pushes wait with a message. 0 means no limit.
    public var maxBuilds: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)
    /// A connection on which nothing moves either way for this long is closed, and its push cancelled (a client
    /// that was killed, suspended or cut off); see ``IdleTimeout``.
    public var idleTimeout: Duration = .seconds(300)
    /// On SIGTERM or SIGINT, how long running sessions may go on before they are cancelled.
    public var gracePeriod: Duration = .seconds(30)
    /// The HTTP door's trusted proxies (addresses or CIDR ranges): only from these are `Forwarded` and
    /// `X-Forwarded-For` read, to find the client's address.
    public var trustedProxies: [String] = []
    /// Environment variables passed on to each session (and from there to git, the hooks and the build), besides
    /// `PATH`, `HOME` and `LANG`.
    public var passedEnvironment: [String: String] = [:]

    public init(root: SlipwayRoot, receivePack: String) {
        self.root = root
        self.receivePack = receivePack
    }

    public var resolvedHostKeyPath: String { hostKeyPath ?? "\(root.path)/ssh_host_ed25519_key" }
    public var resolvedAuthorizedKeysPath: String { authorizedKeysPath ?? root.authorizedKeys }
}

extension ServerOptions {
    /// Parses `--listen`: `host:port`, `[ipv6]:port`, or `:port` (all addresses).
    public static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        let problem = DoorError(
            .configuration,
            lines: "--listen takes host:port (for example 127.0.0.1:2222, 0.0.0.0:22 or [::1]:2222), not '\(text)'")
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw problem
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { throw problem }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        if host.isEmpty { host = "0.0.0.0" }
        guard let port = Int(portText), (0...65535).contains(port) else { throw problem }
        return (String(host), port)
    }
}
