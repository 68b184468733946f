import Foundation
import NIOHTTP1
import SlipwaySwarm
import SlugRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A Docker Swarm of two nodes on this machine, for one test: a bridge on the host (`slwbrN`, 10.213.N.1/24) and two
/// network namespaces joined to it by veth pairs, each running its own `dockerd` (Debian's `docker.io`) with its own
/// data, sockets and host name (`node1`, `node2`). The first node inits the swarm and manages it; the second joins
/// as a worker. The stack image (`stack/build`, built once and cached) is loaded on both.
///
/// The namespaces are entered with `nsenter --net=…` (not `ip netns exec`, which remounts `/sys`). ``stop()`` stops
/// both daemons (which stop their containers) and removes the namespaces, links and folders.
public final class PrivateSwarm: @unchecked Sendable {
    public struct Node: Sendable {
        public var name: String
        /// Its address on the bridge (the swarm's advertised address, where its published ports are reached).
        public var address: String
        /// Its Engine API (`unix:///…/docker.sock`).
        public var dockerHost: String
        let directory: String
        /// Its network namespace (a file to give `nsenter --net=`).
        public let netns: String
        let hostLink: String
    }

    public let nodes: [Node]
    /// The host's address on the bridge: where servers the tasks use (the bucket) listen.
    public let hostAddress: String
    public let bridge: String
    private var daemons: [TestProcess] = []
    private let lock = NSLock()
    private var stopped = false

    public var manager: Node { nodes[0] }

    public init(directory: String) throws {
        let ip = try tool("ip")
        var number = Int(getpid() % 200) + 20
        while (try? runTool([ip, "link", "show", "slwbr\(number)"]))?.status == 0 { number += 1 }
        bridge = "slwbr\(number)"
        hostAddress = "10.213.\(number).1"
        nodes = (1...2).map { index in
            Node(
                name: "node\(index)", address: "10.213.\(number).1\(index)",
                dockerHost: "unix://\(directory)/node\(index)/docker.sock", directory: "\(directory)/node\(index)",
                netns: "\(directory)/node\(index)/netns", hostLink: "slw\(number)v\(index)")
        }
        do {
            try setUp(ip: ip)
        } catch {
            stop()
            throw error
        }
    }

    private func setUp(ip: String) throws {
        try Self.run([ip, "link", "add", bridge, "type", "bridge"])
        try Self.run([ip, "addr", "add", "\(hostAddress)/24", "dev", bridge])
        try Self.run([ip, "link", "set", bridge, "up"])
        let nsenter = try tool("nsenter")
        for node in nodes {
            try FileManager.default.createDirectory(atPath: node.directory, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: node.netns, contents: nil)
            try Self.run([try tool("unshare"), "--net=\(node.netns)", "true"])
            try Self.run([
                ip, "link", "add", node.hostLink, "type", "veth", "peer", "name", "eth0", "netns", node.netns,
            ])
            try Self.run([ip, "link", "set", node.hostLink, "master", bridge, "up"])
            let inside = [nsenter, "--net=\(node.netns)", ip]
            try Self.run(inside + ["link", "set", "lo", "up"])
            try Self.run(inside + ["addr", "add", "\(node.address)/24", "dev", "eth0"])
            try Self.run(inside + ["link", "set", "eth0", "up"])
            try Self.run(inside + ["route", "add", "default", "via", hostAddress])
            let log = "\(node.directory)/dockerd.log"
            daemons.append(
                try TestProcess(
                    [
                        nsenter, "--net=\(node.netns)", try tool("unshare"), "--uts", "/bin/sh", "-c",
                        #"hostname "$0" && exec "$@""#, node.name, try tool("dockerd"),
                        "--data-root", "\(node.directory)/data", "--exec-root", "\(node.directory)/exec",
                        "--pidfile", "\(node.directory)/dockerd.pid", "-H", node.dockerHost,
                    ], stdout: .file(log), stderr: .file(log), newSession: true))
        }
        for node in nodes {
            let docker = try DockerClient(host: node.dockerHost)
            guard waitUntil(seconds: 60, { (try? docker.send(.GET, "/_ping").status) == 200 }) else {
                throw SwarmError("dockerd of \(node.name) did not answer; its log: \(node.directory)/dockerd.log")
            }
        }
        let manager = try DockerClient(host: self.manager.dockerHost)
        try manager.post(
            "/swarm/init",
            json: [
                "ListenAddr": .string("\(self.manager.address):2377"), "AdvertiseAddr": .string(self.manager.address),
            ])
        guard let token = try manager.get("/swarm")["JoinTokens"]?["Worker"]?.string else {
            throw SwarmError("the new swarm has no worker join token")
        }
        for node in nodes.dropFirst() {
            try DockerClient(host: node.dockerHost).post(
                "/swarm/join",
                json: [
                    "ListenAddr": .string("\(node.address):2377"), "AdvertiseAddr": .string(node.address),
                    "RemoteAddrs": [.string("\(self.manager.address):2377")], "JoinToken": .string(token),
                ])
        }
        let ready = waitUntil(seconds: 60) {
            let states = (try? manager.get("/nodes").array)?.compactMap { $0["Status"]?["State"]?.string } ?? []
            return states.count == nodes.count && states.allSatisfy { $0 == "ready" }
        }
        guard ready else { throw SwarmError("the second node never became ready in the swarm") }
        try loadStackImage()
    }

    /// Builds the stack image once (`stack/build`, cached under `~/.cache/slipway`) and loads it on every node.
    private func loadStackImage() throws {
        let argv = ["\(TestPaths.repositoryRoot)/stack/build"] + nodes.flatMap { ["--load", $0.dockerHost] }
        let result = try runTool(argv, mergeOutput: true, timeout: 900)
        guard result.status == 0 else { throw SwarmError("stack/build failed:\n\(result.output)") }
    }

    /// Every IPv4 address the containers of the service `name` have, on any node, in any network (their
    /// own networks' and the bridge each node's containers reach the outside through).
    public func containerAddresses(service name: String) throws -> [String] {
        var addresses: [String] = []
        for node in nodes {
            let docker = try DockerClient(host: node.dockerHost)
            let filter = #"{"label":["com.docker.swarm.service.name=\#(name)"]}"#
            let containers = try docker.get("/containers/json", query: [("filters", filter)]).array ?? []
            let ids = containers.compactMap { $0["Id"]?.string }
            for container in containers {
                guard case .object(let networks)? = container["NetworkSettings"]?["Networks"] else { continue }
                addresses += networks.values.compactMap { $0["IPAddress"]?.string }.filter { !$0.isEmpty }
            }
            // The bridge Swarm gives tasks on its networks (docker_gwbridge), where it exists.
            if let bridge = try? docker.get("/networks/docker_gwbridge"),
                case .object(let endpoints)? = bridge["Containers"]
            {
                for (id, endpoint) in endpoints where ids.contains(id) {
                    if let cidr = endpoint["IPv4Address"]?.string, let address = cidr.split(separator: "/").first {
                        addresses.append(String(address))
                    }
                }
            }
        }
        return Array(Set(addresses)).sorted()
    }

    /// Node `name`'s swarm ID.
    public func nodeID(_ name: String) throws -> String {
        let nodes = try DockerClient(host: manager.dockerHost).get("/nodes").array ?? []
        guard let id = nodes.first(where: { $0["Description"]?["Hostname"]?.string == name })?["ID"]?.string else {
            throw SwarmError("no node \(name) in the swarm")
        }
        return id
    }

    /// Sets node `name`'s availability (`active`, `pause`, `drain`), as `docker node update --availability` does.
    public func setAvailability(_ name: String, _ availability: String) throws {
        let docker = try DockerClient(host: manager.dockerHost)
        let id = try nodeID(name)
        let node = try docker.get("/nodes/\(id)")
        guard let version = node["Version"]?["Index"]?.int, case .object(var spec)? = node["Spec"] else {
            throw SwarmError("node \(name) has no spec")
        }
        spec["Availability"] = .string(availability)
        try docker.post("/nodes/\(id)/update", query: [("version", "\(version)")], json: .object(spec))
    }

    /// Stops both daemons (SIGTERM: they stop their containers), then removes the namespaces, links and data.
    public func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        for daemon in daemons { daemon.signalGroup(SIGTERM) }
        for daemon in daemons where daemon.wait(timeout: 60) == nil {
            daemon.signalGroup(SIGKILL)
            _ = daemon.wait(timeout: 10)
        }
        let ip = (try? tool("ip")) ?? "/usr/sbin/ip"
        for node in nodes {
            _ = try? runTool([ip, "link", "del", node.hostLink])
            _ = try? runTool([(try? tool("umount")) ?? "/usr/bin/umount", "--lazy", node.netns])
            // What dockerd leaves mounted under its folders (its overlay layers, if it was killed).
            _ = try? runTool([
                "/bin/sh", "-c", #"grep -o " $0[^ ]*" /proc/mounts | sort -r | xargs -r umount -l"#, node.directory,
            ])
            try? FileManager.default.removeItem(atPath: node.directory)
        }
        _ = try? runTool([ip, "link", "del", bridge])
    }

    deinit { stop() }

    private static func run(_ argv: [String]) throws {
        let result = try runTool(argv, mergeOutput: true, timeout: 60)
        guard result.status == 0 else {
            throw SwarmError("\(argv.joined(separator: " ")) failed: \(result.output)")
        }
    }
}

/// A test swarm that could not be set up.
public struct SwarmError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
