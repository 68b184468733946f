import Crypto
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// A recorded ``GzipWriter`` segment kept in a file, so a later member can splice it: the compressed bytes, then a
/// 64-byte trailer (the magic `SLIPSEG1`, the input's CRC-32, four zero bytes, the input's length, the compressed
/// length, all little-endian, then a SHA-256).
///
/// The SHA-256 covers the compressed bytes, the trailer before it and the key the file is stored under, so a file
/// that was cut short, changed, or renamed to another key does not verify and is never spliced. Files are opened
/// inside a folder given as a descriptor, never following a symlink, and only regular files are read: the folder may
/// be one that untrusted build steps could write.
public enum GzipSegmentFile {
    static let magic: [UInt8] = Array("SLIPSEG1".utf8)
    static let trailerSize = 64
    static let chunkSize = 1 << 20

    /// Records a segment into a temporary file in a folder; ``commit(_:name:key:)`` completes it under its name.
    public final class Writer: ByteSink {
        private let folder: Int32
        private let temporary: String
        private var fd: Int32
        private var hasher = SHA256()
        private var count: UInt64 = 0
        private var failure: ArchiveError?

        /// Starts a temporary file in the open folder `folder`.
        public init(folder: Int32) throws {
            self.folder = folder
            temporary = ".segment.\(UInt64.random(in: 0...UInt64.max)).tmp"
            fd = openat(folder, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw ArchiveError("open", "\(temporary): \(String(cString: strerror(errno)))") }
        }

        deinit { discard() }

        /// Takes compressed bytes. Never throws: a failed write (a full disk) is kept for ``commit(_:)`` to throw,
        /// so a cache that cannot be written never fails the slug being packed.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard failure == nil, fd >= 0 else { return }
            hasher.update(bufferPointer: bytes)
            count += UInt64(bytes.count)
            do { try DurableFile.writeAll(fd, bytes, path: temporary) } catch {
                failure = ArchiveError("write", "\(temporary): \(String(cString: strerror(error.errno)))")
                discard()
            }
        }

        /// Writes the trailer for `segment`, flushes the file to disk and renames it to `name`, stored under `key`.
        public func commit(_ segment: GzipWriter.Segment, name: String, key: [UInt8]) throws {
            if let failure { throw failure }
            guard fd >= 0 else { throw ArchiveError("write", "segment file already closed") }
            var trailer = GzipSegmentFile.magic
            trailer += littleEndian(UInt64(segment.crc))
            trailer += littleEndian(segment.length)
            trailer += littleEndian(count)
            hasher.update(data: trailer)
            hasher.update(data: key)
            trailer += Array(hasher.finalize())
            try trailer.withUnsafeBytes { try write($0) }
            if let failure { throw failure }
            do { try DurableFile.sync(fd, path: temporary) } catch {
                throw ArchiveError("fsync", "\(temporary): \(String(cString: strerror(error.errno)))")
            }
            close(fd)
            fd = -1
            guard renameat(folder, temporary, folder, name) == 0 else {
                let reason = String(cString: strerror(errno))
                unlinkat(folder, temporary, 0)
                throw ArchiveError("rename", "\(name): \(reason)")
            }
        }

        /// Removes the temporary file (nothing after ``commit(_:)``).
        public func discard() {
            guard fd >= 0 else { return }
            close(fd)
            fd = -1
            unlinkat(folder, temporary, 0)
        }
    }

    /// A segment file that verified: open, with the CRC-32 and length of its input.
    public final class Reader {
        public let segment: GzipWriter.Segment
        private let fd: Int32
        private let key: [UInt8]
        private let compressedCount: Int
        private let digest: [UInt8]
        private let trailerHead: [UInt8]

        /// Opens and verifies the file `name` in `folder` stored under `key`; nil when it is missing, not a regular
        /// file, or does not verify (a cache entry to rebuild, never to trust).
        public init?(folder: Int32, name: String, key: [UInt8]) {
            let fd = openat(folder, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            var st = stat()
            let trailerSize = GzipSegmentFile.trailerSize
            guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size >= trailerSize else {
                close(fd)
                return nil
            }
            var trailer = [UInt8](repeating: 0, count: trailerSize)
            let got = trailer.withUnsafeMutableBytes {
                pread(fd, $0.baseAddress, trailerSize, st.st_size - off_t(trailerSize))
            }
            let crc = readLittleEndian(trailer, at: 8)
            let length = readLittleEndian(trailer, at: 16)
            let compressed = readLittleEndian(trailer, at: 24)
            guard got == trailerSize, Array(trailer[0..<8]) == GzipSegmentFile.magic, crc <= UInt32.max,
                compressed == UInt64(st.st_size) - UInt64(trailerSize)
            else {
                close(fd)
                return nil
            }
            self.fd = fd
            self.key = key
            segment = GzipWriter.Segment(crc: UInt32(crc), length: length)
            compressedCount = Int(compressed)
            trailerHead = Array(trailer[0..<32])
            digest = Array(trailer[32..<64])
            guard (try? copy(to: nil)) == true else { return nil }
        }

        deinit { close(fd) }

        /// Writes the compressed bytes to `sink`, checking them again as they are read; throws if the file changed
        /// since it was verified.
        public func write(to sink: ByteSink) throws {
            guard try copy(to: sink) else {
                throw ArchiveError("read", "a cached slug segment changed while it was being copied")
            }
        }

        /// Reads the compressed bytes (to `sink` if given) and returns whether they match the digest.
        private func copy(to sink: ByteSink?) throws -> Bool {
            var hasher = SHA256()
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: GzipSegmentFile.chunkSize, alignment: 16)
            defer { chunk.deallocate() }
            var offset = 0
            while offset < compressedCount {
                let want = min(chunk.count, compressedCount - offset)
                let got = pread(fd, chunk.baseAddress, want, off_t(offset))
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else {
                    throw ArchiveError("read", "cached slug segment: \(String(cString: strerror(errno)))")
                }
                let bytes = UnsafeRawBufferPointer(rebasing: chunk[0..<got])
                hasher.update(bufferPointer: bytes)
                try sink?.write(bytes)
                offset += got
            }
            hasher.update(data: trailerHead)
            hasher.update(data: key)
            return Array(hasher.finalize()) == digest
        }
    }
}

private func littleEndian(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}

private func readLittleEndian(_ bytes: [UInt8], at offset: Int) -> UInt64 {
    (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) }
}
