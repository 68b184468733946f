import Crypto

/// Counts and hashes (SHA-256) the bytes it is given, after `prefix`.
public final class HashingSink: ByteSink {
    private var hasher = SHA256()
    public private(set) var count: UInt64 = 0

    public init(prefix: [UInt8]) { hasher.update(data: prefix) }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: bytes)
        count += UInt64(bytes.count)
    }

    public func digest() -> [UInt8] { Array(hasher.finalize()) }

    /// `bytes` as lowercase hex, two digits each (a digest in a file name).
    public static func hex(_ bytes: [UInt8]) -> String { bytes.map { byteHex($0) }.joined() }
}
