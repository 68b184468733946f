import SlipwayRunnerKit

#if canImport(Glibc)
    import Glibc
#endif

/// The address processes are reached at (the runner's `--host`): where it looks for free ports, where it checks
/// that `web` listens, and what `slugrunner ps` prints in URLs. Apps are told only `PORT`; most bind every address
/// (`0.0.0.0:$PORT`), which includes this one.
public struct ListenAddress: Equatable, Sendable, CustomStringConvertible {
    /// The default: loopback only, so nothing is reachable from outside without a proxy in front.
    public static let loopback = ListenAddress(
        host: "127.0.0.1", address: in_addr(s_addr: UInt32(0x7F00_0001).bigEndian))

    /// The dotted IPv4 address.
    public let host: String
    fileprivate let address: in_addr

    private init(host: String, address: in_addr) {
        self.host = host
        self.address = address
    }

    /// An IPv4 address in dotted form (`127.0.0.1`, `10.0.0.5`); nil for anything else.
    public init?(ipv4 host: String) {
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else { return nil }
        self.host = host
        self.address = address
    }

    public var description: String { host }

    public static func == (lhs: ListenAddress, rhs: ListenAddress) -> Bool { lhs.host == rhs.host }

    /// A TCP port that was free on this address a moment ago: the kernel picks one for a socket bound to port 0,
    /// and the socket is closed again.
    public func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RunnerError.system("socket", host, errno: errno) }
        defer { close(fd) }
        var socketAddress = self.socketAddress(port: 0)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw RunnerError.system("bind", "\(host):0", errno: errno) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw RunnerError.system("getsockname", host, errno: errno) }
        return UInt16(bigEndian: socketAddress.sin_port)
    }

    /// Whether `port` can be bound on this address right now (nobody listens there).
    public func isFree(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var reuse: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = self.socketAddress(port: port)
        return withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// Whether something accepts TCP connections on `port` of this address right now. Waits at most a fifth of a
    /// second (a loopback connection is refused or accepted at once).
    public func acceptsConnections(on port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var socketAddress = self.socketAddress(port: port)
        return withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private func socketAddress(port: UInt16) -> sockaddr_in {
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = port.bigEndian
        socketAddress.sin_addr = address
        return socketAddress
    }
}
