import SlipwayArchive
import SlipwaySpool

#if canImport(Glibc)
    import Glibc
#endif

/// Packs a build directory into a slug: a compressed tar (gzip by default, or zstd) whose entries all sit under
/// `./app/`.
///
/// The result is reproducible: entries in byte order of their names, owner 0:0 with empty names, every mtime set to
/// the given time, permission bits kept (setuid, setgid and sticky removed), symlinks stored as symlinks, and the
/// same compressed bytes whatever the number of threads. The tree is streamed from disk through libarchive and the
/// compressor into the file, so memory does not grow with the slug's size.
public struct SlugPacker {
    /// The mtime written on every entry.
    public var mtime: Int64
    /// gzip at level 6 (gzip's and tar's default) or zstd at level 3 (zstd's default).
    public var compression: SlugCompression
    /// How many threads compress; the output does not depend on it.
    public var threads: Int
    /// The compressed size limit in bytes; past it, packing stops.
    var sizeLimit: Int64?
    /// Called before every entry; throws to stop (a timeout or a signal).
    var checkpoint: () throws -> Void = {}

    /// A packer whose entries all get `mtime`.
    public init(mtime: Int64, compression: SlugCompression = .gzip, threads: Int = GzipWriter.defaultThreads) {
        self.mtime = mtime
        self.compression = compression
        self.threads = threads
    }

    /// The packed slug's size and digest.
    public struct Output: Sendable {
        /// Size in bytes of the compressed file.
        public var size: Int64
        /// Hex SHA-256 of the compressed file.
        public var sha256: String
    }

    /// Packs `directory` into the new file `slugPath`.
    public func pack(_ directory: String, into slugPath: String) throws -> Output {
        let file = try HashingFileOutput(path: slugPath, limit: sizeLimit)
        let compressor: CompressingSink =
            switch compression {
            case .gzip: try GzipWriter(level: 6, threads: threads, to: file)
            // libzstd is fed from a thread of its own, so reading files and formatting tar go on while it copies
            // input, waits for a worker or writes its output: the in-process form of `tar | zstd -T0`.
            case .zstd: ThreadedSink(try ZstdWriter(level: 3, threads: threads, to: file))
            }
        let tar = try TarWriter(to: compressor)
        let root = try FileTree.openDirectory(path: directory)
        defer { close(root) }
        try tar.addDirectory("./app/", mode: 0o755, mtime: mtime)
        try addContents(root, prefix: "./app/", tar: tar)
        try tar.finish()
        try compressor.finish()
        let digest = try file.finish()
        return Output(size: file.byteCount, sha256: digest)
    }

    private func addContents(_ dirFD: Int32, prefix: String, tar: TarWriter) throws {
        for name in try FileTree.sortedEntries(dirFD) {
            try checkpoint()
            let path = prefix + name
            let st = try FileTree.lstatAt(dirFD, name)
            let mode = UInt32(st.st_mode & 0o777)
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try tar.addDirectory(path + "/", mode: mode, mtime: mtime)
                let sub = try FileTree.openDirectory(dirFD, name)
                defer { close(sub) }
                try addContents(sub, prefix: path + "/", tar: tar)
            case S_IFREG:
                let fd = openat(dirFD, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw FileTree.posixError("read", String(path.dropFirst(2))) }
                defer { close(fd) }
                try tar.addFile(path, mode: mode, mtime: mtime, size: Int64(st.st_size), contentsOf: fd)
            case S_IFLNK:
                try tar.addSymlink(path, target: FileTree.readLink(dirFD, name), mtime: mtime)
            default:
                let kind =
                    switch st.st_mode & S_IFMT {
                    case S_IFIFO: "a FIFO"
                    case S_IFSOCK: "a socket"
                    case S_IFCHR, S_IFBLK: "a device node"
                    default: "not a regular file"
                    }
                throw BuildError(
                    .unsupportedFile, "\(path.dropFirst(2)) is \(kind); a slug can only hold files, folders and symlinks.",
                    hint: "Remove it in the buildpack, or list it in .slugignore.")
            }
        }
    }
}
