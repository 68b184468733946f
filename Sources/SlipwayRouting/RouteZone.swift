import Foundation
import SlipwaySpool

/// Where the router finds each app's web dynos without being reconfigured: a DNS zone the runner answers from
/// (``RouterDNS``), which Caddy's SRV upstreams look up at most every ``refresh``.
///
/// A Caddy configuration change is a reload, and a reload closes every idle kept-alive connection of every client: a
/// request sent on one at that moment gets no answer. So deploys change this zone, and Caddy's configuration changes
/// only when apps, host names or whether an app has web dynos at all change.
///
/// - `_web._tcp.<app>.slipway.internal` SRV: one record per web dyno, its port and a target name of its own;
/// - `<n>.h<address in hex>-<port>.web.<app>.slipway.internal` A: the dyno's address. The name carries the dyno's
///   number, which the access log's line turns back into `web.<n>`, and its address and port, so that a name always
///   means one dyno.
public struct RouteZone: Equatable, Sendable {
    /// The zone's own domain, under `.internal` (reserved for private use: never a public name).
    public static let domain = "slipway.internal"
    /// How often Caddy looks an app's dynos up again: the longest a removed dyno may still be sent a request.
    public static let refresh: Duration = .milliseconds(10)

    /// A web dyno as an SRV record gives it.
    public struct Target: Equatable, Sendable {
        public var name: String
        public var port: UInt16
    }

    /// SRV records by owner name (lower case, without the final dot).
    public private(set) var services: [String: [Target]] = [:]
    /// IPv4 addresses by target name.
    public private(set) var addresses: [String: [UInt8]] = [:]

    public init() {}

    /// The zone of `table`'s apps; an upstream whose host is not an IPv4 address is left out.
    public init(_ table: RouteTable) {
        for app in table.sortedApps {
            var targets: [Target] = []
            for upstream in app.upstreams {
                guard let address = Self.ipv4(upstream.host) else { continue }
                let number = DynoName(upstream.dyno)?.number ?? 0
                let hex = address.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
                let name = "\(number).h\(hex)-\(upstream.port).web.\(app.name).\(Self.domain)"
                guard addresses[name] == nil else { continue }
                addresses[name] = address
                targets.append(Target(name: name, port: upstream.port))
            }
            services[Self.serviceName(app: app.name)] = targets
        }
    }

    /// Whether a target of this zone is not in `other` (a dyno that left).
    public func hasTargets(missingFrom other: RouteZone) -> Bool {
        addresses.keys.contains { other.addresses[$0] == nil }
    }

    /// `_web._tcp.<app>.slipway.internal`.
    public static func serviceName(app: String) -> String { "_web._tcp.\(app).\(domain)" }

    /// What Caddy's SRV upstreams are configured with: the name under `_web._tcp`.
    public static func lookupName(app: String) -> String { "\(app).\(domain)" }

    /// The regular expression that turns `{http.reverse_proxy.upstream.hostport}` into `$1` (the dyno's number)
    /// for an app's access log lines.
    public static func hostPortPattern(app: String) -> String {
        let escaped = "\(app).\(domain)".replacingOccurrences(of: ".", with: "\\.")
        return "^([0-9]+)\\.h[0-9a-f]+-[0-9]+\\.web\\.\(escaped)\\.?:[0-9]+$"
    }

    static func ipv4(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map { UInt8($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 != nil }) else { return nil }
        return parts.compactMap { $0 }
    }
}
