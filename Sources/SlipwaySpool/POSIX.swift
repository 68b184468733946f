import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few POSIX calls the spool is built from, each turning a failure into a ``SpoolError`` that names the path.
enum POSIX {
    /// `open(2)` with `O_CLOEXEC`, retried on `EINTR`.
    static func openFile(_ path: String, _ flags: Int32, mode: mode_t = 0) throws -> Int32 {
        while true {
            let fd = open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw SpoolError.system("open", path: path, errno: errno)
        }
    }

    /// `close(2)`; a failure is reported, since on some file systems a deferred write error surfaces there.
    static func closeFile(_ fd: Int32, path: String) throws {
        if close(fd) != 0 && errno != EINTR {
            throw SpoolError.system("close", path: path, errno: errno)
        }
    }

    /// Writes all of `bytes`, retrying short writes and `EINTR` (the system layer's ``DurableFile``).
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        try spoolErrors { try DurableFile.writeAll(fd, bytes, path: path) }
    }

    /// Runs a call of the system layer, reporting its failure as a ``SpoolError`` that names the path.
    private static func spoolErrors(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let failure as SystemError {
            throw SpoolError.system(failure.operation, path: failure.path, errno: failure.errno)
        }
    }

    /// Reads up to `buffer.count` bytes; 0 at end of file.
    static func readSome(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
        while true {
            let n = read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw SpoolError.system("read", path: path, errno: errno)
        }
    }

    /// The whole contents of a (small) file.
    static func readFile(_ path: String) throws -> Data {
        let data: Data?
        do { data = try FileSystem.read(path) } catch {
            throw SpoolError.system(error.operation, path: error.path, errno: error.errno)
        }
        guard let data else { throw SpoolError.system("open", path: path, errno: ENOENT) }
        return data
    }

    /// Flushes an open file to disk (``DurableFile/sync(_:path:)``).
    static func sync(_ fd: Int32, path: String) throws {
        try spoolErrors { try DurableFile.sync(fd, path: path) }
    }

    /// Flushes a folder's entries (names created, renamed or removed in it) to disk. Linux needs the folder
    /// itself fsynced for a new name to survive a power cut.
    static func syncDirectory(_ path: String) throws {
        try spoolErrors { try DurableFile.syncFolder(path) }
    }

    /// `lstat(2)`; nil when nothing is there.
    static func status(_ path: String) throws -> stat? {
        var info = stat()
        if lstat(path, &info) == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw SpoolError.system("lstat", path: path, errno: errno)
    }

    /// Whether `info` describes a folder.
    static func isDirectory(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFDIR }

    /// Whether `info` describes a regular file.
    static func isRegularFile(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFREG }

    /// The modification time of `info`, in seconds since 1970.
    static func modificationTime(_ info: stat) -> TimeInterval {
        #if canImport(Darwin)
            TimeInterval(info.st_mtimespec.tv_sec) + TimeInterval(info.st_mtimespec.tv_nsec) / 1e9
        #else
            TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9
        #endif
    }

    /// The names in a folder, without `.` and `..`.
    static func listDirectory(_ path: String) throws -> [String] {
        do { return try FileSystem.names(in: path) } catch {
            throw SpoolError.system(error.operation, path: error.path, errno: error.errno)
        }
    }

    /// Removes `path` and, for a folder, everything under it, without following symlinks. Best effort for the
    /// contents; the failure to remove `path` itself is reported.
    static func removeTree(_ path: String) throws {
        do { try FileSystem.removeTree(path) } catch {
            throw SpoolError.system(error.operation, path: error.path, errno: error.errno)
        }
    }
}
