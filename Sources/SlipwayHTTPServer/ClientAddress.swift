import Foundation
import SlipwayDoorRecords
import SlipwayReceive

#if canImport(Glibc)
    import Glibc
#endif

/// The proxies the HTTP door trusts to say who their client is (`receive-pack serve --trusted-proxy <address or
/// CIDR>`, repeatable): only a connection from one of them has its `Forwarded` or `X-Forwarded-For` header read;
/// from anyone else the header is ignored, so a client cannot name another address to escape the failed-login limit
/// or to put another address in the log.
public struct TrustedProxies: Equatable, Sendable {
    /// One address range: the address's bytes (4 for IPv4, 16 for IPv6) and how many leading bits must match.
    struct Range: Equatable, Sendable {
        var bytes: [UInt8]
        var prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            var left = prefix
            for index in bytes.indices where left > 0 {
                let bits = min(8, left)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if address[index] & mask != bytes[index] & mask { return false }
                left -= bits
            }
            return true
        }
    }

    var ranges: [Range] = []

    /// No proxy is trusted: every header is ignored.
    public init() {}

    /// Parses each of `specifications`, an address (`10.0.0.1`, `::1`) or a range (`10.0.0.0/8`, `fd00::/8`).
    public init(_ specifications: [String]) throws {
        for text in specifications {
            let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let bytes = Self.parse(parts[0]) else { throw Self.invalid(text) }
            var prefix = bytes.count * 8
            if parts.count == 2 {
                guard let bits = Int(parts[1]), (0...prefix).contains(bits), parts[1].allSatisfy(\.isNumber) else {
                    throw Self.invalid(text)
                }
                prefix = bits
            }
            ranges.append(Range(bytes: bytes, prefix: prefix))
        }
    }

    public var isEmpty: Bool { ranges.isEmpty }

    static func invalid(_ text: String) -> DoorError {
        DoorError(
            .configuration,
            lines: "--trusted-proxy takes an IP address or a CIDR range (10.0.0.1, 10.0.0.0/8, ::1, fd00::/8), "
                + "not '\(text)'")
    }

    /// Whether `address` (as the peer's address is written: `127.0.0.1`, `::1`, `::ffff:127.0.0.1`) is trusted.
    public func trusts(_ address: String) -> Bool {
        guard let bytes = Self.parse(address) else { return false }
        return ranges.contains { $0.contains(bytes) }
    }

    /// The client's address: `peer` (the connection's other end), unless `peer` is a trusted proxy, in which case the
    /// address its forwarding headers give: `X-Forwarded-For` and `Forwarded`'s `for=` (RFC 7239), each read from the
    /// right (the entries the proxies appended), skipping trusted proxies; the first other entry is the client. An
    /// entry that is not an address (`unknown`, a name, garbage) stops the walk, and the last proxy stands for the
    /// client.
    ///
    /// A proxy that sets one header passes the other on from the client untouched, so when both are present and
    /// disagree, one is forged and which is unknown: both addresses are returned (X-Forwarded-For's first, the one
    /// logged), and the failed-login limit counts the request against both, so a forged header escapes nothing.
    public func clients(peer: String, forwarded: [String], forwardedFor: [String]) -> [String] {
        guard trusts(peer) else { return [peer] }
        let fromForwardedFor = forwardedFor.isEmpty ? nil : walk(Self.elements(forwardedFor), peer: peer)
        let fromForwarded = forwarded.isEmpty ? nil : walk(Self.forwardedFor(forwarded), peer: peer)
        let found = [fromForwardedFor, fromForwarded].compactMap { $0 }
        guard let first = found.first else { return [peer] }
        return found.count == 2 && found[1] != first ? found : [first]
    }

    /// The first of ``clients(peer:forwarded:forwardedFor:)``: the address logged and passed on as `REMOTE_ADDR`.
    public func client(peer: String, forwarded: [String], forwardedFor: [String]) -> String {
        clients(peer: peer, forwarded: forwarded, forwardedFor: forwardedFor)[0]
    }

    /// The client a chain of addresses names, read from the right past trusted proxies.
    private func walk(_ chain: [String], peer: String) -> String {
        var client = peer
        for entry in chain.reversed() {
            guard let bytes = Self.parse(entry) else { break }
            client = Self.canonical(bytes)
            if !ranges.contains(where: { $0.contains(bytes) }) { break }
        }
        return client
    }

    /// The `for=` values of `Forwarded` header lines, in order.
    static func forwardedFor(_ lines: [String]) -> [String] {
        elements(lines).compactMap { element in
            element.split(separator: ";").lazy.compactMap { pair -> String? in
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, parts[0].lowercased() == "for" else { return nil }
                return unquoted(parts[1])
            }.first
        }
    }

    /// The comma-separated entries of every line of a header, trimmed.
    static func elements(_ lines: [String]) -> [String] {
        lines.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// A `for=` value without its quotes, brackets and port (`"[2001:db8::1]:4711"`, `192.0.2.60:8080`).
    static func unquoted(_ value: String) -> String {
        var text = value
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()) }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return String(text[text.index(after: text.startIndex)..<close])
        }
        if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            return String(text[..<colon])
        }
        return text
    }

    /// The bytes of an IPv4 or IPv6 address (an IPv4-mapped IPv6 address as IPv4), nil if it is not one.
    static func parse(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.count < 64 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes.prefix(10).allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return Array(bytes.suffix(4))
        }
        return bytes
    }

    /// The address written back as text (so the log and the limiter see one spelling of it).
    static func canonical(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        guard written != nil else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
