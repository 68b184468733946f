import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Appends log lines to `<root>/logs/<app>.log`. When the file passes `maxBytes`, it becomes `<app>.log.1`
/// (replacing the previous one) and a new file starts, so one app's log never takes more than twice the limit.
///
/// Written from the watcher's loop (the runner's events) and from the ``OutputPump``'s thread (what the dynos print),
/// one line at a time under a lock: each line is one `write(2)` with `O_APPEND`, so lines from many processes never
/// mix.
public final class AppLog: @unchecked Sendable {
    public let path: String
    public let maxBytes: Int64
    /// Who else may read the log (the door's `logs`).
    public let access: DoorAccess?
    private let lock = NSLock()
    /// Where each line goes besides the file (the app's drains, while it has some), in the same order.
    private var currentSink: LogSink?
    private var fd: Int32 = -1
    private var size: Int64 = 0

    public init(path: String, maxBytes: Int64, access: DoorAccess? = nil, sink: LogSink? = nil) {
        self.path = path
        self.maxBytes = maxBytes
        self.access = access
        self.currentSink = sink
    }

    /// Where each line goes besides the file; nil when nowhere (an app without drains costs its log nothing more).
    public var sink: LogSink? { lock.withLock { currentSink } }

    /// Hands the lines written from now on to `sink` as well (nil: to the file only).
    public func attach(_ sink: LogSink?) {
        lock.withLock { currentSink = sink }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Writes `line` and hands it to the sink; a failure to write (a full disk) is reported once on stderr and the
    /// line dropped from the file, since logging must never stop the processes.
    public func write(_ line: LogLine) {
        lock.withLock {
            unlockedWrite(line)
            currentSink?.accept(line)
        }
    }

    private func unlockedWrite(_ line: LogLine) {
        var text = line.formatted
        text.append("\n")
        let data = Data(text.utf8)
        do {
            try openIfNeeded()
            if size > 0 && size + Int64(data.count) > maxBytes { try rotate() }
            try data.withUnsafeBytes { try DurableFile.writeAll(fd, $0, path: path) }
            size += Int64(data.count)
        } catch {
            if fd >= 0 {
                close(fd)
                fd = -1
            }
            FileHandle.standardError.write(Data("slugrunner: cannot write \(path): \(error)\n".utf8))
        }
    }

    private func openIfNeeded() throws {
        guard fd < 0 else { return }
        try FileSystem.makeFolders((path as NSString).deletingLastPathComponent, mode: 0o750)
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw SystemError("open", path, errno: errno) }
        access?.share([(path as NSString).deletingLastPathComponent, path])
        var info = stat()
        size = fstat(fd, &info) == 0 ? Int64(info.st_size) : 0
    }

    private func rotate() throws {
        close(fd)
        fd = -1
        rename(path, "\(path).1")
        try openIfNeeded()
    }
}
