import Foundation
public import SlipwayCerts
public import SlipwaySpool

/// Where each host name of the router's apps stands with its certificate: which have one now (so that the router
/// redirects them to HTTPS) and what `certs` shows of each (``reports``). Kept by the runner's router between
/// passes: what Caddy's storage says of a name is read again at most every ``recheck``.
public struct HostCertificates: Sendable {
    /// Caddy's storage; nil for a Caddy the runner does not own.
    public var storage: CaddyStorage?
    /// How long what the storage says of a name is trusted.
    public var recheck: Duration
    /// The apps' own certificates handed to Caddy: the fingerprint of the files, and what they say.
    public var appCertificates: [String: (fingerprint: String, info: CertificateInfo)] = [:]
    /// What the operator's wildcard certificate says.
    public var wildcard: CertificateInfo?
    /// Each app's names with their certificates, as of the last ``secureHosts(_:tls:failures:)``.
    public private(set) var reports: [String: [RunnerState.Certificate]] = [:]
    private var checks: [String: (at: ContinuousClock.Instant, stored: CaddyStorage.Stored?)] = [:]

    public init(storage: CaddyStorage?, recheck: Duration = .seconds(2)) {
        self.storage = storage
        self.recheck = recheck
    }

    /// The host names of `table` that have a certificate now (``RouteTable/secureHosts``): those Caddy obtained
    /// (valid, in its storage), the apps' own names under the wildcard, and the names an app's own certificate
    /// covers. `failures` gives the reasons of refused orders (read only when some name is ordered). Sets
    /// ``reports``.
    public mutating func secureHosts(
        _ table: RouteTable, tls: RouterTLS?, failures: () -> [String: CertificateFailures.Failure]
    ) -> Set<String> {
        guard let tls else {
            reports = [:]
            return []
        }
        let automated = Set(CaddyConfig.automatedHosts(table, tls))
        let failed = automated.isEmpty ? [:] : failures()
        let now = ContinuousClock.now
        var secure: Set<String> = []
        var reports: [String: [RunnerState.Certificate]] = [:]
        for app in table.sortedApps {
            var report: [RunnerState.Certificate] = []
            let own = app.certificate != nil ? appCertificates[app.name]?.info : nil
            for (index, host) in app.hosts.enumerated() {
                if let own, index > 0, own.covers(host) {
                    report.append(Self.installed(host, own))
                } else if index == 0, tls.wildcard != nil, let wildcard, wildcard.covers(host) {
                    report.append(Self.installed(host, wildcard))
                } else if automated.contains(host) {
                    if let stored = stored(host, now: now), stored.info.isValid() {
                        report.append(
                            .init(
                                host: host, state: "issued", issuer: stored.info.issuer,
                                expires: RunnerState.isoTime(stored.info.notAfter)))
                    } else if let failure = failed[host] {
                        report.append(.init(host: host, state: "failing", reason: failure.reason))
                    } else {
                        report.append(.init(host: host, state: "pending"))
                    }
                } else {
                    report.append(.init(host: host, state: "none"))
                }
                if ["issued", "installed"].contains(report.last?.state) { secure.insert(host) }
            }
            reports[app.name] = report
        }
        checks = checks.filter { automated.contains($0.key) }
        self.reports = reports
        return secure
    }

    private static func installed(_ host: String, _ info: CertificateInfo) -> RunnerState.Certificate {
        .init(
            host: host, state: info.isValid() ? "installed" : "expired", issuer: info.issuer,
            expires: RunnerState.isoTime(info.notAfter))
    }

    /// What the storage holds for `host`, read again at most every ``recheck``.
    private mutating func stored(_ host: String, now: ContinuousClock.Instant) -> CaddyStorage.Stored? {
        if let check = checks[host], now - check.at < recheck { return check.stored }
        let stored = storage?.certificate(for: host)
        checks[host] = (now, stored)
        return stored
    }
}
