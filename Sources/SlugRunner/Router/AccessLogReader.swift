import Foundation
import SlipwayLogs
import SlipwayRunnerKit
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the lines Caddy appends to its JSON access log, and empties the file once it has read past
/// ``truncateAfter`` bytes, so that it never grows without bound.
///
/// Caddy writes the file with `O_APPEND` (Caddy's file writer with `roll: false`), so after a truncation its next
/// line goes to the new end, offset 0. The file is emptied only when nothing was appended since the last read; the
/// lines Caddy appends in the microseconds between that check and the truncation are lost (log lines only, never
/// requests).
final class AccessLogReader {
    let path: String
    let truncateAfter: Int64
    private var fd: Int32 = -1
    private var offset: off_t = 0
    private var pending = OutputLines(maxLineLength: 1 << 20)

    init(path: String, truncateAfter: Int64 = 1 << 20) {
        self.path = path
        self.truncateAfter = truncateAfter
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Creates the file empty (or empties it), before Caddy opens it: what an earlier run left is not read. The
    /// file is given to `owner`, Caddy's user, who owns its folder too: a symlink put in its place is never followed.
    func reset(owner: FileSystem.Owner? = nil) throws {
        if fd >= 0 { close(fd) }
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RunnerError.system("open", path, errno: errno) }
        if let owner, fchown(fd, owner.uid, owner.gid) != 0 { throw RunnerError.system("chown", path, errno: errno) }
        offset = 0
        pending = OutputLines(maxLineLength: 1 << 20)
    }

    /// The complete lines appended since the last call (a line Caddy is still writing waits for the next call).
    func readLines() -> [String] {
        if fd < 0 {
            fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return [] }
        }
        var info = stat()
        if fstat(fd, &info) == 0 && info.st_size < offset {
            // Emptied by someone else: start again at its beginning.
            offset = 0
            pending = OutputLines(maxLineLength: 1 << 20)
        }
        var lines: [String] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            offset += off_t(n)
            buffer.withUnsafeBytes { lines += pending.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        if Int64(offset) >= truncateAfter, fstat(fd, &info) == 0, info.st_size == offset, ftruncate(fd, 0) == 0 {
            offset = 0
        }
        return lines
    }
}
