public import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The few file operations the runner's own state needs: whole-file atomic replacement (a reader sees the old file
/// or the new one) and plain reads, on file descriptors that are never inherited by the apps it starts.
public enum Files {
    /// The whole file, or nil if it does not exist.
    public static func read(_ path: String) throws -> Data? {
        do { return try FileSystem.read(path) } catch {
            throw RunnerError.system(error.operation, error.path, errno: error.errno)
        }
    }

    /// The file as text without surrounding whitespace, or nil if it does not exist.
    public static func readLine(_ path: String) throws -> String? {
        try read(path).map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// Replaces `path` with `data` (the system layer's ``DurableFile``: a temporary file next to it, fsync, rename
    /// over `path`, fsync of the folder); with `keepOwner`, owned as the file it replaces (else as its folder).
    public static func writeAtomically(_ data: Data, to path: String, mode: mode_t = 0o640, keepOwner: Bool = false)
        throws
    {
        try makeFolders((path as NSString).deletingLastPathComponent)
        try runnerErrors { try DurableFile.replace(path, with: data, mode: mode, keepOwner: keepOwner) }
    }

    /// Writes all of `data` to `fd`, retrying short writes and `EINTR`.
    public static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try runnerErrors { try data.withUnsafeBytes { try DurableFile.writeAll(fd, $0, path: path) } }
    }

    /// Runs a call of the system layer, reporting its failure as a ``RunnerError`` that names the path.
    private static func runnerErrors(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let failure as SystemError {
            throw RunnerError.system(failure.operation, failure.path, errno: failure.errno)
        }
    }

    /// Creates `path` and its missing parents (mode 0750), as `mkdir -p`.
    public static func makeFolders(_ path: String) throws {
        do { try FileSystem.makeFolders(path, mode: 0o750) } catch {
            throw RunnerError.system(error.operation, error.path, errno: error.errno)
        }
    }

    /// Whether something (not following a final symlink) exists at `path`.
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Whether `path` is a folder (not following a final symlink).
    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The folder names in `path`, sorted by their bytes; hidden names left out; empty if `path` is missing.
    public static func folders(in path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { !$0.hasPrefix(".") && isDirectory("\(path)/\($0)") }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}
