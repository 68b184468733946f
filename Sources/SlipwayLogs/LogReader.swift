import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Reads an app's log for `slugrunner logs`: the last lines, then (with `follow`) every line appended afterwards,
/// across rotations (`<app>.log` renamed to `<app>.log.1` and started again).
public struct LogReader: Sendable {
    /// The log file.
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// The last `count` lines of the log (fewer when it is shorter; the rotated `.1` file is read too when the
    /// current one is short). Empty when the app has no log yet.
    public func lastLines(_ count: Int) throws -> [String] {
        guard count > 0 else { return [] }
        var lines = try Self.lines(of: path)
        if lines.count < count {
            lines = try Self.lines(of: "\(path).1") + lines
        }
        return Array(lines.suffix(count))
    }

    /// Prints the last `count` lines to `output`, then waits for more and prints them as they are appended until
    /// `shouldStop` returns true (checked about five times a second).
    public func follow(
        last count: Int, output: (String) -> Void, shouldStop: () -> Bool = { false }
    ) throws {
        for line in try lastLines(count) { output(line) }
        var fd = open(path, O_RDONLY | O_CLOEXEC)
        var identity = Self.identity(fd: fd)
        var offset: off_t = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0
        var lines = OutputLines(maxLineLength: 1 << 20)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        defer { if fd >= 0 { close(fd) } }
        /// Prints what was appended to the open file since `offset`; whether anything was.
        func readMore() -> Bool {
            guard fd >= 0 else { return false }
            var any = false
            while true {
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
                guard n > 0 else { return any }
                any = true
                offset += off_t(n)
                buffer.withUnsafeBytes { raw in
                    for line in lines.append(UnsafeRawBufferPointer(rebasing: raw[0..<n])) { output(line) }
                }
            }
        }
        while !shouldStop() {
            if readMore() { continue }
            // At the end: has the file been rotated (another file at the path) or truncated?
            var info = stat()
            if stat(path, &info) == 0 {
                let rotated = identity.map { $0 != (info.st_dev, info.st_ino) } ?? true
                if rotated || Int64(info.st_size) < Int64(offset) {
                    if rotated { _ = readMore() }  // the lines written before the rename
                    if fd >= 0 { close(fd) }
                    fd = open(path, O_RDONLY | O_CLOEXEC)
                    identity = Self.identity(fd: fd)
                    offset = 0
                    continue
                }
            }
            usleep(200_000)
        }
    }

    private static func identity(fd: Int32) -> (dev_t, ino_t)? {
        var info = stat()
        guard fd >= 0, fstat(fd, &info) == 0 else { return nil }
        return (info.st_dev, info.st_ino)
    }

    private static func lines(of path: String) throws -> [String] {
        guard let data = try FileSystem.read(path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast(data.last == 0x0a ? 1 : 0).map(String.init)
    }
}
