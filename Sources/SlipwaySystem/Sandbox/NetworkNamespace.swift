import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A network namespace of its own for a sandboxed program (a dyno): it sees its own loopback and one interface,
/// `eth0`, the inside end of a veth pair whose other end (``hostInterface``) is on the host, with a /30 between the
/// two and a default route through the host. What it may reach beyond the host's end is the host's firewall's
/// decision, not this type's.
///
/// Made and removed with iproute2's `ip` (a named namespace, `/run/netns/<name>`, which outlives no process that
/// uses it once removed), entered with util-linux's `nsenter` (``Sandbox/network``). Only root can do either.
public struct NetworkNamespace: Sendable, Equatable {
    /// Its name under `/run/netns`.
    public let name: String
    /// The host's end of the veth pair.
    public let hostInterface: String
    /// The host's address on that link: the namespace's gateway.
    public let hostAddress: String
    /// The namespace's own address (on its `eth0`).
    public let address: String

    /// Where `ip netns` keeps the namespace.
    public var path: String { "\(Self.folder)/\(name)" }

    /// `ip netns`'s folder.
    public static let folder = "/run/netns"
    /// The programs used: iproute2's `ip` and util-linux's `nsenter`.
    public static let ip = SystemTool.firstExecutable(["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"])
    public static let nsenter = "/usr/bin/nsenter"

    public init(name: String, hostInterface: String, hostAddress: String, address: String) {
        self.name = name
        self.hostInterface = hostInterface
        self.hostAddress = hostAddress
        self.address = address
    }

    /// Fails unless `ip` and `nsenter` are installed and this process is root.
    public static func checkTools() throws(SandboxError) {
        guard geteuid() == 0 else {
            throw SandboxError(
                "Network namespaces for dynos need root.", hint: "Run the runner as root, or use --dyno-network host.")
        }
        for (tool, package) in [(ip, "iproute2"), (nsenter, "util-linux")] where access(tool, X_OK) != 0 {
            throw SandboxError(
                "\(tool) is missing: dynos cannot get a network of their own.",
                hint: "Install Debian's \(package) package.")
        }
    }

    /// Makes the namespace, the veth pair and both ends' addresses (a /30: `hostAddress` and `address`), the
    /// namespace's loopback and its default route. Anything made before a failure is removed again.
    public func create() throws(SandboxError) {
        let host = [
            "netns add \(name)",
            "link add \(hostInterface) type veth peer name eth0 netns \(name)",
            "addr add \(hostAddress)/30 dev \(hostInterface)",
            "link set \(hostInterface) up",
        ]
        let inside = [
            "link set lo up",
            "addr add \(address)/30 dev eth0",
            "link set eth0 up",
            "route add default via \(hostAddress)",
        ]
        do throws(SandboxError) {
            try Self.run(["-batch", "-"], input: host)
            try Self.run(["-netns", name, "-batch", "-"], input: inside)
        } catch {
            remove()
            throw error
        }
    }

    /// Removes the namespace and with it the veth pair (once no process is left in it); nothing if it is gone.
    public func remove() {
        Self.remove(named: name)
    }

    /// Removes the namespace called `name`, if it exists.
    public static func remove(named name: String) {
        guard access("\(folder)/\(name)", F_OK) == 0 else { return }
        try? run(["netns", "delete", name], input: nil)
    }

    /// The names of the namespaces under `/run/netns` that start with `prefix`.
    public static func names(startingWith prefix: String) -> [String] {
        ((try? FileSystem.names(in: folder)) ?? []).filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// Runs `ip` with `arguments`, `input` lines on its standard input.
    private static func run(_ arguments: [String], input: [String]?) throws(SandboxError) {
        try SystemTool.run(
            ip, arguments, input: input.map { $0.joined(separator: "\n") + "\n" }, package: "iproute2",
            what: "ip \(arguments.joined(separator: " "))",
            hint: "Check that this host allows network namespaces and veth links (root, CONFIG_VETH).")
    }
}
