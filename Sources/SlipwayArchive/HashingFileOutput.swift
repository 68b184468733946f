import Crypto
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The last stage of a slug's pipeline: writes bytes to a new file while counting them and computing their SHA-256.
///
/// The file is created exclusively with mode 0644; ``finish()`` flushes it to disk (fsync) and returns the digest.
/// If the value is released without `finish()`, the file descriptor is closed and the caller removes the file.
public final class HashingFileOutput: ByteSink {
    private var fd: Int32
    private let path: String
    private var hasher = SHA256()
    private let limit: Int64?
    /// How many bytes were written so far.
    public private(set) var byteCount: Int64 = 0

    /// Creates `path` (which must not exist) for writing. `limit` caps the bytes accepted.
    public init(path: String, limit: Int64? = nil) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ArchiveError("open", "\(path): \(String(cString: strerror(errno)))") }
        self.limit = limit
        self.path = path
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        byteCount += Int64(bytes.count)
        if let limit, byteCount > limit { throw OutputLimitExceeded(limit: limit) }
        hasher.update(bufferPointer: bytes)
        do { try DurableFile.writeAll(fd, UnsafeRawBufferPointer(start: base, count: bytes.count), path: path) } catch {
            throw ArchiveError("write", String(cString: strerror(error.errno)))
        }
    }

    /// Flushes the file to disk, closes it and returns the hex SHA-256 of everything written.
    public func finish() throws -> String {
        guard fd >= 0 else { throw ArchiveError("finish", "output already finished") }
        defer {
            close(fd)
            fd = -1
        }
        do { try DurableFile.sync(fd, path: path) } catch {
            throw ArchiveError("fsync", String(cString: strerror(error.errno)))
        }
        return hasher.finalize().map { byteHex($0) }.joined()
    }
}

@inline(__always)
func byteHex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
}
