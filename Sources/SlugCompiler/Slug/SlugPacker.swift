public import SlipwayArchive
public import SlipwaySpool

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
    /// The most the slug's files may hold once unpacked, in bytes (their sizes, sparse or not, as a runner writes
    /// them); past it, packing stops. Nil: no limit.
    public var unpackedLimit: Int64?
    /// Called before every entry; throws to stop (a timeout or a signal).
    var checkpoint: () throws -> Void = {}
    /// The app's build cache, where a gzip slug keeps the compressed bytes of its large folders and reuses those of
    /// an unchanged one from the last build (see ``SlugSegmentCache``); nil: every byte is compressed afresh.
    public var segmentCacheDirectory: String?
    /// Whether a reused folder's entries keep the mtime of the build that recorded them (so that a build of the next
    /// commit, whose mtime differs, reuses it); false: every entry gets ``mtime``.
    public var reusedFoldersKeepTheirTime = false
    /// The app's build cache, whose folders that links in the build folder name are packed in their place (see
    /// ``CacheLinks``); nil: every link is packed as a link.
    public var cacheLinks: CacheLinks?

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
        /// The folders (as `app/…`) whose compressed bytes came from the last build, in slug order.
        public var reusedFolders: [String] = []
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
        // Segments: gzip only (a zstd slug compresses every byte; its frames could be joined the same way).
        let segments = (compressor as? GzipWriter).flatMap { gzip in
            segmentCacheDirectory.flatMap { SlugSegmentCache(cacheDirectory: $0) }.map {
                SegmentContext(cache: $0, router: SegmentRouter(to: gzip), gzip: gzip)
            }
        }
        let tar = try TarWriter(to: segments?.router ?? compressor)
        segments?.tar = tar
        let root = try FileTree.openDirectory(path: directory)
        defer { close(root) }
        try tar.addDirectory("./app/", mode: 0o755, mtime: mtime)
        var links: [HardLink.Key: HardLink] = [:]
        var unpacked: Int64 = 0
        try addContents(
            root, prefix: Array("./app/".utf8), tar: tar, links: &links, unpacked: &unpacked, segments: segments)
        // A file with more links than the build folder holds is linked to something outside it (a buildpack that
        // ran `ln /etc/shadow app/x`): its content is not the app's to ship.
        if let outside = links.values.filter({ $0.seen < $0.total }).min(by: { $0.firstPath < $1.firstPath }) {
            throw BuildError(
                .unsupportedFile,
                "\(outside.firstPath) is a hard link to a file outside the build folder (\(outside.total) links, "
                    + "\(outside.seen) inside); a slug only holds the app's own files.",
                hint: "Copy the file instead of linking it in the buildpack, or list it in .slugignore.")
        }
        try tar.finish()
        try compressor.finish()
        let digest = try file.finish()
        segments?.cache.prune()
        return Output(size: file.byteCount, sha256: digest, reusedFolders: segments?.reused ?? [])
    }

    /// Where a folder of the slug is read from: an entry of its parent folder, or the folder of the build cache that
    /// a link names.
    enum Folder {
        case entry(Int32, FileTree.Name)
        case cache(CacheLinks, FileTree.Name)

        func open() throws -> Int32 {
            switch self {
            case .entry(let dirFD, let name): return try FileTree.openDirectory(dirFD, name)
            case .cache(let cache, let target):
                guard let fd = cache.open(target) else { throw FileTree.posixError("open", FileTree.shown(target)) }
                return fd
            }
        }
    }

    /// Adds `folder` (named `path` in the slug) and everything in it.
    func addFolder(
        _ folder: Folder, path: FileTree.Name, mode: UInt32, tar: TarWriter,
        links: inout [HardLink.Key: HardLink], unpacked: inout Int64, segments: SegmentContext? = nil
    ) throws {
        try tar.addDirectory(path + [UInt8(ascii: "/")], mode: mode, mtime: mtime)
        let sub = try folder.open()
        defer { close(sub) }
        // Inside a folder of the cache, links stay links.
        var packer = self
        if case .cache = folder { packer.cacheLinks = nil }
        try packer.addContents(
            sub, prefix: path + [UInt8(ascii: "/")], tar: tar, links: &links, unpacked: &unpacked, segments: segments)
    }

    /// A regular file with several links: how many of them the build folder holds.
    struct HardLink {
        struct Key: Hashable {
            var device: UInt64
            var inode: UInt64
        }
        var total: Int
        var seen: Int
        var firstPath: String
    }

    /// Adds the entries of the open folder `dirFD`, named `prefix` in the slug. With `segments`, each folder two
    /// levels below the app (`app/.heroku/ruby/`) is a segment (see ``addSegment``).
    func addContents(
        _ dirFD: Int32, prefix: FileTree.Name, tar: TarWriter, links: inout [HardLink.Key: HardLink],
        unpacked: inout Int64, segments: SegmentContext? = nil
    ) throws {
        // "./app/" holds two slashes: with three, the folders listed here are two levels below the app.
        let segmentLevel = segments != nil && prefix.lazy.filter { $0 == UInt8(ascii: "/") }.count == 3
        for name in try FileTree.sortedEntries(dirFD) {
            try checkpoint()
            let path = prefix + name
            // For messages: the path inside the app, as `app/…`.
            let shown = FileTree.shown(Array(path.dropFirst(2)))
            var st = try FileTree.lstatAt(dirFD, name)
            var folder = Folder.entry(dirFD, name)
            var target: FileTree.Name = []
            if st.st_mode & S_IFMT == S_IFLNK {
                target = try FileTree.readLink(dirFD, name)
                if let cacheLinks, let fd = cacheLinks.open(target) {
                    // A folder of the build cache, packed in the link's place (its own mode).
                    defer { close(fd) }
                    guard fstat(fd, &st) == 0 else { throw FileTree.posixError("stat", FileTree.shown(target)) }
                    folder = .cache(cacheLinks, target)
                }
            }
            let mode = UInt32(st.st_mode & 0o777)
            switch st.st_mode & S_IFMT {
            case S_IFDIR where segmentLevel:
                if let segments {
                    try addSegment(
                        folder, path: path, mode: mode, segments: segments, links: &links, unpacked: &unpacked)
                }
            case S_IFDIR:
                try addFolder(
                    folder, path: path, mode: mode, tar: tar, links: &links, unpacked: &unpacked, segments: segments)
            case S_IFREG:
                if st.st_nlink > 1 {
                    let key = HardLink.Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
                    links[key, default: HardLink(total: Int(st.st_nlink), seen: 0, firstPath: shown)].seen += 1
                }
                unpacked += Int64(st.st_size)
                if let unpackedLimit, unpacked > unpackedLimit {
                    throw BuildError(
                        .slugTooLarge,
                        "The slug would unpack to more than \(unpackedLimit >> 20)M (at \(shown), "
                            + "\(st.st_size >> 20)M); a runner writes every byte of it, sparse files too.",
                        hint: "Remove files from the slug with .slugignore, or ask the operator to raise "
                            + "SLIPWAY_MAX_SLUG_UNPACKED_MB.")
                }
                let fd = FileTree.withCName(name) { openat(dirFD, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
                guard fd >= 0 else { throw FileTree.posixError("read", shown) }
                defer { close(fd) }
                try tar.addFile(path, mode: mode, mtime: mtime, size: Int64(st.st_size), contentsOf: fd)
            case S_IFLNK:
                try tar.addSymlink(path, target: target, mtime: mtime)
            default:
                let kind =
                    switch st.st_mode & S_IFMT {
                    case S_IFIFO: "a FIFO"
                    case S_IFSOCK: "a socket"
                    case S_IFCHR, S_IFBLK: "a device node"
                    default: "not a regular file"
                    }
                throw BuildError(
                    .unsupportedFile, "\(shown) is \(kind); a slug can only hold files, folders and symlinks.",
                    hint: "Remove it in the buildpack, or list it in .slugignore.")
            }
        }
    }
}
