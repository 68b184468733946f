import Foundation
import SlipwayTestSupport
import Testing

@testable import SlipwayAddons

#if canImport(Glibc)
    import Glibc
#endif

/// The swarm engine's tasks reach their add-ons (issue 24): the runner finds this machine's address on the swarm's
/// network, new add-ons' URLs name it, the cluster lets the swarm's nodes in, and the add-on ports open to them
/// only. One deploy on the two-node swarm (``PrivateSwarm``): the release phase makes a table, the web dyno writes
/// and reads rows, through the router.
@Suite(.serialized) struct SwarmAddonTests {
    @Test func theSameAppOnTheSwarmReadsItsDatabase() throws {
        let scratch = try ScratchDirectory("swarm-addons")
        let swarm = try PrivateSwarm(directory: try scratch.makeDirectory("nodes"))
        defer { swarm.stop() }
        let b = try BucketHarness("swarm-addons", weedAddress: swarm.hostAddress)
        let h = b.push
        let servers = try AddonServers(h)
        defer { servers.stopAll() }
        defer { AddonSwarmAccess.removeTable(root: h.root, nft: "/usr/sbin/nft") }
        try servers.startSupervisor()
        let router = try freeLoopbackPort()
        let log = h.scratch.url("watch.log")
        let watcher = try b.startSwarmRunner(swarm, router: router, log: log)
        defer { watcher.terminate(grace: 30) }
        let details = {
            "\(PushToRunnerTests.read(log))\n--- app log:\n\(PushToRunnerTests.read("\(h.root)/logs/myapp.log"))"
        }

        // The runner records this machine's address on the swarm's network: the bridge's, which the nodes route to.
        let recorded = waitUntil(seconds: 60) { SwarmNetwork.load(root: h.root)?.address == swarm.hostAddress }
        try #require(recorded, "\(String(describing: SwarmNetwork.load(root: h.root)))\n\(details())")
        let clients = try #require(SwarmNetwork.load(root: h.root)?.clients)
        #expect(Set(clients) == Set(swarm.nodes.map { "\($0.address)/32" }), "\(clients)")

        // The add-on before the first push: one deploy, with DATABASE_URL naming that address.
        #expect(try h.receivePack(["apps", "create", "myapp", "--owner", "alice"]).status == 0)
        let created = try h.ssh("addons:create myapp postgresql")
        #expect(created.status == 0, "\(created.output)")
        let url = try #require(try h.storedConfig()["DATABASE_URL"])
        #expect(url.contains("@\(swarm.hostAddress):"), "\(url)")
        let port = try #require(URL(string: url)?.port)

        let repo = try h.makeApp(files: SwarmAddonApp.files)
        let pushed = try h.push(repo)
        #expect(pushed.status == 0, "\(pushed.output)")
        let listed = waitUntil(seconds: 180) { (try? Self.get("/", router: router)) == "notes:\n" }
        try #require(listed, "the web task lists the table the release phase made: \(details())")
        #expect(try Self.get("/add?written%20on%20the%20swarm", router: router) == "added\n", "\(details())")
        #expect(try Self.get("/", router: router) == "notes: written on the swarm\n", "\(details())")
        #expect(
            try psql(url, "SELECT count(*) FROM notes").stdout == "1\n", "the row is in the database on this machine")

        // The add-on port opens to the swarm's nodes, and to nothing else on their network.
        let node = swarm.nodes[0]
        #expect(Self.connects(from: node.netns, to: swarm.hostAddress, port: port), "a node reaches the add-on")
        let outsider = try Outsider(swarm: swarm, folder: scratch.url("outsider"))
        defer { outsider.remove() }
        #expect(
            !Self.connects(from: outsider.netns, to: swarm.hostAddress, port: port),
            "a machine on the swarm's network that is not a node does not")
        #expect(
            Self.connects(
                from: outsider.netns, to: swarm.hostAddress, port: try #require(URL(string: b.endpoint)?.port)),
            "it reaches the machine's other servers (the bucket): the rule is the add-on ports' only")
    }

    /// GETs `path` of myapp through the router.
    static func get(_ path: String, router: UInt16) throws -> String? {
        let result = try runTool(
            [
                "/usr/bin/curl", "-s", "--max-time", "20", "-H", "Host: myapp.localhost",
                "http://127.0.0.1:\(router)\(path)",
            ], timeout: 30)
        return result.status == 0 ? result.stdout : nil
    }

    /// Whether a TCP connection to `address:port` from the network namespace at `netns` is accepted within 5 s.
    static func connects(from netns: String, to address: String, port: Int) -> Bool {
        let result = try? runTool(
            [
                "/usr/bin/nsenter", "--net=\(netns)", "/usr/bin/timeout", "5", "/bin/bash", "-c",
                #"exec 3<>"/dev/tcp/$0/$1""#, address, "\(port)",
            ], timeout: 20)
        return result?.status == 0
    }

    /// A network namespace on the swarm's bridge that is not a node of the swarm.
    struct Outsider {
        let netns: String
        let link: String

        init(swarm: PrivateSwarm, folder: String) throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            netns = "\(folder)/netns"
            link = "\(swarm.bridge)o"
            _ = FileManager.default.createFile(atPath: netns, contents: nil)
            let address = swarm.hostAddress.split(separator: ".").dropLast().joined(separator: ".") + ".99"
            for argv in [
                ["/usr/bin/unshare", "--net=\(netns)", "true"],
                ["/usr/sbin/ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", netns],
                ["/usr/sbin/ip", "link", "set", link, "master", swarm.bridge, "up"],
                ["/usr/bin/nsenter", "--net=\(netns)", "/usr/sbin/ip", "addr", "add", "\(address)/24", "dev", "eth0"],
                ["/usr/bin/nsenter", "--net=\(netns)", "/usr/sbin/ip", "link", "set", "eth0", "up"],
            ] {
                let result = try runTool(argv, mergeOutput: true)
                guard result.status == 0 else { throw HarnessError("\(argv.joined(separator: " ")): \(result.output)") }
            }
        }

        func remove() {
            _ = try? runTool(["/usr/sbin/ip", "link", "del", link])
            _ = try? runTool(["/usr/bin/umount", "--lazy", netns])
        }
    }
}
