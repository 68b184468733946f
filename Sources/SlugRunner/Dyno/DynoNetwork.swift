import Foundation
import SlipwayAddons
import SlipwayRunnerKit
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// How dynos are networked (`slugrunner watch --dyno-network`).
public enum DynoNetworkMode: String, CaseIterable, Sendable {
    /// A namespace per dyno where the runner is root and `ip`, `nsenter` and `nft` are installed, else the host's.
    case auto
    /// A namespace per dyno, or the runner does not start.
    case `private`
    /// Every dyno shares the host's network (all a runner that is not root can do).
    case host
}

/// A network of its own for every dyno, as Heroku's, Docker's and Fly.io's: each dyno start gets a network namespace
/// (``NetworkNamespace``) with its own loopback and one link to the host, a /30 of the runner's block. The router
/// reaches the dyno at its address; the dyno reaches the outside through the host (NAT), but neither the host's own
/// addresses (its sshd, the doors, an S3 server, whatever listens on the host's loopback: that loopback is not the
/// dyno's) nor any other dyno, of its app or another: the host's firewall (``Firewall``) drops those.
///
/// Several runners (of several roots) may share a machine: each takes a block of its own (`10.<200+n>.0.0/16`,
/// `n` below ``blocks``) by holding a lock on `/run/slipway/network-<n>.lock` for its life, and names its
/// namespaces `slipway-<n>-<i>` and host ends `slwd<n>x<i>`. Root only; without root dynos share the host's network
/// (`--dyno-network host`).
final class DynoNetwork {
    /// The blocks runners of one machine can take.
    static let blocks = 50
    /// Dynos per block: /30s of a /16.
    static let perBlock = 16384
    /// Where the block locks are.
    static let lockFolder = "/run/slipway"

    /// This runner's block.
    let block: Int
    private let lockFD: Int32
    /// Lets dynos reach the add-on servers' ports on the host (docs/addons.md).
    private let addons: AddonFirewall
    /// Indexes of the block in use, by the dyno start that holds each.
    private var used: [Int: String] = [:]
    private var next = 0

    /// Takes a free block, removes what a runner that held it before left behind, and sets up forwarding and the
    /// firewall. Throws what is missing, in the operator's terms.
    init(root: String) throws {
        addons = AddonFirewall(root: root, nft: Firewall.nft)
        do throws(SandboxError) {
            try NetworkNamespace.checkTools()
            try Firewall.checkTools()
        } catch {
            throw RunnerError(.sandbox, "slugrunner: dynos cannot get a network of their own: \(error)")
        }
        try Files.makeFolders(Self.lockFolder)
        var taken: (Int, Int32)?
        for block in 0..<Self.blocks {
            let path = "\(Self.lockFolder)/network-\(block).lock"
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw RunnerError.system("open", path, errno: errno) }
            if FileLock.attempt(fd) {
                taken = (block, fd)
                break
            }
            close(fd)
        }
        guard let (block, fd) = taken else {
            throw RunnerError(
                .sandbox,
                "slugrunner: \(Self.blocks) runners already give their dynos networks on this machine; stop one, or "
                    + "start this one with --dyno-network host")
        }
        self.block = block
        self.lockFD = fd
        for name in NetworkNamespace.names(startingWith: namePrefix) { NetworkNamespace.remove(named: name) }
        do throws(SandboxError) {
            try Firewall.install()
            addons.sync()
        } catch {
            // Every property is set: deinit closes the lock's descriptor.
            throw RunnerError(.sandbox, "slugrunner: dynos cannot get a network of their own: \(error)")
        }
    }

    deinit { close(lockFD) }

    /// What the runner says of it at start.
    var summary: String {
        "a network of its own per dyno (10.\(200 + block).0.0/16): the router reaches it, it reaches the outside "
            + "through NAT, never the host's addresses nor another dyno"
    }

    private var namePrefix: String { "slipway-\(block)-" }

    /// A namespace for the dyno start `id`: a spare one (made ahead, never used) when there is one, so that a
    /// booting dyno does not wait for `ip`, else a new one.
    func attach(id: String) throws -> NetworkNamespace {
        if !spares.isEmpty {
            let namespace = spares.removeFirst()
            used[index(of: namespace)] = id
            return namespace
        }
        do throws(SandboxError) {
            let namespace = try make()
            used[index(of: namespace)] = id
            return namespace
        } catch {
            throw RunnerError(.sandbox, "slugrunner: cannot give \(id) a network of its own: \(error)")
        }
    }

    /// Makes spare namespaces up to ``spareCount`` (once per pass of the watcher's loop: at most one `ip` pair).
    func replenish() {
        addons.sync()
        guard spares.count < Self.spareCount, let namespace = try? make() else { return }
        used[index(of: namespace)] = "spare"
        spares.append(namespace)
    }

    /// Namespaces kept ready.
    static let spareCount = 2
    private var spares: [NetworkNamespace] = []

    /// A new namespace at the next free index.
    private func make() throws(SandboxError) -> NetworkNamespace {
        guard used.count < Self.perBlock else {
            throw SandboxError(
                "Every one of the \(Self.perBlock) dyno networks of this runner is in use.",
                hint: "Run fewer dynos on this machine.")
        }
        while used[next] != nil { next = (next + 1) % Self.perBlock }
        let index = next
        next = (next + 1) % Self.perBlock
        let base = index * 4
        let subnet = "10.\(200 + block).\(base >> 8)"
        let namespace = NetworkNamespace(
            name: "\(namePrefix)\(index)", hostInterface: "slwd\(block)x\(index)",
            hostAddress: "\(subnet).\((base & 0xFF) + 1)", address: "\(subnet).\((base & 0xFF) + 2)")
        try namespace.create()
        return namespace
    }

    private func index(of namespace: NetworkNamespace) -> Int {
        Int(namespace.name.dropFirst(namePrefix.count)) ?? -1
    }

    /// Removes the spare namespaces (when the runner stops).
    func removeSpares() {
        for namespace in spares { detach(namespace) }
        spares.removeAll()
    }

    /// Removes a namespace made by ``attach(id:)`` (once no process of the dyno is left).
    func detach(_ namespace: NetworkNamespace) {
        namespace.remove()
        used[index(of: namespace)] = nil
    }
}

/// The host's rules for dyno networks, one nftables table (`inet slipway`) shared by every runner of the machine and
/// replaced whole: a dyno's packets to the host are dropped (but the answers to the router's and health checks'
/// connections), so are its packets to another dyno; what it sends elsewhere is forwarded and masqueraded; nothing
/// from outside reaches a dyno unless it answers the dyno. IPv4 forwarding is turned on, as Docker does.
enum Firewall {
    static let nft = SystemTool.firstExecutable(["/usr/sbin/nft", "/sbin/nft"])

    static let rules = """
        table inet slipway
        delete table inet slipway
        table inet slipway {
            \(AddonFirewall.setDeclaration)
            chain input {
                type filter hook input priority filter - 5; policy accept;
                iifname "slwd*" ct state established,related accept
                \(AddonFirewall.inputRule)
                iifname "slwd*" drop
            }
            chain forward {
                type filter hook forward priority filter - 5; policy accept;
                iifname "slwd*" oifname "slwd*" drop
                oifname "slwd*" ct state established,related accept
                oifname "slwd*" drop
                iifname "slwd*" accept
            }
            chain postrouting {
                type nat hook postrouting priority srcnat; policy accept;
                iifname "slwd*" oifname != "slwd*" masquerade
            }
        }

        """

    static func checkTools() throws(SandboxError) {
        guard access(nft, X_OK) == 0 else {
            throw SandboxError("\(nft) is missing.", hint: "Install Debian's nftables package.")
        }
    }

    /// Replaces the table and turns forwarding on.
    static func install() throws(SandboxError) {
        try SystemTool.run(
            nft, ["-f", "-"], input: rules, package: "nftables", what: "nft, loading the dyno firewall,",
            hint: "Check that the kernel has nftables (nf_tables, nf_nat) or use --dyno-network host.")
        let forwarding = "/proc/sys/net/ipv4/ip_forward"
        if (try? FileSystem.read(forwarding)).map({ String(decoding: $0, as: UTF8.self) })?.hasPrefix("1") != true {
            let fd = open(forwarding, O_WRONLY | O_CLOEXEC)
            guard fd >= 0, write(fd, "1\n", 2) == 2 else {
                if fd >= 0 { close(fd) }
                throw SandboxError(
                    "Cannot turn IPv4 forwarding on (\(String(cString: strerror(errno)))).",
                    hint: "Set net.ipv4.ip_forward=1 (sysctl) or use --dyno-network host.")
            }
            close(fd)
        }
    }
}
