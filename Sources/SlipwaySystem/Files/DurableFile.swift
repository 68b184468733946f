public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Files that survive a crash whole: written under a temporary name, flushed, renamed over the old one, and the
/// folder flushed, so a reader (or the machine after a power cut) sees the old file or the new one, never a mix.
///
/// (Direct calls rather than swift-system's `FileDescriptor`: it has neither an atomic replace nor a folder fsync,
/// and its `open` does not set `O_CLOEXEC` unless asked, which every descriptor here must have.)
public enum DurableFile {
    /// Replaces `path` with `data`: a new temporary file beside it (created with `mode`), every byte written, fsync,
    /// rename over `path`, fsync of the folder. With `keepOwner`, the new file gets the owner of the file it replaces
    /// (else of the folder) where this process may give it (as root).
    public static func replace(_ path: String, with data: Data, mode: mode_t = 0o644, keepOwner: Bool = false) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let temp = "\(path).tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError("write", temp, errno: errno) }
        var renamed = false
        defer { if !renamed { unlink(temp) } }
        do {
            defer { close(fd) }
            guard fchmod(fd, mode) == 0 else { throw SystemError("write", temp, errno: errno) }
            if keepOwner {
                var owner = stat()
                if stat(path, &owner) == 0 || stat(folder, &owner) == 0 { _ = fchown(fd, owner.st_uid, owner.st_gid) }
            }
            try data.withUnsafeBytes { try writeAll(fd, $0, path: temp) }
            try sync(fd, path: temp)
        }
        guard rename(temp, path) == 0 else { throw SystemError("replace", path, errno: errno) }
        renamed = true
        try? syncFolder(folder)
    }

    /// Creates the new file `path` (it must not exist) holding `data`, flushed to disk before returning.
    public static func create(_ path: String, with data: Data, mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError("create", path, errno: errno) }
        defer { close(fd) }
        try data.withUnsafeBytes { try writeAll(fd, $0, path: path) }
        try sync(fd, path: path)
    }

    /// Creates `path` holding `data` unless it exists, whole or not at all: a temporary file beside it (`mode`), every
    /// byte written, fsync, then a hard link to `path`, which never replaces a file another process made first.
    /// Returns whether this call made it; false means `path` was already there (read it: it is complete).
    @discardableResult
    public static func createOnce(_ path: String, with data: Data, mode: mode_t = 0o600) throws -> Bool {
        let folder = (path as NSString).deletingLastPathComponent
        let temp = "\(path).tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError("create", temp, errno: errno) }
        defer { unlink(temp) }
        do {
            defer { close(fd) }
            guard fchmod(fd, mode) == 0 else { throw SystemError("create", temp, errno: errno) }
            try data.withUnsafeBytes { try writeAll(fd, $0, path: temp) }
            try sync(fd, path: temp)
        }
        guard link(temp, path) == 0 else {
            if errno == EEXIST { return false }
            throw SystemError("create", path, errno: errno)
        }
        try? syncFolder(folder)
        return true
    }

    /// Writes every byte of `bytes` to `fd`, retrying short writes and EINTR.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(SystemError) {
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path, errno: errno)
            }
            offset += n
        }
    }

    /// Flushes an open file to disk.
    public static func sync(_ fd: Int32, path: String) throws(SystemError) {
        guard fsync(fd) == 0 else { throw SystemError("fsync", path, errno: errno) }
    }

    /// Flushes a folder's entries (a rename or a new file in it) to disk. Callers for whom it is best effort
    /// (the rename itself already happened) use `try?`.
    public static func syncFolder(_ path: String) throws {
        let folder = path.isEmpty ? "." : path
        let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", folder, errno: errno) }
        defer { close(fd) }
        try sync(fd, path: folder)
    }
}
