import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The file operations the server's state files (authorized_keys, app settings, config vars, staged releases, hooks)
/// need, with the guarantees they rely on: whole-file atomic replacement (readers see the old file or the new one,
/// never a mix, and a crash loses neither), and an exclusive lock around read-modify-write so concurrent writers
/// never lose each other's changes.
enum StateFiles {
    /// The whole file, or nil if it does not exist.
    static func contents(of path: String) throws -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw DoorError.storage("read", path, errno: errno)
        }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DoorError.storage("read", path, errno: errno)
            }
            if n == 0 { return data }
            data.append(contentsOf: buffer[0..<n])
        }
    }

    /// Replaces `path` with `data`: a temporary file in the same folder (created with `mode`, and the owner of the
    /// file it replaces, or else of the folder, when allowed), fsync, rename over `path`, fsync of the folder.
    static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        let folder = (path as NSString).deletingLastPathComponent
        try makeFolders(folder)
        let temp = "\(path).tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw DoorError.storage("write", temp, errno: errno) }
        var renamed = false
        defer { if !renamed { unlink(temp) } }
        do {
            defer { close(fd) }
            guard fchmod(fd, mode) == 0 else { throw DoorError.storage("write", temp, errno: errno) }
            // Keep the owner: a root-run `keys add` must not leave authorized_keys unreadable to the git user that
            // sshd reads it as. Not allowed unless root; then the file stays the writer's, which is what it was.
            var owner = stat()
            if stat(path, &owner) == 0 || stat(folder, &owner) == 0 { _ = fchown(fd, owner.st_uid, owner.st_gid) }
            try data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw DoorError.storage("write", temp, errno: errno)
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw DoorError.storage("write", temp, errno: errno) }
        }
        guard rename(temp, path) == 0 else { throw DoorError.storage("replace", path, errno: errno) }
        renamed = true
        syncFolder(folder)
    }

    /// Creates `path` and its missing parents (mode 0755), as `mkdir -p`.
    static func makeFolders(_ path: String) throws {
        var current = ""
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw DoorError.storage("create", current, errno: errno)
            }
        }
    }

    /// Flushes a folder's entries (a rename, a new folder) to disk.
    static func syncFolder(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Runs `body` holding an exclusive `flock(2)` on `lockPath` (created 0600 if missing, and never removed:
    /// removing a lock file lets two holders lock two different files). The kernel drops the lock if the process
    /// dies, so a crash never leaves it stuck.
    static func withExclusiveLock<T>(_ lockPath: String, _ body: () throws -> T) throws -> T {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DoorError.storage("open the lock", lockPath, errno: errno) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw DoorError.storage("lock", lockPath, errno: errno) }
        }
        return try body()
    }

    /// The lines of a text file, each without its `\n` (a `\r` stays, so foreign lines round-trip).
    static func lines(of data: Data) -> [[UInt8]] {
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { [UInt8]($0) }
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    /// Lines joined back into a file, each ending with `\n`.
    static func text(of lines: [[UInt8]]) -> Data {
        var data = Data()
        for line in lines {
            data.append(contentsOf: line)
            data.append(0x0A)
        }
        return data
    }
}
