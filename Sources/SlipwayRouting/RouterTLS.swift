import SlipwaySpool

/// How the router answers over HTTPS (`slugrunner watch --router-tls`): where it listens, where certificates come
/// from, and which host names get one. A pure value; ``CaddyConfig`` turns it into Caddy's `tls` app and a second
/// server.
///
/// Certificates come from two places:
/// - an ACME CA (``acme``, Let's Encrypt unless told otherwise), for each app's custom domains and, when no wildcard
///   is given, for each app's own `<app>.<base domain>`: Caddy orders, renews and keeps them in its storage
///   (``storage``, under the runner's root, so a restart places no new order);
/// - certificates the operator installs: the wildcard of the base domain (``wildcard``: a wildcard needs DNS-01,
///   which the router does not do) and an app's own (`certs:add`, ``RouteTable/App/certificate``).
public struct RouterTLS: Equatable, Sendable {
    /// Where the router takes HTTPS requests (`127.0.0.1:8443`, `:443`).
    public var listen: String
    /// The ACME CA that issues certificates; nil: only the operator's certificates.
    public var acme: ACMEIssuer?
    /// The certificate and key of `*.<base domain>`, which the apps' own names then use.
    public var wildcard: CertificateFiles?

    public init(listen: String, acme: ACMEIssuer? = ACMEIssuer(), wildcard: CertificateFiles? = nil) {
        self.listen = listen
        self.acme = acme
        self.wildcard = wildcard
    }

    /// The port part of ``listen``.
    public var port: String { CaddyConfig.port(of: listen, default: "443") }

    /// An ACME certificate authority.
    public struct ACMEIssuer: Equatable, Sendable {
        /// Let's Encrypt's production directory.
        public static let letsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

        /// The CA's directory URL (`--acme-ca`).
        public var directory: String
        /// The account's contact address (`--acme-email`): the CA writes there before a certificate expires.
        public var email: String?
        /// PEM files of the roots the CA's own HTTPS is checked against, besides the system's (a private CA, or a
        /// test's); paths as Caddy reads them.
        public var trustedRoots: [String]

        public init(directory: String = letsEncrypt, email: String? = nil, trustedRoots: [String] = []) {
            self.directory = directory
            self.email = email
            self.trustedRoots = trustedRoots
        }
    }

    /// A certificate (with its chain) and its private key, PEM files as Caddy reads them.
    public struct CertificateFiles: Equatable, Sendable {
        public var certificate: String
        public var key: String

        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// Whether a CA can issue a certificate for `host` by ACME's HTTP or TLS-ALPN challenge: an exact public-looking
    /// name, not a wildcard (which needs DNS-01), not `localhost` or a name under it, not an IP address.
    public static func isIssuable(_ host: String) -> Bool {
        guard !DomainName.isWildcard(host), host.contains("."), host != "localhost", !host.hasSuffix(".localhost")
        else { return false }
        return !host.split(separator: ".").allSatisfy { $0.allSatisfy(\.isNumber) }
    }

    /// Whether the wildcard `*.<base>` covers `host` (one label under `base`).
    public static func wildcardCovers(base: String, _ host: String) -> Bool {
        host.hasSuffix(".\(base)") && !host.dropLast(base.count + 1).contains(".")
    }
}
