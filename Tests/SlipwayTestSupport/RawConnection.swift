import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A plain TCP connection to a door on loopback that never authenticates (nor sends a whole request).
public final class RawConnection {
    public let fd: Int32

    public init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard fd >= 0, connected == 0 else { throw HarnessError("connect failed") }
    }

    deinit { close(fd) }

    /// Writes `text` (a request's first lines, say) and nothing more.
    public func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Whether the server sent its SSH version line.
    public func readsBanner() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 256)
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 10_000) == 1 else { return false }
        let n = read(fd, &buffer, buffer.count)
        return n > 4 && String(decoding: buffer[0..<4], as: UTF8.self) == "SSH-"
    }

    /// Whether the server closed the connection within `seconds`.
    public func closedWithin(seconds: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = Date().addingTimeInterval(TimeInterval(seconds))
        while Date() < deadline {
            guard poll(&pfd, 1, 500) >= 0 else { return false }
            if pfd.revents != 0 {
                let n = read(fd, &buffer, buffer.count)
                if n <= 0 { return true }
            }
        }
        return false
    }
}
