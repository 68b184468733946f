import Crypto
public import Foundation

/// A release as the spool carries it (`release.json`, schema version 2, docs/spool.md "Signed releases"): the
/// manifest's exact bytes in base64, and the door's Ed25519 signature of those bytes. Inside, the config vars are
/// sealed to the runners' X25519 key with HPKE (RFC 9180, DHKEM X25519 HKDF-SHA256, HKDF-SHA256, ChaCha20-Poly1305),
/// so a runner accepts only what the door made, and the bucket or the folder never holds a config var in clear.
///
/// ```json
/// {"manifest": "<base64 manifest bytes>", "schema_version": 2, "signature": "<base64>", "signed_by": "<base64>"}
/// ```
public enum SignedRelease {
    /// The `schema_version` of the spool's `release.json` (the signed form) and of the manifest inside it.
    public static let schemaVersion = 2
    /// HPKE's `info`: what the sealed bytes are.
    static let sealingInfo = Data("slipway release config vars v1".utf8)

    /// The signed `release.json` of `manifest` (which has `version` set): its config vars sealed, its bytes signed.
    public static func seal(_ manifest: ReleaseManifest, with key: DoorReleaseKey) throws -> Data {
        var inner = manifest
        inner.schemaVersion = schemaVersion
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var sender = try HPKE.Sender(
            recipientKey: key.sealing.publicKey, ciphersuite: .Curve25519_SHA256_ChachaPoly, info: sealingInfo)
        let sealed = try sender.seal(
            try encoder.encode(manifest.configVars), authenticating: associatedData(manifest))
        inner.configVars = [:]
        inner.sealedConfigVars = (sender.encapsulatedKey + sealed).base64EncodedString()
        let bytes = try inner.encoded()
        let envelope = Envelope(
            schemaVersion: schemaVersion, manifest: bytes.base64EncodedString(),
            signature: try key.signing.signature(for: bytes).base64EncodedString(),
            signedBy: key.signing.publicKey.rawRepresentation.base64EncodedString())
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(envelope)
        data.append(0x0a)
        return data
    }

    /// The manifest a signed `release.json` carries, after checking that the door signed exactly these bytes, with
    /// its config vars opened: a plain manifest (schema version 1, `config_vars` set, no `sealed_config_vars`), as
    /// `slugc build` writes one. Throws ``ReleaseRefusal`` otherwise.
    public static func open(_ data: Data, with key: RunnerReleaseKey) throws(ReleaseRefusal) -> ReleaseManifest {
        let (envelope, bytes, signature) = try parse(data)
        guard Data(base64Encoded: envelope.signedBy) == key.door.rawRepresentation else { throw .otherKey }
        guard key.door.isValidSignature(signature, for: bytes) else { throw .badSignature }
        var manifest = try inner(bytes)
        guard let sealedText = manifest.sealedConfigVars, let sealed = Data(base64Encoded: sealedText),
            sealed.count > 32
        else { throw .unreadable("it carries no sealed config vars") }
        do {
            var recipient = try HPKE.Recipient(
                privateKey: key.sealing, ciphersuite: .Curve25519_SHA256_ChachaPoly, info: sealingInfo,
                encapsulatedKey: sealed.prefix(32))
            let plain = try recipient.open(sealed.dropFirst(32), authenticating: associatedData(manifest))
            manifest.configVars = try JSONDecoder().decode([String: String].self, from: plain)
        } catch {
            throw .sealedToAnotherKey
        }
        manifest.schemaVersion = ReleaseManifest.currentSchemaVersion
        manifest.sealedConfigVars = nil
        return manifest
    }

    /// The manifest inside a signed `release.json`, its signature not checked and its config vars still sealed: for
    /// the door's own checks before publishing, and for naming the app in a refusal.
    public static func peek(_ data: Data) throws(ReleaseRefusal) -> ReleaseManifest {
        try inner(try parse(data).bytes)
    }

    /// What the sealed config vars are bound to: the app and the version (`myapp v7`).
    static func associatedData(_ manifest: ReleaseManifest) -> Data {
        Data("\(manifest.app) v\(manifest.version ?? 0)".utf8)
    }

    private static func parse(_ data: Data) throws(ReleaseRefusal) -> (Envelope, bytes: Data, signature: Data) {
        let envelope: Envelope
        do {
            envelope = try JSONDecoder().decode(Envelope.self, from: data)
        } catch {
            if (try? ReleaseManifest.decode(data)) != nil { throw .unsigned }
            throw .unreadable("its release.json is not a signed release")
        }
        guard envelope.schemaVersion == schemaVersion else {
            throw .unreadable("its release.json has schema_version \(envelope.schemaVersion), not \(schemaVersion)")
        }
        guard let bytes = Data(base64Encoded: envelope.manifest),
            let signature = Data(base64Encoded: envelope.signature)
        else { throw .unreadable("its manifest or signature is not base64") }
        return (envelope, bytes, signature)
    }

    private static func inner(_ bytes: Data) throws(ReleaseRefusal) -> ReleaseManifest {
        do {
            return try ReleaseManifest.decode(bytes, schemaVersion: schemaVersion)
        } catch {
            throw .unreadable("its manifest is unusable (\(Spool.reason(error)))")
        }
    }

    private struct Envelope: Codable {
        var schemaVersion: Int
        var manifest: String
        var signature: String
        var signedBy: String

        enum CodingKeys: String, CodingKey {
            case schemaVersion = "schema_version"
            case manifest, signature
            case signedBy = "signed_by"
        }
    }
}

/// Why a runner refuses a release from the spool: its ``description`` completes `v3 refused: `.
public enum ReleaseRefusal: Error, Equatable, CustomStringConvertible, Sendable {
    /// A plain manifest where a signed one must be.
    case unsigned
    /// Signed, but not by the key this runner was given.
    case otherKey
    /// Claims the door's key, but the signature does not match the bytes.
    case badSignature
    /// Its config vars do not open with this runner's key.
    case sealedToAnotherKey
    /// Not a signed release at all.
    case unreadable(String)

    public var description: String {
        switch self {
        case .unsigned: "it is not signed by the door (was it written into the spool by hand?)"
        case .otherKey: "its signature is not the door's (was it written into the spool by hand?)"
        case .badSignature: "its signature does not match its contents (was it changed after the door signed it?)"
        case .sealedToAnotherKey:
            "its config vars are sealed to another key (give this runner the door's key: receive-pack release-key)"
        case .unreadable(let reason): reason
        }
    }
}
