import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The operator's log of what the server repaired on its own, `<root>/server.log`: one line per event, each written
/// with a single append, so lines from concurrent pushes never interleave.
///
/// ```
/// 2026-11-29T20:31:02Z myapp: recovery removed git's stale lock files refs/heads/main.lock (left by a killed git)
/// ```
public enum ServerLog {
    /// Appends `message` with a UTC timestamp. Best effort: a hook running as another git server's user may not be
    /// allowed to write there, and losing a log line must never fail a push.
    public static func note(_ message: String, root: SlipwayRoot) {
        let fd = open(root.serverLog, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let stamp = Date().formatted(.iso8601)
        let line = Array("\(stamp) \(message.replacingOccurrences(of: "\n", with: " "))\n".utf8)
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }
}
