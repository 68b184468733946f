import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Add-on servers on the runner's machine, reached by the tasks of a Docker Swarm (`slugrunner watch --engine
/// swarm`, docs/addons.md): the runner calls ``sync(nodes:)`` once per look at the swarm with its nodes' addresses,
/// and this
///
/// - finds the machine's address on the swarm's network (the source address of its route to a node: the address the
///   nodes route back to, 127.0.0.1 never), and the swarm's clients: each node's address (a task's connection leaves
///   its node masqueraded as the node) and, when this machine is a node itself, its `docker_gwbridge` network (its
///   own tasks' connections arrive from there unmasqueraded);
/// - records both in `<root>/addons/swarm.json` (``SwarmNetwork``), whole, when they change: the door gives new
///   add-ons that address, and the PostgreSQL cluster lets those clients in (``PostgresConfiguration``);
/// - keeps an nftables table of the root's own, `inet slipway_addons_<hash>`, that accepts a TCP connection to an
///   add-on port (``AddonPorts``) only from the machine itself, its local dynos and the swarm's clients, and drops
///   every other: the add-on servers stay out of reach of the rest of the network. A root without add-on ports has
///   no table.
public final class AddonSwarmAccess {
    private let root: String
    private let nft: String
    private let ip: String
    private var applied: String?
    private var appliedAt = ContinuousClock.now
    /// The last nodes looked up, what was found for them, and when: the routes are looked up again when the nodes
    /// change or every 10 seconds, the ports at every call (a new add-on's port must open at once).
    private var looked: (nodes: [String], network: SwarmNetwork, at: ContinuousClock.Instant)?

    public init(root: String, nft: String) {
        self.root = root
        self.nft = nft
        ip = SystemTool.firstExecutable(["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"])
    }

    /// The nftables table of the root at `root`: one per root, so that two servers on one machine keep their own.
    public static func tableName(root: String) -> String {
        // FNV-1a: a short, stable name, not a secret.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in root.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "slipway_addons_" + String(hash & 0xffff_ffff, radix: 16)
    }

    /// Brings the record and the table up to date with the swarm whose nodes are at `nodes` (their addresses, as
    /// the Engine API gives them); every 10 seconds the table is put back whole, in case it was removed. A failure
    /// (no route to any node, nft refusing) is tried again at the next call and returned, for the runner to say.
    @discardableResult
    public func sync(nodes: [String]) -> String? {
        let addresses = nodes.filter { AddonNetwork.isIPv4($0) && $0 != "0.0.0.0" }.sorted()
        let network: SwarmNetwork
        if let looked, looked.nodes == addresses, ContinuousClock.now - looked.at < .seconds(10) {
            network = looked.network
        } else {
            guard let address = addresses.lazy.compactMap(routeSource).first else {
                looked = nil
                return "no route from this machine to the swarm's nodes: its tasks cannot reach the add-ons"
            }
            var clients = addresses.map { "\($0)/32" }
            if let bridge = gatewayBridge() { clients.append(bridge) }
            network = SwarmNetwork(address: address, clients: clients)
            if network != SwarmNetwork.load(root: root) {
                do { try network.save(root: root) } catch { return "\(error)" }
            }
            looked = (addresses, network, .now)
        }
        let ports = AddonPorts(root: root).list()
        guard !ports.isEmpty else {
            // No add-on on this machine: no table (a root without add-ons leaves nothing in the machine's rules).
            if applied != nil { Self.removeTable(root: root, nft: nft) }
            applied = nil
            return nil
        }
        let table = Self.table(name: Self.tableName(root: root), ports: ports, clients: network.clients)
        guard table != applied || ContinuousClock.now - appliedAt > .seconds(10) else { return nil }
        do throws(SandboxError) {
            try SystemTool.run(
                nft, ["-f", "-"], input: table, package: "nftables", what: "nft, letting swarm tasks reach add-ons,",
                hint: "Check the runner's firewall.")
            applied = table
            appliedAt = .now
            return nil
        } catch {
            applied = nil
            return "\(error)"
        }
    }

    /// Removes the root's table (`slugrunner` leaves it in place when it stops, so that the tasks, which keep
    /// running, keep their add-ons; the tests remove it).
    public static func removeTable(root: String, nft: String) {
        let child = ChildProcess(
            executable: nft, arguments: ["delete", "table", "inet", tableName(root: root)], environment: [:],
            stdout: .capture(limit: 4096))
        _ = try? child.run()
    }

    /// The nftables script that replaces the table `name` whole (a pure function, unit-tested).
    static func table(name: String, ports: [UInt16], clients: [String]) -> String {
        let portElements = ports.isEmpty ? "" : " elements = { \(ports.map(String.init).joined(separator: ", ")) };"
        let clientElements = clients.isEmpty ? "" : " elements = { \(clients.joined(separator: ", ")) };"
        return """
            table inet \(name)
            delete table inet \(name)
            table inet \(name) {
                set ports { type inet_service;\(portElements) }
                set clients { type ipv4_addr; flags interval;\(clientElements) }
                chain input {
                    type filter hook input priority filter - 4; policy accept;
                    tcp dport != @ports accept
                    iifname "lo" accept
                    iifname "slwd*" accept
                    iifname "docker_gwbridge" accept
                    ip saddr @clients accept
                    drop
                }
            }

            """
    }

    /// The source address of this machine's route to `address` (`ip route get`), the address that node reaches it at.
    private func routeSource(_ address: String) -> String? {
        let child = ChildProcess(
            executable: ip, arguments: ["-4", "-o", "route", "get", address], environment: [:],
            stdout: .capture(limit: 4096))
        guard let result = try? child.run(), result.status.succeeded else { return nil }
        let words = String(decoding: result.stdout, as: UTF8.self).split(separator: " ").map(String.init)
        guard let index = words.firstIndex(of: "src"), index + 1 < words.count, AddonNetwork.isIPv4(words[index + 1])
        else { return nil }
        return words[index + 1]
    }

    /// The network of this machine's `docker_gwbridge` (`172.18.0.0/16`), when it is a swarm node itself.
    private func gatewayBridge() -> String? {
        let child = ChildProcess(
            executable: ip, arguments: ["-4", "-o", "addr", "show", "dev", "docker_gwbridge"], environment: [:],
            stdout: .capture(limit: 4096))
        guard let result = try? child.run(), result.status.succeeded else { return nil }
        let words = String(decoding: result.stdout, as: UTF8.self).split(separator: " ").map(String.init)
        guard let index = words.firstIndex(of: "inet"), index + 1 < words.count else { return nil }
        return SwarmNetwork.network(of: words[index + 1])
    }
}

/// What the runner of the swarm engine found (`<root>/addons/swarm.json`): this machine's address on the swarm's
/// network, which new add-ons' URLs name, and the networks the swarm's tasks connect from (`10.0.0.11/32`, …).
public struct SwarmNetwork: Codable, Sendable, Equatable {
    public var address: String
    public var clients: [String]

    public init(address: String, clients: [String]) {
        self.address = address
        self.clients = clients
    }

    /// The record of the root at `root`; nil when its runner does not run the swarm engine (or has not looked yet).
    public static func load(root: String) -> SwarmNetwork? {
        guard let bytes = (try? FileSystem.read(AddonLayout(root: root).swarm)).flatMap({ $0 }),
            let network = try? JSONDecoder().decode(SwarmNetwork.self, from: bytes),
            AddonNetwork.isIPv4(network.address), network.clients.allSatisfy({ Self.network(of: $0) == $0 })
        else { return nil }
        return network
    }

    func save(root: String) throws(AddonError) {
        let layout = AddonLayout(root: root)
        do {
            try FileSystem.makeFolders(layout.folder, mode: 0o711)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try DurableFile.replace(layout.swarm, with: try encoder.encode(self), mode: 0o644)
        } catch {
            throw AddonError(.serverDown, "the swarm's add-on network cannot be recorded")
        }
    }

    /// `a.b.c.d/n` with the host bits cleared (`172.18.0.1/16` is `172.18.0.0/16`); nil when it is not an IPv4 CIDR.
    static func network(of cidr: String) -> String? {
        let parts = cidr.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let bits = Int(parts[1]), (0...32).contains(bits) else { return nil }
        var address = in_addr()
        guard inet_pton(AF_INET, String(parts[0]), &address) == 1 else { return nil }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
        let value = UInt32(bigEndian: address.s_addr) & mask
        let octets = [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xff) }
        return "\(octets.joined(separator: "."))/\(bits)"
    }
}
