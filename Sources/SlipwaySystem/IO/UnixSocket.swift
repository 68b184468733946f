public import CProcessShims
public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A unix stream socket (`AF_UNIX`, `SOCK_STREAM`, close-on-exec), listening or connected, that can hand open file
/// descriptors to its peer (`SCM_RIGHTS`): the door gives the runner the SSH session's stdin, stdout and stderr this
/// way, so a one-off dyno reads and writes the session itself.
///
/// The descriptor is closed when the object goes. (Direct calls rather than swift-nio: the runner's loop is a
/// synchronous `poll`, and NIO offers no descriptor passing on a plain socket.)
public final class UnixSocket {
    /// The socket's descriptor, for `poll`.
    public let fd: Int32

    private init(fd: Int32) {
        self.fd = fd
    }

    deinit { close(fd) }

    /// The longest path a socket address holds (`sun_path`, with its terminating NUL).
    public static let maximumPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// A socket listening at `path`, non-blocking (``accept()`` returns nil when nobody waits). It is bound under a
    /// temporary name beside `path`, given `mode` and `owner`, then renamed over `path`, so a client never finds it
    /// with looser rights and a stale file left by a dead listener is replaced.
    public static func listen(
        at path: String, mode: mode_t = 0o600, owner: (uid: uid_t, gid: gid_t)? = nil, backlog: Int32 = 64
    ) throws(SystemError) -> UnixSocket {
        let temporary = "\(path).tmp-\(getpid())"
        let socket = try make(nonBlocking: true)
        unlink(temporary)
        try withAddress(temporary) { address, length throws(SystemError) in
            guard bind(socket.fd, address, length) == 0 else { throw SystemError("bind", temporary, errno: errno) }
        }
        do throws(SystemError) {
            guard chmod(temporary, mode) == 0 else { throw SystemError("chmod", temporary, errno: errno) }
            if let owner, chown(temporary, owner.uid, owner.gid) != 0 {
                throw SystemError("chown", temporary, errno: errno)
            }
            guard Glibc.listen(socket.fd, backlog) == 0 else { throw SystemError("listen", path, errno: errno) }
            guard rename(temporary, path) == 0 else { throw SystemError("rename", path, errno: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
        return socket
    }

    /// A socket connected to the listener at `path` (blocking). `ENOENT` or `ECONNREFUSED` in the error: nobody
    /// listens there.
    public static func connect(to path: String) throws(SystemError) -> UnixSocket {
        let socket = try make(nonBlocking: false)
        try withAddress(path) { address, length throws(SystemError) in
            while Glibc.connect(socket.fd, address, length) != 0 {
                guard errno == EINTR else { throw SystemError("connect to", path, errno: errno) }
            }
        }
        return socket
    }

    /// The next waiting connection (blocking, close-on-exec), or nil when none waits on this non-blocking listener.
    public func accept() throws(SystemError) -> UnixSocket? {
        while true {
            let connection = slipway_accept_cloexec(fd)
            if connection >= 0 { return UnixSocket(fd: connection) }
            switch errno {
            case EINTR: continue
            case EAGAIN, ECONNABORTED: return nil
            default: throw SystemError("accept", errno: errno)
            }
        }
    }

    /// Sends every byte of `data`, with `fds` attached to the first part (the peer receives its own copies; these
    /// stay open here). A peer that has gone is `EPIPE`, never SIGPIPE.
    public func send(_ data: Data, fds: [Int32] = []) throws(SystemError) {
        let bytes = [UInt8](data)
        var offset = 0
        var pending = fds
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { chunk in
                pending.withUnsafeBufferPointer { descriptors in
                    slipway_send_with_descriptors(
                        fd, chunk.baseAddress, UInt(chunk.count), descriptors.baseAddress, Int32(descriptors.count))
                }
            }
            if sent < 0 {
                guard errno == EAGAIN else { throw SystemError("send on socket", errno: errno) }
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&poller, 1, 1000)
                continue
            }
            offset += sent
            pending = []
        }
    }

    /// What one ``receive(maximum:maximumDescriptors:)`` got.
    public struct Received {
        /// The bytes; empty when the peer closed the connection.
        public var data: Data
        /// The descriptors that came with them, open and close-on-exec, now owned by the caller.
        public var fds: [Int32]
    }

    /// Reads what is there (waiting for something unless the socket is non-blocking): up to `maximum` bytes and
    /// `maximumDescriptors` descriptors. More descriptors than that is `EMSGSIZE` (none is kept open).
    public func receive(maximum: Int = 64 * 1024, maximumDescriptors: Int = 4) throws(SystemError) -> Received {
        var buffer = [UInt8](repeating: 0, count: max(1, maximum))
        var fds = [Int32](repeating: -1, count: max(1, maximumDescriptors))
        var count: Int32 = 0
        let got = buffer.withUnsafeMutableBytes { bytes in
            fds.withUnsafeMutableBufferPointer { descriptors in
                slipway_receive_with_descriptors(
                    fd, bytes.baseAddress, UInt(bytes.count), descriptors.baseAddress, Int32(maximumDescriptors),
                    &count)
            }
        }
        guard got >= 0 else { throw SystemError("receive on socket", errno: errno) }
        return Received(data: Data(buffer[0..<got]), fds: Array(fds[0..<Int(count)]))
    }

    /// Waits up to `milliseconds` (-1: forever) for something to read, or for the peer to close; true if it came.
    public func waitReadable(milliseconds: Int32) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&poller, 1, milliseconds)
            if ready >= 0 { return ready > 0 }
            if errno != EINTR { return true }
        }
    }

    /// Shuts the writing side down: the peer reads end of file after what was sent, while this side can still
    /// notice the peer going.
    public func shutdownWriting() {
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    /// Whether the peer has closed its end: nothing is waiting to be read, and the connection reports a hang-up or
    /// end of file. Bytes it sent meanwhile are read and dropped. Never waits.
    public var peerClosed: Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN) | Self.readHangUp, revents: 0)
        guard poll(&poller, 1, 0) > 0 else { return false }
        if poller.revents & (Int16(POLLHUP | POLLERR | POLLNVAL) | Self.readHangUp) != 0 { return true }
        var scratch = [UInt8](repeating: 0, count: 512)
        let got = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)
    }

    // POLLRDHUP (Linux): the peer shut its writing side down. Glibc exports it only under _GNU_SOURCE.
    private static let readHangUp: Int16 = 0x2000

    // MARK: - Making one

    private static func make(nonBlocking: Bool) throws(SystemError) -> UnixSocket {
        let flags =
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            | (nonBlocking ? Int32(SOCK_NONBLOCK.rawValue) : 0)
        let fd = socket(AF_UNIX, flags, 0)
        guard fd >= 0 else { throw SystemError("create a unix socket", errno: errno) }
        return UnixSocket(fd: fd)
    }

    /// Calls `body` with `path` as a `sockaddr_un`; a path too long for one is `ENAMETOOLONG`.
    private static func withAddress(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws(SystemError) -> Void
    ) throws(SystemError) {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumPathLength, !bytes.contains(0) else {
            throw SystemError("use the socket path", path, errno: ENAMETOOLONG)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        var failure: SystemError?
        withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                do throws(SystemError) { try body(generic, length) } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }
}
