import Crypto
public import Foundation
import SlipwaySystem

/// One SSH public key, as found in a `.pub` file: `<type> <base64> [comment]`.
public struct PublicKey: Equatable, Sendable {
    /// The key type, for example `ssh-ed25519`.
    public var type: String
    /// The key blob, base64 as in the `.pub` file.
    public var base64: String
    /// The comment after the key (often `user@host`); may be empty.
    public var comment: String
    /// `SHA256:<base64 without padding>` of the blob, as `ssh-keygen -l` prints it.
    public var fingerprint: String

    /// The key types accepted, in the order shown to users.
    public static let supportedTypes = [
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
    ]

    /// Parses one public key line.
    ///
    /// Refuses options before the type (`command="…"`, `no-pty`: the server writes its own), more than one line,
    /// unknown types, invalid base64, a blob that is not a key of the declared type, and comments with quotes or
    /// control characters. Each refusal is a ``DoorError`` naming the problem and the fix.
    public init(parsing line: String) throws {
        let bytes = Array(line.utf8)
        if bytes.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) {
            throw Self.refusal("the key spans more than one line (one key at a time)")
        }
        let text = line.trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
        let fields = text.split(maxSplits: 2, omittingEmptySubsequences: true) { $0 == " " || $0 == "\t" }
        guard let first = fields.first else { throw Self.refusal("the key is empty") }
        let type = String(first)

        guard Self.supportedTypes.contains(type) else {
            if text.hasPrefix("-----BEGIN") {
                throw DoorError(
                    .invalidKey,
                    "slipway: that is a private key; never share it: paste the contents of your id_ed25519.pub instead")
            }
            // A known type further on means the line starts with authorized_keys options.
            let words = text.split { $0 == " " || $0 == "\t" }.map(String.init)
            if words.dropFirst().contains(where: Self.supportedTypes.contains) || type.contains("=")
                || type.contains(",")
            {
                throw Self.refusal("the key starts with options (command=, no-pty, …); the server sets its own")
            }
            throw DoorError(
                .invalidKey,
                "slipway: unsupported key type '\(TerminalText.printable(type, limit: 40))': use one of "
                    + Self.supportedTypes.joined(separator: ", ")
                    + " (ssh-keygen -t ed25519 makes a good one), and paste the contents of its .pub file")
        }
        guard fields.count >= 2 else { throw Self.refusal("the key has a type but no key data") }
        guard let blob = Data(base64Encoded: String(fields[1])) else {
            throw Self.refusal("the key data is not valid base64 (was it cut or wrapped?)")
        }
        try Self.checkBlob([UInt8](blob), declared: type)

        let comment = fields.count > 2 ? fields[2].trimmingCharacters(in: CharacterSet(charactersIn: " \t")) : ""
        if comment.unicodeScalars.contains(where: {
            $0 == "\"" || $0 == "'" || $0.properties.generalCategory == .control
                || $0.properties.generalCategory == .format
        }) {
            throw DoorError(
                .invalidKey,
                "slipway: the key's comment contains quotes or control characters: remove them (the comment is the text after the key data), or paste the contents of your id_ed25519.pub as ssh-keygen wrote it"
            )
        }
        self.type = type
        // Stored re-encoded, so the same key always compares equal whatever its padding bits were.
        self.base64 = blob.base64EncodedString()
        self.comment = comment
        self.fingerprint = Self.fingerprint(of: blob)
    }

    /// Whether Slipway's built-in SSH server can verify this key: it checks ed25519 and ECDSA signatures only, not
    /// RSA nor security keys (`sk-*`). OpenSSH accepts all of them.
    public var isSupportedByBuiltinServer: Bool {
        type == "ssh-ed25519" || type.hasPrefix("ecdsa-sha2-")
    }

    /// The line as in a `.pub` file: `<type> <base64>[ <comment>]`.
    public var line: String { comment.isEmpty ? "\(type) \(base64)" : "\(type) \(base64) \(comment)" }

    /// Whether two keys are the same key, whatever their comments.
    public func sameKey(as other: PublicKey) -> Bool { type == other.type && base64 == other.base64 }

    /// `SHA256:` and the unpadded base64 of the blob's SHA-256, as `ssh-keygen -l` prints.
    public static func fingerprint(of blob: Data) -> String {
        var text = Data(SHA256.hash(data: blob)).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return "SHA256:\(text)"
    }

    private static func refusal(_ problem: String) -> DoorError {
        DoorError(.invalidKey, "slipway: \(problem): paste the contents of your id_ed25519.pub (one line)")
    }

    /// Checks that the blob is a well-formed key of the declared type (RFC 4253 §6.6, PROTOCOL.u2f): a sequence
    /// of uint32-length-prefixed strings, the first being the type, with the number of fields the type has.
    private static func checkBlob(_ blob: [UInt8], declared type: String) throws {
        var fields: [ArraySlice<UInt8>] = []
        var offset = 0
        while offset < blob.count {
            guard blob.count - offset >= 4 else { throw damaged(type) }
            let length = blob[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            offset += 4
            guard length <= blob.count - offset else { throw damaged(type) }
            fields.append(blob[offset..<offset + length])
            offset += length
        }
        guard let embedded = fields.first else { throw damaged(type) }
        guard embedded.elementsEqual(type.utf8) else {
            let actual = String(decoding: embedded, as: UTF8.self)
            throw DoorError(
                .invalidKey,
                "slipway: the key says '\(type)' but its data is a '\(TerminalText.printable(actual, limit: 40))' key: paste the contents of your id_ed25519.pub as ssh-keygen wrote it"
            )
        }
        let expected: Int
        switch type {
        case "ssh-ed25519": expected = 2  // type, key
        case "ssh-rsa": expected = 3  // type, e, n
        case "sk-ssh-ed25519@openssh.com": expected = 3  // type, key, application
        case "sk-ecdsa-sha2-nistp256@openssh.com": expected = 4  // type, curve, point, application
        default: expected = 3  // ecdsa: type, curve, point
        }
        guard fields.count == expected else { throw damaged(type) }
        if type.hasSuffix("ed25519") || type.hasPrefix("sk-ssh-ed25519"), fields[1].count != 32 {
            throw damaged(type)
        }
        if type.contains("ecdsa-sha2-") {
            let curve = type.split(separator: "-").last.map { $0.split(separator: "@")[0] } ?? ""
            guard fields[1].elementsEqual(curve.utf8) else { throw damaged(type) }
        }
    }

    private static func damaged(_ type: String) -> DoorError {
        refusal("the \(type) key data is damaged (was it cut or edited?)")
    }
}
