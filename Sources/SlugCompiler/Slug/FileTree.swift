import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Low-level helpers for walking and copying trees without ever following a symlink.
///
/// Every call works relative to an open directory descriptor (`openat`, `fstatat` with `AT_SYMLINK_NOFOLLOW`), so a
/// symlink in an app's tree (to `/etc`, to `../../spool`) is handled as a link and never as what it points to.
enum FileTree {
    /// A name in a folder, byte for byte: Linux names need not be UTF-8, and a name that is not must still reach the
    /// slug unchanged, so names are never turned into `String`s except to be shown.
    typealias Name = [UInt8]

    /// The entries of the open directory `dirFD`, sorted by their bytes (so walks are reproducible).
    static func sortedEntries(_ dirFD: Int32) throws -> [Name] {
        var names: [Name]
        do { names = try FileSystem.names(inFolder: dirFD) } catch {
            throw FileTreeError(operation: error.operation, path: "", code: error.errno)
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        return names
    }

    /// Calls `body` with `name` as a NUL-terminated C string.
    static func withCName<T>(_ name: Name, _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try body(FileSystem.cString(name))
    }

    /// `name` for messages (not UTF-8 bytes shown as U+FFFD).
    static func shown(_ name: Name) -> String { String(decoding: name, as: UTF8.self) }

    /// `fstatat` without following symlinks.
    static func lstatAt(_ dirFD: Int32, _ name: Name) throws -> stat {
        var st = stat()
        guard withCName(name, { fstatat(dirFD, $0, &st, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            throw posixError("stat", shown(name))
        }
        return st
    }

    /// Opens the subdirectory `name` of `dirFD`, refusing to follow a symlink.
    static func openDirectory(_ dirFD: Int32, _ name: Name) throws -> Int32 {
        let fd = withCName(name) { openat(dirFD, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { throw posixError("open", shown(name)) }
        return fd
    }

    /// Opens a directory by path.
    static func openDirectory(path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw posixError("open", path) }
        return fd
    }

    /// The target of the symlink `name` in `dirFD`, byte for byte.
    static func readLink(_ dirFD: Int32, _ name: Name) throws -> Name {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = withCName(name) { readlinkat(dirFD, $0, &buffer, buffer.count - 1) }
        guard n >= 0 else { throw posixError("readlink", shown(name)) }
        return buffer[0..<n].map { UInt8(bitPattern: $0) }
    }

    /// Copies the regular file `name` from `fromFD` to a new file in `toFD`, keeping `mode`.
    static func copyFile(_ name: Name, from fromFD: Int32, to toFD: Int32, mode: mode_t) throws {
        let src = withCName(name) { openat(fromFD, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard src >= 0 else { throw posixError("open", shown(name)) }
        defer { close(src) }
        let dst = withCName(name) { openat(toFD, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) }
        guard dst >= 0 else { throw posixError("create", shown(name)) }
        defer { close(dst) }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(src, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw posixError("read", shown(name))
            }
            do {
                try buffer.withUnsafeBytes {
                    try DurableFile.writeAll(dst, UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: shown(name))
                }
            } catch let failure as SystemError {
                throw FileTreeError(operation: "write", path: shown(name), code: failure.errno)
            }
        }
        // The umask may have narrowed the mode given to open.
        fchmod(dst, mode)
    }

    /// Gives `path` and everything below it to `uid`:`gid`, never following symlinks (a link is changed itself).
    static func changeOwner(_ path: String, uid: uid_t, gid: gid_t) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw posixError("stat", path) }
        if st.st_uid != uid || st.st_gid != gid {
            guard lchown(path, uid, gid) == 0 else { throw posixError("change the owner of", path) }
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return }
        let fd = try openDirectory(path: path)
        defer { close(fd) }
        try changeOwner(in: fd, prefix: path, uid: uid, gid: gid)
    }

    private static func changeOwner(in dirFD: Int32, prefix: String, uid: uid_t, gid: gid_t) throws {
        for name in try sortedEntries(dirFD) {
            let st = try lstatAt(dirFD, name)
            if st.st_uid != uid || st.st_gid != gid {
                guard withCName(name, { fchownat(dirFD, $0, uid, gid, AT_SYMLINK_NOFOLLOW) }) == 0 else {
                    throw posixError("change the owner of", "\(prefix)/\(shown(name))")
                }
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                let sub = try openDirectory(dirFD, name)
                defer { close(sub) }
                try changeOwner(in: sub, prefix: "\(prefix)/\(shown(name))", uid: uid, gid: gid)
            }
        }
    }

    static func posixError(_ operation: String, _ path: String) -> FileTreeError {
        FileTreeError(operation: operation, path: path, code: errno)
    }
}

/// A file operation that failed, with the path and the system's reason.
struct FileTreeError: Error, CustomStringConvertible {
    var operation: String
    var path: String
    var code: Int32
    var description: String { "cannot \(operation) \(path): \(String(cString: strerror(code)))" }
}
