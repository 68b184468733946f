public import Crypto
public import Foundation
import SlipwaySystem

/// The door's release key, `<root>/release-key.json` (mode 0600): an Ed25519 key that signs every release manifest
/// the door publishes, and an X25519 key pair that the config vars of each release are sealed to (HPKE), so that
/// neither a forged release nor the config vars in clear ever pass through the spool. Made once, by
/// `receive-pack init` or the first publication, whichever comes first (docs/spool.md, "Signed releases").
public struct DoorReleaseKey: Sendable {
    /// Signs manifests. Only the door holds it.
    public let signing: Curve25519.Signing.PrivateKey
    /// Opens sealed config vars; runners hold it (``RunnerReleaseKey``), the door only seals to its public half.
    public let sealing: Curve25519.KeyAgreement.PrivateKey

    public init(signing: Curve25519.Signing.PrivateKey, sealing: Curve25519.KeyAgreement.PrivateKey) {
        self.signing = signing
        self.sealing = sealing
    }

    /// What a runner needs: the signing key's public half, and the sealing key.
    public var runnerKey: RunnerReleaseKey { RunnerReleaseKey(door: signing.publicKey, sealing: sealing) }

    /// The root's key, made first if it has none. Two processes making it at once agree on one (the first link wins).
    public static func loadOrCreate(_ layout: RootLayout) throws -> DoorReleaseKey {
        if let key = try load(layout) { return key }
        let fresh = DoorReleaseKey(signing: .init(), sealing: .init())
        let file = KeyFile(
            version: 1, signingEd25519: fresh.signing.rawRepresentation.base64EncodedString(),
            doorEd25519: nil, sealingX25519: fresh.sealing.rawRepresentation.base64EncodedString())
        do {
            try DurableFile.createOnce(layout.releaseKey, with: try file.encoded(), mode: 0o600)
        } catch {
            throw ReleaseKeyError(
                "cannot create the release key \(layout.releaseKey) (\(error)); check the root's owner")
        }
        guard let key = try load(layout) else {
            throw ReleaseKeyError("the release key \(layout.releaseKey) vanished while it was made; try again")
        }
        return key
    }

    /// The root's key, nil when it has none yet.
    public static func load(_ layout: RootLayout) throws -> DoorReleaseKey? {
        guard let data = try readKeyFile(layout.releaseKey) else { return nil }
        let file = try KeyFile.decode(data, path: layout.releaseKey)
        guard let signing = file.signingEd25519 else {
            throw ReleaseKeyError(
                "\(layout.releaseKey) is a runner's key, not the door's: move it aside and run receive-pack init")
        }
        return DoorReleaseKey(
            signing: try KeyFile.key(signing, path: layout.releaseKey),
            sealing: try KeyFile.key(file.sealingX25519, path: layout.releaseKey))
    }
}

/// What a runner holds to accept releases: the door's public signing key, and the key that opens config vars.
/// On the door's own root a runner derives it from `<root>/release-key.json`; a runner on another machine reads the
/// file `receive-pack release-key` prints (`slugrunner watch --release-key <file>`). The file is secret (it opens
/// the config vars), but it cannot make a release.
public struct RunnerReleaseKey: Sendable {
    /// The door's public signing key: the only key whose signature a runner accepts.
    public let door: Curve25519.Signing.PublicKey
    /// Opens the config vars sealed to its public half.
    public let sealing: Curve25519.KeyAgreement.PrivateKey

    public init(door: Curve25519.Signing.PublicKey, sealing: Curve25519.KeyAgreement.PrivateKey) {
        self.door = door
        self.sealing = sealing
    }

    /// The file's contents: JSON, `{"door_ed25519": …, "sealing_x25519": …, "version": 1}` (base64 raw keys).
    public func encoded() throws -> Data {
        try KeyFile(
            version: 1, signingEd25519: nil, doorEd25519: door.rawRepresentation.base64EncodedString(),
            sealingX25519: sealing.rawRepresentation.base64EncodedString()
        ).encoded()
    }

    /// The key a runner uses: the file given (`--release-key`, a runner's key or the door's own), else the one of the
    /// root it shares with the door. Throws a line saying what to do when there is none.
    public static func load(file: String?, root layout: RootLayout) throws -> RunnerReleaseKey {
        guard let file else {
            guard let door = try DoorReleaseKey.load(layout) else {
                throw ReleaseKeyError(
                    "no release key in \(layout.path): run receive-pack init --root \(layout.path) on this root, or "
                        + "give --release-key <file> (receive-pack release-key prints it on the door's machine)")
            }
            return door.runnerKey
        }
        guard let data = try readKeyFile(file) else {
            throw ReleaseKeyError(
                "the release key \(file) does not exist: write there what receive-pack release-key prints")
        }
        let parsed = try KeyFile.decode(data, path: file)
        if let signing = parsed.signingEd25519 {
            let door: Curve25519.Signing.PrivateKey = try KeyFile.key(signing, path: file)
            return RunnerReleaseKey(door: door.publicKey, sealing: try KeyFile.key(parsed.sealingX25519, path: file))
        }
        guard let door = parsed.doorEd25519 else {
            throw ReleaseKeyError("\(file) holds no door_ed25519: write there what receive-pack release-key prints")
        }
        return RunnerReleaseKey(
            door: try KeyFile.key(door, path: file), sealing: try KeyFile.key(parsed.sealingX25519, path: file))
    }
}

/// A release key that cannot be read or made: one line naming the file and the fix.
public struct ReleaseKeyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Reads a key file, nil when it does not exist.
private func readKeyFile(_ path: String) throws -> Data? {
    do {
        return try FileSystem.read(path)
    } catch {
        throw ReleaseKeyError("cannot read the release key \(path) (\(error)); check its owner and mode (0600)")
    }
}

/// Both files' JSON: the door's has `signing_ed25519`, a runner's `door_ed25519`; both have `sealing_x25519`.
private struct KeyFile: Codable {
    var version: Int
    var signingEd25519: String?
    var doorEd25519: String?
    var sealingX25519: String

    enum CodingKeys: String, CodingKey {
        case version
        case signingEd25519 = "signing_ed25519"
        case doorEd25519 = "door_ed25519"
        case sealingX25519 = "sealing_x25519"
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0a)
        return data
    }

    static func decode(_ data: Data, path: String) throws -> KeyFile {
        guard let file = try? JSONDecoder().decode(KeyFile.self, from: data), file.version == 1 else {
            throw ReleaseKeyError("\(path) is not a Slipway release key (version 1); write it again")
        }
        return file
    }

    /// The raw bytes of a base64 key, or an error naming the file.
    static func raw(_ text: String, path: String) throws -> Data {
        guard let raw = Data(base64Encoded: text), raw.count == 32 else {
            throw ReleaseKeyError("\(path) holds a damaged key; write it again")
        }
        return raw
    }

    static func key(_ text: String, path: String) throws -> Curve25519.Signing.PrivateKey {
        try wrap(path) { try .init(rawRepresentation: try raw(text, path: path)) }
    }

    static func key(_ text: String, path: String) throws -> Curve25519.Signing.PublicKey {
        try wrap(path) { try .init(rawRepresentation: try raw(text, path: path)) }
    }

    static func key(_ text: String, path: String) throws -> Curve25519.KeyAgreement.PrivateKey {
        try wrap(path) { try .init(rawRepresentation: try raw(text, path: path)) }
    }

    private static func wrap<T>(_ path: String, _ make: () throws -> T) throws -> T {
        do {
            return try make()
        } catch let error as ReleaseKeyError {
            throw error
        } catch {
            throw ReleaseKeyError("\(path) holds a damaged key; write it again")
        }
    }
}
