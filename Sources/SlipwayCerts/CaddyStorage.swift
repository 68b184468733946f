public import Foundation
import SlipwaySystem

/// The certificates Caddy keeps in its storage (the `file_system` module, under the runner's root): read-only, to
/// tell which host names have one (the router redirects those to HTTPS) and what `certs` shows.
///
/// Caddy's layout: `<root>/certificates/<issuer key>/<name>/<name>.crt` (a wildcard's `<name>` is
/// `wildcard_.example.com`), one folder per CA it got certificates from (`acme-v02.api.letsencrypt.org-directory`).
public struct CaddyStorage: Sendable {
    /// The storage's root folder.
    public let root: String

    public init(root: String) { self.root = root }

    /// A certificate Caddy obtained: what it says, and the CA's folder name in the storage.
    public struct Stored: Equatable, Sendable {
        public var info: CertificateInfo
        public var issuerKey: String
    }

    /// The certificate Caddy holds for `host`, the one valid longest among its CAs' (an expired one too, when it is
    /// all there is); nil when there is none.
    public func certificate(for host: String) -> Stored? {
        let folder = "\(root)/certificates"
        let name = host.hasPrefix("*.") ? "wildcard_\(host.dropFirst())" : host
        guard !name.contains("/"), name != "..", let issuers = try? FileSystem.names(in: folder) else { return nil }
        var best: Stored?
        for issuer in issuers.sorted() {
            let path = "\(folder)/\(issuer)/\(name)/\(name).crt"
            guard let data = (try? FileSystem.read(path)).flatMap({ $0 }),
                let info = CertificateInfo(pem: String(decoding: data, as: UTF8.self))
            else { continue }
            if best.map({ info.notAfter > $0.info.notAfter }) ?? true { best = Stored(info: info, issuerKey: issuer) }
        }
        return best
    }

    /// Whether Caddy holds a certificate for `host` that is valid now.
    public func hasValidCertificate(for host: String, at date: Date = Date()) -> Bool {
        certificate(for: host)?.info.isValid(at: date) ?? false
    }
}
