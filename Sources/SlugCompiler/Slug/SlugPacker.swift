import SlipwayArchive

#if canImport(Glibc)
    import Glibc
#endif

/// Packs a build directory into a slug: a gzip-compressed tar whose entries all sit under `./app/`.
///
/// The result is reproducible: entries in byte order of their names, owner 0:0 with empty names, every mtime set to
/// the given time, permission bits kept (setuid, setgid and sticky removed), symlinks stored as symlinks. The tree is
/// streamed from disk through libarchive and zlib into the file, so memory does not grow with the slug's size.
struct SlugPacker {
    /// The mtime written on every entry.
    var mtime: Int64
    /// The compressed size limit in bytes; past it, packing stops.
    var sizeLimit: Int64?
    /// Called before every entry; throws to stop (a timeout or a signal).
    var checkpoint: () throws -> Void = {}

    /// The packed slug's size and digest.
    struct Output {
        var size: Int64
        var sha256: String
    }

    /// Packs `directory` into the new file `slugPath`.
    func pack(_ directory: String, into slugPath: String) throws -> Output {
        let file = try HashingFileOutput(path: slugPath, limit: sizeLimit)
        let gzip = try GzipWriter(level: 6, to: file)
        let tar = try TarWriter(to: gzip)
        let root = try FileTree.openDirectory(path: directory)
        defer { close(root) }
        try tar.addDirectory("./app/", mode: 0o755, mtime: mtime)
        try addContents(root, prefix: "./app/", tar: tar)
        try tar.finish()
        try gzip.finish()
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
