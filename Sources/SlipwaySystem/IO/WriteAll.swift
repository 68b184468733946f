import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes `bytes` to a non-blocking `fd`, waiting at most `milliseconds` in all for room; false if they did not fit.
public func writeWithin(_ fd: Int32, _ bytes: [UInt8], milliseconds: Int32) -> Bool {
    var remaining = milliseconds
    return bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return true }
        var offset = 0
        while offset < raw.count {
            let n = write(fd, base + offset, raw.count - offset)
            if n >= 0 {
                offset += n
                continue
            }
            if errno == EINTR { continue }
            guard errno == EAGAIN, remaining > 0 else { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let started = DispatchTime.now()
            if poll(&pfd, 1, remaining) <= 0 || pfd.revents & Int16(POLLERR | POLLHUP) != 0 { return false }
            remaining -= Int32((DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000)
        }
        return true
    }
}

/// Writes every byte to `fd`, retrying short writes and EINTR. Errors (a closed pipe) are ignored: losing the
/// audience must not stop the build's own cleanup.
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { try? DurableFile.writeAll(fd, $0, path: "descriptor \(fd)") }
}
