import Crypto
import Foundation
import NIOSSH
import SlipwayDoorKit
import SlipwayDoorRecords
import SlipwayReceive
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The built-in server's ed25519 host key, kept in OpenSSH's own private key format (`ssh-keygen -y -f` reads it,
/// and OpenSSH's `sshd` could use it), mode 0600, with its `.pub` next to it.
///
/// The first start creates it; later starts reuse it, so clients see the same host key across restarts.
public struct HostKey: Sendable {
    /// The private key file.
    public let path: String
    let key: Curve25519.Signing.PrivateKey

    /// The key as swift-nio-ssh uses it.
    var nioKey: NIOSSHPrivateKey { NIOSSHPrivateKey(ed25519Key: key) }

    /// `ssh-ed25519 <base64>`, as in a `known_hosts` or `.pub` file.
    public var publicKeyLine: String { "ssh-ed25519 \(Data(Self.publicBlob(key.publicKey)).base64EncodedString())" }

    /// `SHA256:<base64>`, as `ssh-keygen -l` and the OpenSSH client print it.
    public var fingerprint: String {
        var text = Data(SHA256.hash(data: Self.publicBlob(key.publicKey))).base64EncodedString()
        while text.hasSuffix("=") { text.removeLast() }
        return "SHA256:\(text)"
    }

    /// Loads the key at `path`, or creates it (and its folder) when there is none. Returns whether it was created.
    public static func loadOrCreate(at path: String) throws -> (key: HostKey, created: Bool) {
        if let data = FileManager.default.contents(atPath: path) {
            return (try HostKey(path: path, openSSHText: String(decoding: data, as: UTF8.self)), false)
        }
        let key = HostKey(path: path, key: Curve25519.Signing.PrivateKey())
        try key.write()
        return (key, true)
    }

    init(path: String, key: Curve25519.Signing.PrivateKey) {
        self.path = path
        self.key = key
    }

    /// Parses an unencrypted `openssh-key-v1` file holding one ed25519 key.
    init(path: String, openSSHText text: String) throws {
        self.path = path
        let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }.joined()
        guard text.contains("-----BEGIN OPENSSH PRIVATE KEY-----"), let raw = Data(base64Encoded: body) else {
            throw DoorError(
                .configuration,
                lines: "the host key \(path) is not an OpenSSH private key: move it away to create a new one")
        }
        var reader = SSHWireReader(Array(raw))
        guard reader.readMagic(), let cipher = reader.readString(), let kdf = reader.readString(),
            reader.readString() != nil, let count = reader.readUInt32(), count == 1, reader.readString() != nil,
            let privateBlock = reader.readString()
        else {
            throw DoorError(
                .configuration, lines: "the host key \(path) is damaged: move it away to create a new one")
        }
        guard cipher == Array("none".utf8), kdf == Array("none".utf8) else {
            throw DoorError(
                .configuration, lines: "the host key \(path) is encrypted: the server needs it without a passphrase")
        }
        var inner = SSHWireReader(privateBlock)
        guard let check1 = inner.readUInt32(), let check2 = inner.readUInt32(), check1 == check2,
            let type = inner.readString(), type == Array("ssh-ed25519".utf8), inner.readString() != nil,
            let secret = inner.readString(), secret.count == 64,
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: secret.prefix(32))
        else {
            throw DoorError(
                .configuration,
                lines: "the host key \(path) is not an ed25519 key: move it away to create a new one")
        }
        self.key = key
    }

    /// Writes the key (0600) and its `.pub` (0644), each to a temporary name, fsynced, then renamed into place.
    func write() throws {
        let folder = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Self.writeDurably(Data(openSSHText.utf8), to: path, mode: 0o600)
        try Self.writeDurably(Data("\(publicKeyLine) slipway-host\n".utf8), to: "\(path).pub", mode: 0o644)
    }

    /// The `openssh-key-v1` text (PROTOCOL.key in OpenSSH's sources), unencrypted.
    var openSSHText: String {
        let publicBlob = Self.publicBlob(key.publicKey)
        let check = UInt32.random(in: 0...UInt32.max)
        var inner = SSHWireWriter()
        inner.writeUInt32(check)
        inner.writeUInt32(check)
        inner.writeString(Array("ssh-ed25519".utf8))
        inner.writeString(Array(key.publicKey.rawRepresentation))
        inner.writeString(Array(key.rawRepresentation) + Array(key.publicKey.rawRepresentation))
        inner.writeString(Array("slipway-host".utf8))
        var pad: UInt8 = 1
        while inner.bytes.count % 8 != 0 {
            inner.bytes.append(pad)
            pad += 1
        }
        var outer = SSHWireWriter()
        outer.bytes = Array("openssh-key-v1".utf8) + [0]
        outer.writeString(Array("none".utf8))
        outer.writeString(Array("none".utf8))
        outer.writeString([])
        outer.writeUInt32(1)
        outer.writeString(publicBlob)
        outer.writeString(inner.bytes)
        let base64 = Data(outer.bytes).base64EncodedString()
        var lines = ["-----BEGIN OPENSSH PRIVATE KEY-----"]
        var index = base64.startIndex
        while index < base64.endIndex {
            let end = base64.index(index, offsetBy: 70, limitedBy: base64.endIndex) ?? base64.endIndex
            lines.append(String(base64[index..<end]))
            index = end
        }
        lines.append("-----END OPENSSH PRIVATE KEY-----")
        return lines.joined(separator: "\n") + "\n"
    }

    static func publicBlob(_ key: Curve25519.Signing.PublicKey) -> [UInt8] {
        var writer = SSHWireWriter()
        writer.writeString(Array("ssh-ed25519".utf8))
        writer.writeString(Array(key.rawRepresentation))
        return writer.bytes
    }

    /// Replaces `path` with `data` through the system layer (every byte written, fsync, rename, the folder flushed).
    private static func writeDurably(_ data: Data, to path: String, mode: mode_t) throws {
        do {
            try DurableFile.replace(path, with: data, mode: mode)
        } catch let failure as SystemError {
            throw DoorError(.server, lines: failure.description, systemError: failure)
        }
    }
}

/// SSH's wire encoding (RFC 4251 §5): big-endian uint32s and uint32-length-prefixed strings.
struct SSHWireWriter {
    var bytes: [UInt8] = []

    mutating func writeUInt32(_ value: UInt32) {
        bytes += [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
    }

    mutating func writeString(_ value: [UInt8]) {
        writeUInt32(UInt32(value.count))
        bytes += value
    }
}

/// Reads what ``SSHWireWriter`` writes; every read returns nil past the end instead of trapping.
struct SSHWireReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func readMagic() -> Bool {
        let magic = Array("openssh-key-v1".utf8) + [0]
        guard bytes.count >= magic.count, Array(bytes[0..<magic.count]) == magic else { return false }
        offset = magic.count
        return true
    }

    mutating func readUInt32() -> UInt32? {
        guard bytes.count - offset >= 4 else { return nil }
        defer { offset += 4 }
        return bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func readString() -> [UInt8]? {
        guard let length = readUInt32(), Int(length) <= bytes.count - offset else { return nil }
        defer { offset += Int(length) }
        return Array(bytes[offset..<offset + Int(length)])
    }
}
