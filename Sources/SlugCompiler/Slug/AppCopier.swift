#if canImport(Glibc)
    import Glibc
#endif

/// Copies an app's source into a fresh build directory: `.git` is skipped, `.slugignore` applied, symlinks kept as
/// symlinks, file modes kept (without setuid, setgid and sticky bits). The source is never modified.
struct AppCopier {
    var ignore: SlugIgnore
    /// Names of entries that could not be copied (sockets, FIFOs, devices), reported as warnings.
    private(set) var skipped: [String] = []
    /// How many entries `.slugignore` removed.
    private(set) var ignoredCount = 0
    /// Folders never copied, by device and inode: the build's own workspace and outputs when they lie inside the
    /// source (`slugc build .` writes `./slug`; `TMPDIR` may be inside the app), which would otherwise be copied
    /// into themselves without end.
    private var excluded: Set<FolderIdentity> = []

    private struct FolderIdentity: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    init(ignore: SlugIgnore, excluding folders: [String] = []) {
        self.ignore = ignore
        for folder in folders {
            var st = stat()
            if stat(folder, &st) == 0 {
                excluded.insert(FolderIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))
            }
        }
    }

    /// Copies the contents of `source` into the existing, empty directory `destination`.
    mutating func copy(from source: String, to destination: String) throws {
        let from = try FileTree.openDirectory(path: source)
        defer { close(from) }
        let to = try FileTree.openDirectory(path: destination)
        defer { close(to) }
        try copyContents(from, to, prefix: [])
    }

    private mutating func copyContents(_ from: Int32, _ to: Int32, prefix: FileTree.Name) throws {
        for name in try FileTree.sortedEntries(from) {
            if name == Array(".git".utf8) { continue }
            let relative = prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name
            let shown = FileTree.shown(relative)
            let st = try FileTree.lstatAt(from, name)
            let type = st.st_mode & S_IFMT
            let mode = st.st_mode & 0o777
            if ignore.ignores(bytes: relative, isDirectory: type == S_IFDIR) {
                ignoredCount += 1
                continue
            }
            switch type {
            case S_IFDIR:
                if excluded.contains(FolderIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))) { continue }
                guard FileTree.withCName(name, { mkdirat(to, $0, 0o700) }) == 0 else {
                    throw FileTree.posixError("create folder", shown)
                }
                let sub = try FileTree.openDirectory(from, name)
                defer { close(sub) }
                let subTo = try FileTree.openDirectory(to, name)
                defer { close(subTo) }
                try copyContents(sub, subTo, prefix: relative)
                fchmod(subTo, mode | 0o700)
            case S_IFREG:
                do {
                    try FileTree.copyFile(name, from: from, to: to, mode: mode)
                } catch let error as FileTreeError {
                    throw FileTreeError(operation: error.operation, path: shown, code: error.code)
                }
            case S_IFLNK:
                let target = try FileTree.readLink(from, name)
                let made = FileTree.withCName(target) { cTarget in
                    FileTree.withCName(name) { symlinkat(cTarget, to, $0) }
                }
                guard made == 0 else { throw FileTree.posixError("create symlink", shown) }
            default:
                skipped.append(shown)
            }
        }
    }
}
