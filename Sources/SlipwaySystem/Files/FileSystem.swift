public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Reading whole files, creating folders and removing trees: the plain file operations every part of Slipway needs,
/// on descriptors that are never inherited by a child (`O_CLOEXEC`) and never following a symlink where removing.
public enum FileSystem {
    /// The whole file, or nil if it (or a folder above it) does not exist.
    public static func read(_ path: String) throws(SystemError) -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw SystemError("open", path, errno: errno)
        }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path, errno: errno)
            }
            if n == 0 { return data }
            data.append(contentsOf: buffer[0..<n])
        }
    }

    /// Creates `path` and its missing parents with `mode`, as `mkdir -p`.
    public static func makeFolders(_ path: String, mode: mode_t) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST { throw SystemError("create", current, errno: errno) }
        }
    }

    /// Creates the folder `path` (its parent must exist) when missing, and gives it to `owner` with `mode`; a symlink
    /// or anything else than a folder at `path` is refused, never followed (its owner may have put it there).
    public static func makeOwnedFolder(_ path: String, owner: Owner, mode: mode_t) throws(SystemError) {
        if mkdir(path, mode) != 0 && errno != EEXIST { throw SystemError("create", path, errno: errno) }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path, errno: errno) }
        defer { close(fd) }
        guard fchown(fd, owner.uid, owner.gid) == 0, fchmod(fd, mode) == 0 else {
            throw SystemError("chown", path, errno: errno)
        }
    }

    /// Removes `path` and everything below it, never following symlinks; read-only folders (a slug may hold them)
    /// are made writable first so their entries can go. Nothing there is fine. Best effort below `path`; a `path`
    /// that is still there afterwards is the error.
    public static func removeTree(_ path: String) throws(SystemError) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw SystemError("remove", path, errno: errno)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            chmod(path, 0o700)
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 {
                removeContents(fd)
                close(fd)
            }
            if rmdir(path) != 0 && errno != ENOENT { throw SystemError("remove", path, errno: errno) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw SystemError("remove", path, errno: errno)
        }
    }

    /// Removes every entry of the open folder `folder`, depth first, through `*at` calls (a path that grows deep
    /// never reaches PATH_MAX), by the names' bytes (a name that is not UTF-8 is removed too).
    private static func removeContents(_ folder: Int32) {
        for name in (try? names(inFolder: folder)) ?? [] {
            let cName = cString(name)
            var info = stat()
            guard fstatat(folder, cName, &info, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFDIR {
                fchmodat(folder, cName, 0o700, 0)
                let sub = openat(folder, cName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if sub >= 0 {
                    removeContents(sub)
                    close(sub)
                }
                unlinkat(folder, cName, AT_REMOVEDIR)
            } else {
                unlinkat(folder, cName, 0)
            }
        }
    }

    /// The names in the open folder `folder`, byte for byte (Linux names need not be UTF-8), without `.` and `..`,
    /// in the order the file system gives them; the descriptor stays open.
    public static func names(inFolder folder: Int32) throws(SystemError) -> [[UInt8]] {
        let copy = fcntl(folder, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { throw SystemError("read the folder", errno: errno) }
        guard let stream = fdopendir(copy) else {
            let failure = errno
            close(copy)
            throw SystemError("read the folder", errno: failure)
        }
        defer { closedir(stream) }
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw SystemError("read the folder", errno: errno) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
    }

    /// The names in the folder `path`, as text, without `.` and `..`: for folders whose names Slipway makes itself
    /// (the spool, `/proc`).
    public static func names(in path: String) throws(SystemError) -> [String] {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path, errno: errno) }
        defer { close(fd) }
        do {
            return try names(inFolder: fd).map { String(decoding: $0, as: UTF8.self) }
        } catch {
            throw SystemError(error.operation, path, errno: error.errno)
        }
    }

    /// `name` as a NUL-terminated C string.
    public static func cString(_ name: [UInt8]) -> [CChar] {
        name.map { CChar(bitPattern: $0) } + [0]
    }
}
