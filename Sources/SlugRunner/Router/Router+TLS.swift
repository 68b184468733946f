import Foundation
public import SlipwayCerts
public import SlipwayRouting
public import SlipwayRunnerKit
public import SlipwaySpool

/// The router's HTTPS: the operator's files handed to Caddy, and what Caddy's storage holds.
extension Router {
    /// Caddy's storage (certificates, ACME accounts, locks): `caddy/data/caddy`, under the runner's root, so that a
    /// restart of the runner or of Caddy reuses every certificate and places no new order.
    var storageFolder: String { "\(caddyFolder)/data/caddy" }

    /// What Caddy's storage holds (the runner reads it; an external Caddy keeps its own elsewhere).
    public var storage: CaddyStorage? { certificates.storage }

    /// Where the owned Caddy reads a copy of the operator's file `name` (its own folder: the operator's may be closed
    /// to Caddy's user).
    private func copyPath(_ name: String, view: Bool) -> String {
        "\(view ? Self.caddyView : caddyFolder)/tls-\(name)"
    }

    /// ``RouterSettings/tls`` with the files as Caddy names them: an owned Caddy reads the copies
    /// ``installTLSFiles()`` made; an external one the operator's own.
    var caddyTLS: RouterTLS? {
        guard var tls = settings.tls, settings.adminAddress == nil else { return settings.tls }
        if tls.wildcard != nil {
            tls.wildcard = .init(
                certificate: copyPath("wildcard.crt", view: true), key: copyPath("wildcard.key", view: true))
        }
        if let acme = tls.acme, !acme.trustedRoots.isEmpty {
            tls.acme?.trustedRoots = [copyPath("acme-roots.pem", view: true)]
        }
        return tls
    }

    /// Copies the operator's wildcard certificate and key and the ACME CA's extra roots into Caddy's folder, owned by
    /// Caddy's user, mode 0600 (temporary name, fsync, rename).
    func installTLSFiles() throws {
        guard let tls = settings.tls, settings.adminAddress == nil else { return }
        func copy(_ sources: [String], to name: String) throws {
            var data = Data()
            for source in sources {
                guard let bytes = try? Data(contentsOf: URL(fileURLWithPath: source)) else {
                    throw RunnerError(
                        .notFound, "slugrunner: cannot read \(source) (--wildcard-cert, --wildcard-key, --acme-ca-root)"
                    )
                }
                data.append(bytes)
                if bytes.last != UInt8(ascii: "\n") { data.append(UInt8(ascii: "\n")) }
            }
            try Files.writeAtomically(data, to: copyPath(name, view: false), mode: 0o600, keepOwner: true)
        }
        if let wildcard = tls.wildcard {
            try copy([wildcard.certificate], to: "wildcard.crt")
            try copy([wildcard.key], to: "wildcard.key")
        }
        if let roots = tls.acme?.trustedRoots, !roots.isEmpty { try copy(roots, to: "acme-roots.pem") }
        certificates.wildcard = tls.wildcard.flatMap { try? String(contentsOfFile: $0.certificate, encoding: .utf8) }
            .flatMap {
                CertificateInfo(pem: $0)
            }
    }
}

extension Router {
    /// The host names of `table` that have a certificate now (``RouteTable/secureHosts``, ``HostCertificates``);
    /// also sets ``certificateReports``.
    public func secureHosts(_ table: RouteTable) -> Set<String> {
        certificates.secureHosts(table, tls: settings.tls, failures: certificateFailures)
    }

    /// The certificates of each app's host names, as of the last ``secureHosts(_:)`` (for `state.json`).
    public var certificateReports: [String: [RunnerState.Certificate]] { certificates.reports }

    /// Hands the app's own certificate (`certs:add`, in the root) to Caddy: copies it into Caddy's folder, owned by
    /// Caddy's user, when its fingerprint changed. Returns the files as Caddy reads them, or nil (with the reason)
    /// when they cannot be read or do not hold a certificate and its key.
    public func installAppCertificate(
        app: String, certificate: String, key: String, fingerprint: String
    ) -> Result<RouterTLS.CertificateFiles, RunnerError> {
        let view = settings.adminAddress == nil ? Self.caddyView : caddyFolder
        let files = RouterTLS.CertificateFiles(
            certificate: "\(view)/tls-app-\(app).crt", key: "\(view)/tls-app-\(app).key")
        if certificates.appCertificates[app]?.fingerprint == fingerprint { return .success(files) }
        guard let chain = try? String(contentsOfFile: certificate, encoding: .utf8),
            let privateKey = try? String(contentsOfFile: key, encoding: .utf8)
        else { return .failure(RunnerError(.notFound, "slugrunner: cannot read \(app)'s certificate (certs:add)")) }
        switch CertificateInfo.check(certificate: chain, key: privateKey) {
        case .failure(let problem):
            return .failure(
                RunnerError(.refused, "slugrunner: \(app)'s certificate is refused: \(problem.description)"))
        case .success(let info):
            do {
                try Files.writeAtomically(
                    Data(chain.utf8), to: "\(caddyFolder)/tls-app-\(app).crt", mode: 0o600, keepOwner: true)
                try Files.writeAtomically(
                    Data(privateKey.utf8), to: "\(caddyFolder)/tls-app-\(app).key", mode: 0o600, keepOwner: true)
            } catch {
                return .failure(RunnerError(.system, "slugrunner: \(error)"))
            }
            certificates.appCertificates[app] = (fingerprint, info)
            return .success(files)
        }
    }
}

extension RouterSettings {
    /// The ACME CA the router uses unless told otherwise: Let's Encrypt.
    public static let defaultACMECA = RouterTLS.ACMEIssuer.letsEncrypt

    /// HTTPS as `slugrunner watch` was given it: `--router-tls <address:port>` (none: plain HTTP only), `--acme-ca
    /// <directory URL>` (`none`: only the operator's certificates), `--acme-email`, `--acme-ca-root` (PEM files the
    /// CA's own HTTPS is checked against besides the system's), `--wildcard-cert` and `--wildcard-key` (the base
    /// domain's wildcard certificate).
    public static func tls(
        listen: String?, acmeCA: String, email: String?, caRoots: [String], wildcardCert: String?,
        wildcardKey: String?
    ) throws -> RouterTLS? {
        guard let listen else {
            guard wildcardCert == nil, wildcardKey == nil else {
                throw RunnerError(.usage, "slugrunner: --wildcard-cert needs HTTPS: give --router-tls <address:port>")
            }
            return nil
        }
        _ = try parseListen(listen)
        var acme: RouterTLS.ACMEIssuer?
        if acmeCA != "none" {
            guard let url = URL(string: acmeCA), url.scheme == "https", url.host != nil else {
                throw RunnerError(
                    .usage,
                    "slugrunner: --acme-ca is '\(acmeCA)': give an ACME directory URL (https://…/directory) or none")
            }
            if let email, !email.contains("@") || email.contains(" ") {
                throw RunnerError(.usage, "slugrunner: --acme-email is '\(email)': give an e-mail address")
            }
            acme = .init(directory: acmeCA, email: email, trustedRoots: caRoots)
        }
        var wildcard: RouterTLS.CertificateFiles?
        switch (wildcardCert, wildcardKey) {
        case (nil, nil): break
        case (let certificate?, let key?): wildcard = .init(certificate: certificate, key: key)
        default: throw RunnerError(.usage, "slugrunner: give --wildcard-cert and --wildcard-key together")
        }
        return RouterTLS(listen: listen, acme: acme, wildcard: wildcard)
    }
}

extension Router {
    /// Why Caddy could not get a certificate, per host name, from its log (``CertificateFailures``); empty for a
    /// Caddy the runner does not own (its log is elsewhere).
    public func certificateFailures() -> [String: CertificateFailures.Failure] {
        guard settings.adminAddress == nil,
            let text = try? String(contentsOfFile: "\(caddyFolder)/caddy.log", encoding: .utf8)
        else { return [:] }
        return CertificateFailures.latest(in: text)
    }
}
