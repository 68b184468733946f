import CArchive

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a POSIX tar stream with libarchive and hands its bytes to the next ``ByteSink`` (usually a ``GzipWriter``).
///
/// Entries are written exactly as given: the caller chooses names, modes and times, which is what makes slugs
/// reproducible. Owners are always uid/gid 0 with empty owner names. Call ``finish()`` to write the end-of-archive
/// blocks; a writer released without it frees libarchive's state only.
///
/// Every entry is complete (header, data and padding) when its `add…` call returns, and ``flush()`` hands the next
/// sink everything written so far: so the bytes of a run of entries (a subtree of a slug) can be sent to another sink
/// than the rest, which is how ``GzipWriter`` segments are cut at a subtree's first and last byte.
public final class TarWriter {
    private let archive: OpaquePointer
    private let entry: OpaquePointer
    fileprivate let next: ByteSink
    /// The error the sink threw inside libarchive's write callback, rethrown to the caller.
    fileprivate var sinkError: Error?
    private var finished = false
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    /// Output not yet handed to the next sink: libarchive writes unbuffered, so the writer gathers its small writes
    /// (each header) into chunks of ``chunkSize``.
    fileprivate let pending = UnsafeMutableRawBufferPointer.allocate(byteCount: TarWriter.chunkSize, alignment: 16)
    fileprivate var pendingCount = 0
    /// The size of the chunks handed to the next sink.
    static let chunkSize = 256 * 1024

    /// Starts a tar stream (pax format, falling back to plain ustar headers whenever they suffice).
    public init(to next: ByteSink) throws {
        guard let archive = archive_write_new() else { throw ArchiveError("archive_write_new", "out of memory") }
        guard let entry = archive_entry_new() else {
            archive_write_free(archive)
            throw ArchiveError("archive_entry_new", "out of memory")
        }
        self.archive = archive
        self.entry = entry
        self.next = next
        try check(archive_write_set_format_pax_restricted(archive), "archive_write_set_format_pax_restricted")
        try check(archive_write_add_filter_none(archive), "archive_write_add_filter_none")
        // No blocking in libarchive (so no padding of the last block beyond the tar format's own 512-byte records):
        // every byte reaches the write callback at once, which gathers them into 256 KiB chunks for the next stage
        // (a compressor's call costs the same for little data as for much: for libzstd's threads, a lock and a look
        // at its jobs each time), and ``flush()`` can hand over a partial chunk.
        try check(archive_write_set_bytes_per_block(archive, 0), "archive_write_set_bytes_per_block")
        let client = Unmanaged.passUnretained(self).toOpaque()
        try check(
            archive_write_open(archive, client, nil, tarWriteCallback, nil), "archive_write_open")
    }

    deinit {
        archive_entry_free(entry)
        archive_write_free(archive)
        pending.deallocate()
    }

    /// Adds a directory entry.
    public func addDirectory(_ path: String, mode: UInt32, mtime: Int64) throws {
        try addDirectory(Array(path.utf8), mode: mode, mtime: mtime)
    }

    /// Adds a directory entry whose name is `path`'s bytes, stored as they are (a name need not be UTF-8).
    public func addDirectory(_ path: [UInt8], mode: UInt32, mtime: Int64) throws {
        prepare(path, type: SLIPWAY_AE_IFDIR, mode: mode, mtime: mtime)
        try writeHeader(path)
    }

    /// Adds a symbolic link to `target`; the link itself is stored, never what it points to.
    public func addSymlink(_ path: String, target: String, mtime: Int64) throws {
        try addSymlink(Array(path.utf8), target: Array(target.utf8), mtime: mtime)
    }

    /// Adds a symbolic link, its name and target byte for byte.
    public func addSymlink(_ path: [UInt8], target: [UInt8], mtime: Int64) throws {
        prepare(path, type: SLIPWAY_AE_IFLNK, mode: 0o777, mtime: mtime)
        (target + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { archive_entry_set_symlink(entry, $0.baseAddress) }
        }
        try writeHeader(path)
    }

    /// Adds a regular file of `size` bytes whose contents are read from the open descriptor `fd`.
    ///
    /// The contents are streamed in fixed-size chunks; a file that changes size while being read is an error.
    public func addFile(_ path: String, mode: UInt32, mtime: Int64, size: Int64, contentsOf fd: Int32) throws {
        try addFile(Array(path.utf8), mode: mode, mtime: mtime, size: size, contentsOf: fd)
    }

    /// Adds a regular file whose name is `path`'s bytes.
    public func addFile(_ path: [UInt8], mode: UInt32, mtime: Int64, size: Int64, contentsOf fd: Int32) throws {
        let shown = String(decoding: path, as: UTF8.self)
        prepare(path, type: SLIPWAY_AE_IFREG, mode: mode, mtime: mtime)
        archive_entry_set_size(entry, la_int64_t(size))
        try writeHeader(path)
        var remaining = size
        try buffer.withUnsafeMutableBytes { chunk in
            while remaining > 0 {
                let want = Int(min(Int64(chunk.count), remaining))
                let got = read(fd, chunk.baseAddress, want)
                if got < 0 {
                    if errno == EINTR { continue }
                    throw ArchiveError("read", "\(shown): \(String(cString: strerror(errno)))")
                }
                if got == 0 { throw ArchiveError("read", "\(shown): file shrank while it was being packed") }
                let written = archive_write_data(archive, chunk.baseAddress, got)
                if written < 0 { try fail("archive_write_data") }
                remaining -= Int64(got)
            }
        }
        // The padding to the next 512-byte record now, not with the next header.
        try check(archive_write_finish_entry(archive), "archive_write_finish_entry")
    }

    /// Writes the end-of-archive marker and flushes everything to the next sink.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try check(archive_write_close(archive), "archive_write_close")
        try flush()
    }

    /// Hands every byte written so far to the next sink.
    public func flush() throws {
        guard pendingCount > 0 else { return }
        let count = pendingCount
        pendingCount = 0
        try next.write(UnsafeRawBufferPointer(rebasing: pending[0..<count]))
    }

    /// Takes bytes from libarchive: gathered into `pending`, handed on whenever it fills.
    fileprivate func take(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            if pendingCount == 0 && bytes.count - offset >= pending.count {
                // A whole chunk or more with nothing gathered: no copy.
                try next.write(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
                return
            }
            let count = min(pending.count - pendingCount, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: pending[pendingCount..<pendingCount + count])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count]))
            pendingCount += count
            offset += count
            if pendingCount == pending.count { try flush() }
        }
    }

    private func prepare(_ path: [UInt8], type: UInt32, mode: UInt32, mtime: Int64) {
        archive_entry_clear(entry)
        (path + [0]).withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { archive_entry_set_pathname(entry, $0.baseAddress) }
        }
        archive_entry_set_filetype(entry, type)
        archive_entry_set_perm(entry, mode_t(mode & 0o7777))
        archive_entry_set_mtime(entry, time_t(mtime), 0)
        archive_entry_set_uid(entry, 0)
        archive_entry_set_gid(entry, 0)
        archive_entry_set_uname(entry, "")
        archive_entry_set_gname(entry, "")
    }

    private func writeHeader(_ path: [UInt8]) throws {
        let rc = archive_write_header(archive, entry)
        // ARCHIVE_WARN: the entry was written (for example a name that is not valid UTF-8, stored byte for byte).
        if rc < ARCHIVE_WARN { try fail("archive_write_header", String(decoding: path, as: UTF8.self)) }
    }

    private func check(_ rc: Int32, _ function: String) throws {
        if rc < ARCHIVE_WARN { try fail(function) }
    }

    private func fail(_ function: String, _ path: String? = nil) throws -> Never {
        if let sinkError { throw sinkError }
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        throw ArchiveError(function, path.map { "\($0): \(message)" } ?? message)
    }
}

/// libarchive's write callback: forwards each block to the writer's sink, recording a thrown error.
private func tarWriteCallback(
    _ archive: OpaquePointer?, _ client: UnsafeMutableRawPointer?, _ buffer: UnsafeRawPointer?, _ length: Int
) -> la_ssize_t {
    guard let client, let buffer else { return -1 }
    let writer = Unmanaged<TarWriter>.fromOpaque(client).takeUnretainedValue()
    do {
        try writer.take(UnsafeRawBufferPointer(start: buffer, count: length))
        return la_ssize_t(length)
    } catch {
        writer.sinkError = error
        slipway_archive_set_error(archive, EIO, "\(error)")
        return -1
    }
}
