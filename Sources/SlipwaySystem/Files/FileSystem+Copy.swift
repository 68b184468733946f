public import CProcessShims
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension FileSystem {
    /// The owner given to every entry of a copy.
    public struct Owner: Sendable, Equatable {
        public var uid: uid_t
        public var gid: gid_t

        public init(uid: uid_t, gid: gid_t) {
            self.uid = uid
            self.gid = gid
        }
    }

    /// Copies the folder `source` to `target` (which must not exist): folders, regular files (their bytes and
    /// permission bits, set-user and set-group bits dropped) and symlinks as symlinks (never followed, so nothing
    /// outside `source` is read); other kinds of files (sockets, fifos, devices) are left out. Every entry is opened
    /// relative to its folder without following links, so a link placed in the tree cannot redirect the copy.
    /// With `owner` (as root), every entry of the copy belongs to it.
    public static func copyTree(_ source: String, to target: String, owner: Owner? = nil) throws(SystemError) {
        let from = open(source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard from >= 0 else { throw SystemError("open", source, errno: errno) }
        defer { close(from) }
        var info = stat()
        guard fstat(from, &info) == 0 else { throw SystemError("stat", source, errno: errno) }
        guard mkdir(target, 0o700) == 0 else { throw SystemError("create", target, errno: errno) }
        let to = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard to >= 0 else { throw SystemError("open", target, errno: errno) }
        defer { close(to) }
        try copyContents(from, to, path: target, owner: owner)
        try finish(to, mode: info.st_mode, owner: owner, path: target)
    }

    /// Copies every entry of the open folder `from` into the open, empty folder `to` (`path` names it in errors).
    private static func copyContents(_ from: Int32, _ to: Int32, path: String, owner: Owner?) throws(SystemError) {
        for name in try names(inFolder: from) {
            let cName = cString(name)
            let entryPath = path + "/" + String(decoding: name, as: UTF8.self)
            var info = stat()
            guard fstatat(from, cName, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw SystemError("stat", entryPath, errno: errno)
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                let sub = openat(from, cName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard sub >= 0 else { throw SystemError("open", entryPath, errno: errno) }
                defer { close(sub) }
                guard mkdirat(to, cName, 0o700) == 0 else { throw SystemError("create", entryPath, errno: errno) }
                let made = openat(to, cName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard made >= 0 else { throw SystemError("open", entryPath, errno: errno) }
                defer { close(made) }
                try copyContents(sub, made, path: entryPath, owner: owner)
                try finish(made, mode: info.st_mode, owner: owner, path: entryPath)
            case S_IFREG:
                try copyFile(
                    from, to, cName, mode: info.st_mode, size: Int(info.st_size), owner: owner, path: entryPath)
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlinkat(from, cName, &buffer, buffer.count - 1)
                guard length >= 0 else { throw SystemError("read the link", entryPath, errno: errno) }
                buffer[length] = 0
                guard symlinkat(buffer, to, cName) == 0 else { throw SystemError("create", entryPath, errno: errno) }
                if let owner, fchownat(to, cName, owner.uid, owner.gid, AT_SYMLINK_NOFOLLOW) != 0 {
                    throw SystemError("change the owner of", entryPath, errno: errno)
                }
            default:
                continue
            }
        }
    }

    /// Copies one regular file's bytes, in the kernel where it can.
    private static func copyFile(
        _ from: Int32, _ to: Int32, _ name: [CChar], mode: mode_t, size: Int, owner: Owner?, path: String
    ) throws(SystemError) {
        let input = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw SystemError("open", path, errno: errno) }
        defer { close(input) }
        let output = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw SystemError("create", path, errno: errno) }
        defer { close(output) }
        var left = size
        while left > 0 {
            let n = slipway_copy_file_range(input, output, UInt(left))
            if n > 0 {
                left -= n
            } else if n == 0 {
                break  // the file shrank meanwhile
            } else if errno == EINTR {
                continue
            } else if errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP {
                try copyByReading(input, output, path: path)
                break
            } else {
                throw SystemError("copy", path, errno: errno)
            }
        }
        try finish(output, mode: mode, owner: owner, path: path)
    }

    /// The plain copy loop, where the kernel cannot copy between the two filesystems.
    private static func copyByReading(_ input: Int32, _ output: Int32, path: String) throws(SystemError) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw SystemError("read", path, errno: errno) }
            if n == 0 { return }
            var failure: SystemError?
            buffer.withUnsafeBytes { bytes in
                do throws(SystemError) {
                    try DurableFile.writeAll(output, UnsafeRawBufferPointer(rebasing: bytes[0..<n]), path: path)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
        }
    }

    /// Gives a copied file or folder its owner, then its permission bits (set-user and set-group bits dropped).
    private static func finish(_ fd: Int32, mode: mode_t, owner: Owner?, path: String) throws(SystemError) {
        if let owner, fchown(fd, owner.uid, owner.gid) != 0 {
            throw SystemError("change the owner of", path, errno: errno)
        }
        guard fchmod(fd, mode & 0o1777) == 0 else { throw SystemError("change the mode of", path, errno: errno) }
    }
}
