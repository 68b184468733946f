public import Foundation
import NIOSSL

/// What a certificate says, as `certs` shows it: the names it covers, who issued it, until when it is valid.
/// Parsed with swift-nio-ssl (BoringSSL), from the PEM chain Caddy keeps or an operator installs (the first
/// certificate is the server's).
public struct CertificateInfo: Equatable, Sendable {
    /// Its DNS names (subject alternative names), lowercase.
    public var names: [String]
    /// The issuer's common name (`R11`, `Pebble Intermediate CA 4a9534`), else its organization.
    public var issuer: String
    public var notBefore: Date
    public var notAfter: Date

    /// The first certificate of the PEM text `pem`; nil when there is none or it cannot be parsed.
    public init?(pem: String) {
        guard let certificate = Self.chain(pem)?.first else { return nil }
        self.init(certificate)
    }

    init(_ certificate: NIOSSLCertificate) {
        var names: [String] = []
        for name in certificate._subjectAlternativeNames() where name.nameType == .dnsName {
            names.append(String(decoding: Array(name.contents), as: UTF8.self).lowercased())
        }
        self.names = names
        let issuerNames = certificate.issuerName
        issuer =
            (issuerNames.first { $0.type == .commonName } ?? issuerNames.first { $0.type == .organization })?.value
            ?? "unknown"
        notBefore = Date(timeIntervalSince1970: TimeInterval(certificate.notValidBefore))
        notAfter = Date(timeIntervalSince1970: TimeInterval(certificate.notValidAfter))
    }

    /// Whether the certificate covers `host`: one of its names, or a wildcard one label above it.
    public func covers(_ host: String) -> Bool {
        names.contains { name in
            if name == host { return true }
            guard name.hasPrefix("*.") else { return false }
            let parent = name.dropFirst(2)
            return host.hasSuffix(".\(parent)") && !host.dropLast(parent.count + 1).contains(".")
        }
    }

    /// Whether it is valid at `date`.
    public func isValid(at date: Date = Date()) -> Bool { notBefore <= date && date < notAfter }

    /// The certificates of a PEM chain; nil when it holds none or one cannot be parsed.
    static func chain(_ pem: String) -> [NIOSSLCertificate]? {
        guard pem.contains("-----BEGIN CERTIFICATE-----"),
            let chain = try? NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)), !chain.isEmpty
        else { return nil }
        return chain
    }

    /// Checks an operator's certificate chain and private key (`certs:add`): both parse, the key is the
    /// certificate's (BoringSSL refuses a TLS context whose key does not match its certificate), and the certificate
    /// is valid now. Returns what it says, or the problem in the operator's terms.
    public static func check(
        certificate pem: String, key keyPEM: String, now: Date = Date()
    ) -> Result<CertificateInfo, CertificateProblem> {
        guard let chain = chain(pem), let leaf = chain.first else { return .failure(.notACertificate) }
        guard keyPEM.contains("PRIVATE KEY-----"),
            let key = try? NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        else { return .failure(.notAKey) }
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        guard (try? NIOSSLContext(configuration: configuration)) != nil else { return .failure(.keyDoesNotMatch) }
        let info = CertificateInfo(leaf)
        guard info.notAfter > now else { return .failure(.expired(info.notAfter)) }
        guard !info.names.isEmpty else { return .failure(.noNames) }
        return .success(info)
    }
}

/// Why an operator's certificate is refused.
public enum CertificateProblem: Error, Equatable, Sendable {
    case notACertificate
    case notAKey
    case keyDoesNotMatch
    case expired(Date)
    case noNames

    /// One line, in the operator's terms.
    public var description: String {
        switch self {
        case .notACertificate: "the certificate is not a PEM certificate (-----BEGIN CERTIFICATE-----)"
        case .notAKey: "the key is not a PEM private key (RSA, EC or Ed25519, unencrypted)"
        case .keyDoesNotMatch: "the key is not the certificate's: give the key the certificate was made for"
        case .expired(let date): "the certificate expired on \(CertificateInfo.day(date)): renew it"
        case .noNames: "the certificate names no host (no DNS subject alternative name)"
        }
    }
}

extension CertificateInfo {
    /// `2027-03-07`, in UTC.
    public static func day(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        return formatter.string(from: date)
    }
}
