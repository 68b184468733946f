import SlipwayArchive

#if canImport(Glibc)
    import Glibc
#endif

/// Reusing the compressed bytes of unchanged folders from the last build.
///
/// A slug's entries are written in byte order, so a folder is one contiguous run of tar bytes; ``GzipWriter``
/// compresses each block on its own, so once blocks are cut at both ends of that run its compressed bytes stand alone
/// and can be spliced into the next slug (see ``GzipWriter/splice(_:writeBytes:)``). Each folder two levels below the
/// app (`app/.heroku/ruby/`, `app/.heroku/jdk/`, `app/vendor/bundle/`: where the buildpacks put a runtime and the
/// dependencies) is a segment: its tar bytes are first hashed (SHA-256; the key also names the compressor, its level
/// and block size), then a cache entry under that key, verified by its own SHA-256, is spliced, or else the folder is
/// compressed between cuts and its compressed bytes recorded for the next build. The key covers every byte of the
/// folder's entries (names, modes, the slug's mtime, contents), never a file's mtime on disk, so a folder that
/// changed in any way is compressed afresh. The slug is the same valid single-member `.tar.gz` whether a segment was
/// spliced or compressed, and the same inputs and cache give the same bytes.
extension SlugPacker {
    /// Folders whose tar bytes are fewer than this are not worth the two cuts and a cache file.
    static let smallestSegment = 1 << 20

    /// Adds `folder` as a segment: spliced from the cache when its tar bytes are the same as when it was recorded,
    /// else compressed and recorded.
    func addSegment(
        _ folder: Folder, path: FileTree.Name, mode: UInt32, segments: SegmentContext,
        links: inout [HardLink.Key: HardLink], unpacked: inout Int64
    ) throws {
        guard let tar = segments.tar else { return }
        let router = segments.router
        let (linksBefore, unpackedBefore) = (links, unpacked)
        let tag = SlugSegmentCache.tag(path)
        // The folder's entries as the last build packed them: with that build's mtime, when asked to keep it.
        var earlier = self
        if reusedFoldersKeepTheirTime, let time = segments.cache.recordedTime(tag) { earlier.mtime = time }
        // The key: those tar bytes, hashed (the walk that counts the slug's links and size for the limits).
        try tar.flush()
        let hasher = HashingSink(prefix: segments.keyPrefix)
        router.target = hasher
        do {
            try earlier.addFolder(folder, path: path, mode: mode, tar: tar, links: &links, unpacked: &unpacked)
            try tar.flush()
        } catch {
            router.target = segments.gzip
            throw error
        }
        router.target = segments.gzip
        let key = hasher.digest()
        // Packing again writes the same entries; the limits were checked on the walk above.
        var (scratchLinks, scratchUnpacked) = (linksBefore, unpackedBefore)
        guard hasher.count >= UInt64(Self.smallestSegment) else {
            try addFolder(
                folder, path: path, mode: mode, tar: tar, links: &scratchLinks, unpacked: &scratchUnpacked)
            return
        }
        let cachedName = SlugSegmentCache.fileName(tag: tag, mtime: earlier.mtime, key: key)
        if let cached = GzipSegmentFile.Reader(folder: segments.cache.folder, name: cachedName, key: key),
            cached.segment.length == hasher.count
        {
            segments.cache.used.insert(cachedName)
            try segments.gzip.splice(cached.segment) { try cached.write(to: $0) }
            segments.reused.append(FileTree.shown(Array(path.dropFirst(2))))
            return
        }
        // Compressed between two cuts (whether or not the cache can be written: the slug's bytes do not depend on
        // it) and recorded under the key of the bytes compressed, hashed again as they go.
        let recorder = try? GzipSegmentFile.Writer(folder: segments.cache.folder)
        let check = HashingSink(prefix: segments.keyPrefix)
        if let recorder { try segments.gzip.beginSegment(recordingTo: recorder) } else { try segments.gzip.cut() }
        router.tee = check
        defer { router.tee = nil }
        try addFolder(folder, path: path, mode: mode, tar: tar, links: &scratchLinks, unpacked: &scratchUnpacked)
        try tar.flush()
        guard let recorder else { return try segments.gzip.cut() }
        let segment = try segments.gzip.endSegment()
        let checked = check.digest()
        let recordedName = SlugSegmentCache.fileName(tag: tag, mtime: mtime, key: checked)
        if (try? recorder.commit(segment, name: recordedName, key: checked)) != nil {
            segments.cache.used.insert(recordedName)
        }
    }
}

/// What packing with segments needs: the cache, the compressor, and the sink between the tar writer and it.
final class SegmentContext {
    let cache: SlugSegmentCache
    let router: SegmentRouter
    let gzip: GzipWriter
    var tar: TarWriter?
    /// The folders spliced from the cache, as `app/…`.
    var reused: [String] = []
    /// What every key starts with: the cache format and the compressor's settings.
    let keyPrefix = Array(
        "slipway-slug-segment 1 gzip libdeflate-\(GzipWriter.compressorVersion) level 6 block \(GzipWriter.blockSize)\n"
            .utf8)

    init(cache: SlugSegmentCache, router: SegmentRouter, gzip: GzipWriter) {
        self.cache = cache
        self.router = router
        self.gzip = gzip
    }
}

/// Passes the tar stream to the compressor, or to a hasher while a folder's key is computed; `tee` also gets every
/// byte.
final class SegmentRouter: ByteSink {
    var target: ByteSink
    var tee: ByteSink?

    init(to target: ByteSink) { self.target = target }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try tee?.write(bytes)
        try target.write(bytes)
    }
}

/// The folder `slug-segments` in the app's build cache: one file per recorded segment (``GzipSegmentFile``), named
/// `<folder>-<mtime>-<key>.gzseg`: a tag of the folder's path in the slug, the mtime its entries were packed with,
/// and the SHA-256 of its tar bytes. Build steps may write the cache, so the folder is opened without following a
/// symlink (a symlink or file in its place is removed and the folder made again), names are parsed, never trusted,
/// and a file is verified before use. After a slug is packed, the files it did not use are removed: the cache holds
/// the last build's segments only.
final class SlugSegmentCache {
    static let folderName = "slug-segments"
    let folder: Int32
    /// The files the slug being packed uses or recorded.
    var used: Set<String> = []
    /// The mtime of each folder's recorded segment (by tag), from the names found.
    private var times: [String: Int64] = [:]

    /// Opens (making it if needed) the folder in `cacheDirectory`; nil when that cannot be done (then nothing is
    /// reused or recorded, and the slug is packed as without a cache).
    init?(cacheDirectory: String) {
        let cache = open(cacheDirectory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard cache >= 0 else { return nil }
        defer { close(cache) }
        var fd = Self.openFolder(in: cache)
        if fd < 0 {
            // Not a folder (a symlink, a file): not ours to follow; removed and made again.
            unlinkat(cache, Self.folderName, 0)
            fd = Self.openFolder(in: cache)
        }
        guard fd >= 0 else { return nil }
        folder = fd
        for name in names() {
            let parts = FileTree.shown(name).split(separator: "-")
            guard parts.count == 3, parts[2].hasSuffix(".gzseg"), let time = Int64(parts[1]) else { continue }
            times[String(parts[0])] = max(times[String(parts[0])] ?? time, time)
        }
    }

    deinit { close(folder) }

    private static func openFolder(in cache: Int32) -> Int32 {
        mkdirat(cache, folderName, 0o700)
        return openat(cache, folderName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    }

    /// The tag of a folder's path in the slug: 16 hex digits of its SHA-256.
    static func tag(_ path: FileTree.Name) -> String {
        let hasher = HashingSink(prefix: path)
        return String(HashingSink.hex(hasher.digest()).prefix(16))
    }

    static func fileName(tag: String, mtime: Int64, key: [UInt8]) -> String {
        "\(tag)-\(mtime)-\(HashingSink.hex(key)).gzseg"
    }

    /// The mtime the folder tagged `tag` was recorded with, if the cache holds it.
    func recordedTime(_ tag: String) -> Int64? { times[tag] }

    /// The names in the folder, read through a descriptor of their own (a folder's read position is shared).
    private func names() -> [FileTree.Name] {
        let fd = openat(folder, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        return (try? FileTree.sortedEntries(fd)) ?? []
    }

    /// Removes every file of the folder that the slug did not use (best effort).
    func prune() {
        for name in names() where !used.contains(FileTree.shown(name)) {
            _ = FileTree.withCName(name) { unlinkat(folder, $0, 0) }
        }
    }
}
