import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Errors of the loopback helpers.
public struct NetworkError: Error, CustomStringConvertible {
    public var description: String
    init(_ call: String) { description = "\(call) failed: \(String(cString: strerror(errno)))" }
}

/// A TCP port on 127.0.0.1 that was free a moment ago: the kernel picks one for a socket bound to port 0, and the
/// socket is closed again. Another process may take it before the caller binds it; callers that can retry should.
public func freeLoopbackPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw NetworkError("socket") }
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw NetworkError("bind") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw NetworkError("getsockname") }
    return UInt16(bigEndian: address.sin_port)
}

/// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
public func loopbackPortAcceptsConnections(_ port: UInt16) -> Bool {
    portAcceptsConnections(port, host: "127.0.0.1")
}

/// Whether something accepts TCP connections on `host` (an IPv4 address), `port`, right now.
public func portAcceptsConnections(_ port: UInt16, host: String) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = loopbackAddress(port: port)
    guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return false }
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return connected == 0
}

private func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
    return address
}
