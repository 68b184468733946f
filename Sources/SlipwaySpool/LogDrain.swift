import Foundation

/// Where an app's log lines go besides its log file: a syslog server over TCP or TLS, or an HTTPS endpoint that takes
/// Logplex's batches (docs/drains.md). The door keeps an app's drains in its `dynos.json` (`drains:add`), with the
/// drain token Heroku gives each drain; the runner sends every line of the app's log to each of them.
public struct LogDrain: Codable, Equatable, Hashable, Sendable {
    /// The drain's address as it was added, normalized (``LogDrainURL/parse(_:)``).
    public var url: String
    /// Heroku's drain token, `d.<uuid>`: the drain's id, sent with each line (docs/drains.md).
    public var token: String

    public init(url: String, token: String) {
        self.url = url
        self.token = token
    }

    /// A new token, `d.` and a random UUID in lowercase.
    public static func newToken() -> String { "d." + UUID().uuidString.lowercased() }

    /// Whether `token` has the form of a drain token (`d.` and a UUID).
    public static func isToken(_ token: String) -> Bool {
        token.hasPrefix("d.") && token.utf8.count == 38 && UUID(uuidString: String(token.dropFirst(2))) != nil
    }
}

/// A drain's address, parsed: `syslog://host:port`, `syslog+tls://host:port` or `https://host[:port]/path…`.
public struct LogDrainURL: Equatable, Hashable, Sendable {
    /// How lines travel.
    public enum Transport: String, Sendable {
        /// RFC 5424 messages, octet-counted (RFC 6587), over TCP.
        case syslog
        /// The same over TLS, the server's certificate verified.
        case syslogTLS = "syslog+tls"
        /// Batches of the same messages, one POST each (Logplex's framing).
        case https
    }

    public var transport: Transport
    /// The host name or address (an IPv6 address without its brackets).
    public var host: String
    public var port: Int
    /// For HTTPS: the path and query; empty for syslog.
    public var path: String
    /// The address, normalized (scheme and host in lowercase, the port written out for syslog).
    public var normalized: String

    /// Why a drain's address was refused: one line, in the user's terms, saying what to give.
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The longest address accepted.
    public static let maximumLength = 2048

    /// Parses and checks `text`: a known scheme, a host, a port in 1–65535 (required for syslog, as Heroku's
    /// receivers each listen on their own), no user name or password for syslog, printable ASCII only.
    public static func parse(_ text: String) throws(Refusal) -> LogDrainURL {
        let schemes = "syslog+tls://host:port, syslog://host:port or https://host/path"
        guard text.utf8.count <= maximumLength, text.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw Refusal(
                description: "a drain's URL is printable ASCII without spaces, at most \(maximumLength) characters")
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            let transport = Transport(rawValue: scheme)
        else {
            throw Refusal(description: "'\(text)' is not a drain URL: give \(schemes)")
        }
        guard var host = components.host?.lowercased(), !host.isEmpty else {
            throw Refusal(description: "'\(text)' names no host: give \(schemes)")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard isHost(host) else {
            throw Refusal(description: "'\(host)' is not a host name or an IP address")
        }
        let port: Int
        switch (transport, components.port) {
        case (.https, nil): port = 443
        case (_, .some(let given)): port = given
        case (_, nil):
            throw Refusal(description: "'\(text)' names no port: give \(transport.rawValue)://\(host):<port>")
        }
        guard (1...65535).contains(port) else {
            throw Refusal(description: "port \(port) is out of range: give 1 to 65535")
        }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        switch transport {
        case .syslog, .syslogTLS:
            guard components.user == nil, components.password == nil, components.percentEncodedPath.isEmpty,
                components.query == nil, components.fragment == nil
            else {
                throw Refusal(
                    description: "a syslog drain is \(transport.rawValue)://host:port, without a path or a user")
            }
            return LogDrainURL(
                transport: transport, host: host, port: port, path: "",
                normalized: "\(transport.rawValue)://\(shownHost):\(port)")
        case .https:
            guard components.fragment == nil else {
                throw Refusal(description: "an HTTPS drain's URL has no #fragment")
            }
            var path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
            if let query = components.percentEncodedQuery { path += "?" + query }
            var authority = shownHost
            if let user = components.percentEncodedUser {
                authority = user + (components.percentEncodedPassword.map { ":" + $0 } ?? "") + "@" + authority
            }
            let portText = components.port.map { ":\($0)" } ?? ""
            return LogDrainURL(
                transport: .https, host: host, port: port, path: path,
                normalized: "https://\(authority)\(portText)\(path)")
        }
    }

    /// A DNS name (letters, digits, hyphens, dots) or an IPv4 or IPv6 address.
    static func isHost(_ host: String) -> Bool {
        guard host.utf8.count <= 253 else { return false }
        if host.contains(":") {
            return host.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || $0 == 0x3a }
        }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                && label.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d }
        }
    }
}
