public import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The file operations the server's state files (authorized_keys, app settings, config vars, staged releases, hooks)
/// need, with the guarantees they rely on: whole-file atomic replacement (readers see the old file or the new one,
/// never a mix, and a crash loses neither), and an exclusive lock around read-modify-write so concurrent writers
/// never lose each other's changes.
public enum StateFiles {
    /// The whole file, or nil if it does not exist.
    public static func contents(of path: String) throws -> Data? {
        do { return try FileSystem.read(path) } catch {
            throw DoorError.storage(error)
        }
    }

    /// Replaces `path` with `data` (``DurableFile/replace(_:with:mode:keepOwner:)``), keeping its owner: a root-run
    /// `keys add` must not leave authorized_keys unreadable to the git user that sshd reads it as.
    public static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        try makeFolders((path as NSString).deletingLastPathComponent)
        do {
            try DurableFile.replace(path, with: data, mode: mode, keepOwner: true)
        } catch let failure as SystemError {
            throw DoorError.storage(failure)
        }
    }

    /// Creates `path` and its missing parents (mode 0755), as `mkdir -p`.
    public static func makeFolders(_ path: String) throws {
        do { try FileSystem.makeFolders(path, mode: 0o755) } catch {
            throw DoorError.storage(error)
        }
    }

    /// Flushes a folder's entries (a rename, a new folder) to disk.
    public static func syncFolder(_ path: String) { try? DurableFile.syncFolder(path) }

    /// Runs `body` holding an exclusive lock (`FileLock`) on `lockPath` (created 0600 if missing, and never removed:
    /// removing a lock file lets two holders lock two different files). The kernel drops the lock if the process
    /// dies, so a crash never leaves it stuck.
    public static func withExclusiveLock<T>(_ lockPath: String, _ body: () throws -> T) throws -> T {
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw DoorError.storage("open the lock", lockPath, errno: errno) }
        defer { close(fd) }
        guard FileLock.wait(fd) else { throw DoorError.storage("lock", lockPath, errno: errno) }
        return try body()
    }

    /// The lines of a text file, each without its `\n` (a `\r` stays, so foreign lines round-trip).
    public static func lines(of data: Data) -> [[UInt8]] {
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false).map { [UInt8]($0) }
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    /// Lines joined back into a file, each ending with `\n`.
    public static func text(of lines: [[UInt8]]) -> Data {
        var data = Data()
        for line in lines {
            data.append(contentsOf: line)
            data.append(0x0A)
        }
        return data
    }
}
