import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Where a webhook may be sent: not to this server or the networks behind it (loopback, private, link-local, carrier
/// NAT, multicast and reserved addresses), so that a tenant cannot make the door POST to the runner's router admin
/// API, a database or a cloud metadata service. Checked when a webhook is added (a literal address or `localhost`)
/// and before every attempt (every address the name resolves to). The operator allows such receivers with
/// `SLIPWAY_WEBHOOK_ALLOW_PRIVATE=1`.
public enum ReceiverAddress {
    public static let allowPrivateVariable = "SLIPWAY_WEBHOOK_ALLOW_PRIVATE"

    /// Whether the operator allows private receivers.
    public static func privateAllowed(_ environment: [String: String]) -> Bool {
        environment[allowPrivateVariable] == "1"
    }

    /// Whether `host` (a name, or an address with or without IPv6 brackets) is a private one by its spelling alone.
    public static func isPrivateLiteral(_ host: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]."))
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        return parse(host).map(isPrivate) ?? false
    }

    /// The private addresses `host` resolves to (empty when none, or when it does not resolve: the attempt then
    /// fails on its own).
    public static func privateAddresses(of host: String) -> [String] {
        let host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(first) }
        var found: [String] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            if let address = entry.pointee.ai_addr, let bytes = Self.bytes(address, family: entry.pointee.ai_family),
                isPrivate(bytes)
            {
                found.append(Self.text(bytes))
            }
            next = entry.pointee.ai_next
        }
        return found
    }

    /// 4 or 16 bytes of a literal address.
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func bytes(_ address: UnsafeMutablePointer<sockaddr>, family: Int32) -> [UInt8]? {
        switch family {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) }
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
            }
        default: return nil
        }
    }

    static func text(_ bytes: [UInt8]) -> String {
        bytes.count == 4
            ? bytes.map(String.init).joined(separator: ".")
            : stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
                .joined(separator: ":")
    }

    /// Whether an address (4 or 16 bytes) is not a public unicast one.
    static func isPrivate(_ bytes: [UInt8]) -> Bool {
        if bytes.count == 4 {
            let (a, b) = (bytes[0], bytes[1])
            return a == 0 || a == 10 || a == 127 || a >= 224 || (a == 100 && (64...127).contains(b))
                || (a == 169 && b == 254) || (a == 172 && (16...31).contains(b)) || (a == 192 && b == 168)
        }
        guard bytes.count == 16 else { return true }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return isPrivate(Array(bytes[12..<16]))  // IPv4-mapped
        }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) { return true }  // :: and ::1
        return bytes[0] & 0xfe == 0xfc || (bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80) || bytes[0] == 0xff
    }
}
