import Crypto
import Foundation
public import SlipwaySpool
import SlipwaySystem

/// What `certs:add` is given and what `certs` prints: a PEM bundle split into its chain and key, and the runner's
/// report of an app's certificates as lines.
public enum CertificateBundle {
    /// The largest bundle `certs:add` reads (a chain and its key are a few KB).
    public static let maximumBytes = 64 * 1024

    /// Reads a bundle from the descriptor `fd` (the session's stdin), at most ``maximumBytes``; nil when it is
    /// larger or cannot be read.
    public static func read(fd: Int32) -> String? {
        let input = FileHandle(fileDescriptor: fd, closeOnDealloc: false)
        guard let data = (try? input.read(upToCount: maximumBytes + 1)) ?? nil, data.count <= maximumBytes else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The `CERTIFICATE` blocks of a PEM bundle, in order, and its private key block.
    public static func split(_ text: String) -> (chain: String, key: String) {
        var chain = ""
        var key = ""
        var block: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("-----BEGIN ") { block = [] }
            block.append(trimmed)
            guard trimmed.hasPrefix("-----END ") else { continue }
            let pem = block.joined(separator: "\n") + "\n"
            if trimmed.contains("PRIVATE KEY") {
                key = pem
            } else if trimmed == "-----END CERTIFICATE-----" {
                chain += pem
            }
            block = []
        }
        return (chain, key)
    }

    /// `certs`' lines: each host name (aligned) with its state, issuer, expiry and failure reason, the text the
    /// runner reported made printable.
    public static func listing(_ certificates: [RunnerState.Certificate]) -> [String] {
        let width = max(certificates.map(\.host.count).max() ?? 0, 1)
        return certificates.map { certificate in
            var line = "\(certificate.host.padding(toLength: width, withPad: " ", startingAt: 0))  \(certificate.state)"
            if let issuer = certificate.issuer { line += "  \(TerminalText.printable(issuer, limit: 200))" }
            if let expires = certificate.expires { line += "  expires \(expires)" }
            if let reason = certificate.reason { line += "  \(TerminalText.printable(reason, limit: 400))" }
            return line
        }
    }
}

extension CertificateBundle {
    /// Why `certs:add` refuses a bundle: one line in the user's terms.
    public struct Refusal: Error, Sendable {
        public var message: String
    }

    /// An app's own certificate, checked and kept.
    public struct Installed: Sendable {
        /// The SHA-256 (hex) of the chain and key, for ``DynoSettings/certificate``.
        public var fingerprint: String
        /// One line saying what was installed.
        public var summary: String
    }

    /// Checks the `chain` and `key` of `app` against its `domains` (``CertificateInfo/check(certificate:key:now:)``,
    /// and it must cover at least one) and keeps them in the app's `tls/` folder of `layout` (mode 0600: temporary
    /// name, fsync, rename).
    public static func install(
        chain: String, key: String, app: String, domains: [String], layout: RootLayout
    ) throws -> Installed {
        let info: CertificateInfo
        switch CertificateInfo.check(certificate: chain, key: key) {
        case .success(let checked): info = checked
        case .failure(let problem): throw Refusal(message: problem.description)
        }
        let covered = domains.filter(info.covers)
        guard !covered.isEmpty else {
            let names = info.names.prefix(5).map { TerminalText.printable($0) }.joined(separator: ", ")
            throw Refusal(
                message: "the certificate covers none of \(app)'s domains (it names \(names)): add the domain first "
                    + "(domains:add), or give its certificate")
        }
        try FileSystem.makeFolders("\(layout.buildApps)/\(app)/tls", mode: 0o700)
        try DurableFile.replace(layout.appCertificate(app), with: Data(chain.utf8), mode: 0o600)
        try DurableFile.replace(layout.appCertificateKey(app), with: Data(key.utf8), mode: 0o600)
        let fingerprint = SHA256.hash(data: Data((chain + key).utf8)).map { String(format: "%02x", $0) }.joined()
        return Installed(
            fingerprint: fingerprint,
            summary: "Adding the certificate of \(covered.joined(separator: ", ")) to \(app)... done (issued by "
                + "\(TerminalText.printable(info.issuer)), expires \(CertificateInfo.day(info.notAfter)); the router "
                + "serves it within seconds)")
    }

    /// The operator's two files (`receive-pack certs:add <app> <cert> <key>`), each at most ``maximumBytes``.
    public static func files(_ certificate: String, _ key: String) throws -> (chain: String, key: String) {
        let texts = [certificate, key].map { path -> String? in
            guard let data = (try? FileSystem.read(path)).flatMap({ $0 }), data.count <= maximumBytes else {
                return nil
            }
            return String(decoding: data, as: UTF8.self)
        }
        guard let chain = texts[0], let key = texts[1] else {
            throw Refusal(message: "cannot read the certificate or the key file")
        }
        return (chain, key)
    }
}

extension CertificateBundle {
    /// The chain and key `certs:add <app> [<cert> <key>]` was given (its `arguments`): the operator's two files on
    /// the server, else one PEM bundle (the chain, then the key) on `stdin`; anyone else naming files is refused.
    public static func given(
        _ arguments: [String], byOperator: Bool, stdin: Int32
    ) throws -> (chain: String, key: String) {
        let pipe = "cat cert.pem key.pem | ssh <server> certs:add \(arguments.first ?? "<app>")"
        guard arguments.count > 1 else {
            guard let text = read(fd: stdin) else {
                throw Refusal(message: "give the certificate chain and its key as PEM on stdin: \(pipe)")
            }
            return split(text)
        }
        guard byOperator, arguments.count == 3 else {
            throw Refusal(message: "certs:add reads the certificate and key from stdin: \(pipe)")
        }
        return try files(arguments[1], arguments[2])
    }

    /// `certs`' output for an app: its names with their certificates as the runner reported them (nil: the router
    /// serves no HTTPS), then whether automatic certificates are on and whether it has its own (its `settings`).
    public static func certsOutput(
        app: String, _ certificates: [RunnerState.Certificate]?, _ settings: DynoSettings
    ) -> [String] {
        let automatic = settings.automaticCertificates ?? true
        let own = settings.certificate != nil
        guard let certificates else {
            return [
                "=== \(app) certificates",
                "No HTTPS: the router serves plain HTTP only (the operator starts it with --router-tls)",
            ]
        }
        let ownLine = own ? "; its own certificate is installed (certs:add)" : ""
        return ["=== \(app) certificates"] + listing(certificates)
            + ["Automatic certificates: \(automatic ? "on" : "off (certs:auto turns them on)")\(ownLine)"]
    }
}

extension CertificateBundle {
    /// Removes the app's own certificate and key (`certs:remove`).
    public static func remove(app: String, layout: RootLayout) {
        unlink(layout.appCertificateKey(app))
        unlink(layout.appCertificate(app))
    }
}
