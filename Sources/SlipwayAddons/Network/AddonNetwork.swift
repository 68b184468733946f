import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Where add-on servers listen and what address dynos are given.
enum AddonNetwork {
    /// The address URLs name: `$SLIPWAY_ADDONS_HOST`, else, when the root's runner runs the swarm engine, this
    /// machine's address on the swarm's network (``SwarmNetwork``: the swarm's tasks route to it, and so do local
    /// dynos), else the machine's address on its default route (dynos in networks of their own and host-network dynos
    /// can route to it; 127.0.0.1 would be each dyno's own loopback), else 127.0.0.1.
    static func hostAddress(
        root: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let host = environment["SLIPWAY_ADDONS_HOST"], isIPv4(host) { return host }
        if let swarm = SwarmNetwork.load(root: root) { return swarm.address }
        let ip = SystemTool.firstExecutable(["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"])
        let child = ChildProcess(
            executable: ip, arguments: ["-4", "-o", "route", "get", "192.0.2.255"], environment: [:],
            stdout: .capture(limit: 4096))
        if let result = try? child.run(), result.status.succeeded {
            let words = String(decoding: result.stdout, as: UTF8.self).split(separator: " ").map(String.init)
            if let index = words.firstIndex(of: "src"), index + 1 < words.count, isIPv4(words[index + 1]) {
                return words[index + 1]
            }
        }
        return "127.0.0.1"
    }

    static func isIPv4(_ text: String) -> Bool {
        var address = in_addr()
        return inet_pton(AF_INET, text, &address) == 1
    }

    /// A TCP port free on every address a moment ago (the kernel's pick for port 0).
    static func freePort() throws(AddonError) -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw AddonError(.serverDown, "no port is free for the add-on's server") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr = in_addr(s_addr: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let done = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard done else { throw AddonError(.serverDown, "no port is free for the add-on's server") }
        return UInt16(bigEndian: address.sin_port)
    }
}
