import CArchive

#if canImport(Glibc)
    import Glibc
#endif

/// Unpacks a gzip-compressed tar (a slug) into a folder with libarchive, refusing anything that could write outside
/// it: absolute names, `..`, extraction through a symlink, hard links, devices, FIFOs and sockets.
///
/// Every entry must sit under one top folder (`./app/` for a slug); permission bits are kept without setuid, setgid
/// and sticky, owners are not restored (files belong to whoever unpacks), and symlinks are created as symlinks
/// (their targets may point anywhere, as in a slug, but nothing is ever written through one).
public struct TarExtractor: Sendable {
    /// What an extraction wrote.
    public struct Summary: Equatable, Sendable {
        /// Regular files created.
        public var files = 0
        /// Folders created.
        public var directories = 0
        /// Symlinks created.
        public var symlinks = 0
        /// Bytes of file contents written.
        public var bytes: Int64 = 0

        public init(files: Int = 0, directories: Int = 0, symlinks: Int = 0, bytes: Int64 = 0) {
            self.files = files
            self.directories = directories
            self.symlinks = symlinks
            self.bytes = bytes
        }
    }

    /// The one folder every entry must be in (`app` for slugs).
    public var topFolder: String
    /// The most the files may hold together, in bytes, as their headers give their sizes (a sparse file at its full
    /// size): a slug past it is refused before its first byte past the limit is written. Nil: no limit.
    public var maximumBytes: Int64?

    public init(topFolder: String = "app", maximumBytes: Int64? = nil) {
        self.topFolder = topFolder
        self.maximumBytes = maximumBytes
    }

    /// Unpacks `archivePath` into the existing, empty folder `destination`.
    ///
    /// On an error the folder may hold part of the archive: unpack into a fresh folder and remove it on failure.
    @discardableResult
    public func extract(_ archivePath: String, into destination: String) throws -> Summary {
        // SECURE_SYMLINKS refuses a symlink anywhere in the path written, the destination's own path included, so
        // the destination is resolved first.
        guard let resolved = realpath(destination, nil) else {
            throw ArchiveError("realpath", "\(destination): \(String(cString: strerror(errno)))")
        }
        let base = String(cString: resolved)
        free(resolved)

        guard let reader = archive_read_new() else { throw ArchiveError("archive_read_new", "out of memory") }
        defer { archive_read_free(reader) }
        guard let writer = archive_write_disk_new() else {
            throw ArchiveError("archive_write_disk_new", "out of memory")
        }
        defer { archive_write_free(writer) }

        try check(archive_read_support_filter_gzip(reader), reader, "archive_read_support_filter_gzip")
        try check(archive_read_support_format_tar(reader), reader, "archive_read_support_format_tar")
        try check(archive_read_open_filename(reader, archivePath, 1 << 16), reader, "archive_read_open_filename")
        let flags =
            ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_NO_OVERWRITE | ARCHIVE_EXTRACT_SECURE_SYMLINKS
            | ARCHIVE_EXTRACT_SECURE_NODOTDOT
        try check(archive_write_disk_set_options(writer, flags), writer, "archive_write_disk_set_options")

        var summary = Summary()
        var declared: Int64 = 0
        var seen = Set<String>()
        var entry: OpaquePointer?
        while true {
            let rc = archive_read_next_header(reader, &entry)
            if rc == ARCHIVE_EOF { break }
            if rc < ARCHIVE_WARN { try fail(reader, "archive_read_next_header") }
            guard let entry else { throw ArchiveError("archive_read_next_header", "no entry") }
            let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
            guard let relative = try checkedPath(name) else { continue }
            // A second entry of one name could swap a file for a symlink after checks on the first: refuse it.
            guard seen.insert(relative).inserted else {
                throw ArchiveError("extract", "\(name): appears twice in the archive")
            }
            let type = UInt32(archive_entry_filetype(entry))
            guard archive_entry_hardlink(entry) == nil else {
                throw ArchiveError("extract", "\(name): hard links are not allowed in a slug")
            }
            if type == SLIPWAY_AE_IFREG, let maximumBytes {
                declared += max(0, archive_entry_size(entry))
                guard declared <= maximumBytes else {
                    throw ArchiveError(
                        "extract", "\(name): the files unpack to more than \(maximumBytes >> 20) MB, the most allowed")
                }
            }
            switch type {
            case SLIPWAY_AE_IFREG: summary.files += 1
            case SLIPWAY_AE_IFDIR: summary.directories += 1
            case SLIPWAY_AE_IFLNK: summary.symlinks += 1
            default: throw ArchiveError("extract", "\(name): only files, folders and symlinks may be unpacked")
            }
            archive_entry_set_pathname(entry, "\(base)/\(relative)")
            archive_entry_set_perm(entry, archive_entry_perm(entry) & 0o777)
            let header = archive_write_header(writer, entry)
            if header < ARCHIVE_WARN { try fail(writer, "archive_write_header", name) }
            if type == SLIPWAY_AE_IFREG {
                summary.bytes += try copyData(from: reader, to: writer, name: name)
            }
            let finished = archive_write_finish_entry(writer)
            if finished < ARCHIVE_WARN { try fail(writer, "archive_write_finish_entry", name) }
        }
        // Folder permissions and times are applied at close (so a read-only folder can be filled first).
        try check(archive_write_close(writer), writer, "archive_write_close")
        return summary
    }

    /// The entry's name relative to the destination, or nil for the archive's own `./`; throws for a name that
    /// could leave the destination or is outside the top folder.
    func checkedPath(_ name: String) throws -> String? {
        guard !name.hasPrefix("/") else { throw ArchiveError("extract", "\(name): absolute names are not allowed") }
        var components = name.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        while components.first == "." { components.removeFirst() }
        if components.isEmpty { return nil }
        guard !components.contains(".."), !components.contains(".") else {
            throw ArchiveError("extract", "\(name): '..' and '.' are not allowed inside a name")
        }
        guard components[0] == topFolder else {
            throw ArchiveError("extract", "\(name): every entry must be under ./\(topFolder)/")
        }
        return components.joined(separator: "/")
    }

    /// Streams one file's data blocks from the reader to the disk writer; returns the bytes written.
    private func copyData(from reader: OpaquePointer, to writer: OpaquePointer, name: String) throws -> Int64 {
        var bytes: Int64 = 0
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        while true {
            let rc = archive_read_data_block(reader, &buffer, &size, &offset)
            if rc == ARCHIVE_EOF { return bytes }
            if rc < ARCHIVE_WARN { try fail(reader, "archive_read_data_block", name) }
            let written = archive_write_data_block(writer, buffer, size, offset)
            if written < ARCHIVE_WARN { try fail(writer, "archive_write_data_block", name) }
            bytes += Int64(size)
        }
    }

    private func check(_ rc: Int32, _ archive: OpaquePointer, _ function: String) throws {
        if rc < ARCHIVE_WARN { try fail(archive, function) }
    }

    private func fail(_ archive: OpaquePointer, _ function: String, _ name: String? = nil) throws -> Never {
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        throw ArchiveError(function, name.map { "\($0): \(message)" } ?? message)
    }
}
