import Crypto

/// A streaming SHA-256 over swift-crypto, in the shape the spool's readers use: bytes in as they are read, the
/// lowercase hex digest out. It checks a slug against its manifest; the build side hashes slugs the same way while
/// packing them.
struct SHA256Hasher {
    private var hash = SHA256()

    init() {}

    /// Adds `bytes` to the message.
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hash.update(bufferPointer: bytes)
    }

    /// The digest of everything added.
    mutating func finalize() -> [UInt8] {
        Array(hash.finalize())
    }

    /// `digest` as lowercase hex.
    static func hexString(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(digest.count * 2)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
