import Foundation
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A provider given the admin URL of a Redis 7 server elsewhere (issue 24, "Past one machine"): an ACL user per
/// add-on, limited to its own key prefix.
@Suite(.serialized) struct ExternalRedisTests {
    @Test func anAdminURLMakesAUserPerAddonThere() throws {
        let h = try PushHarness("addons-external-redis")
        let servers = try AddonServers(h)
        defer { servers.stopAll() }
        let external = try ExternalRedis(in: h.scratch)
        defer { external.stop() }
        let repo = try h.deployedApp()
        #expect(try h.push(repo, app: "other").status == 0)
        try h.scratch.write("root/addons/providers.json", "{\"redis\": {\"adminURL\": \"\(external.adminURL)\"}}")
        let usersBefore = try external.admin(["ACL", "USERS"])

        let createdA = try h.ssh("addons:create myapp redis", merge: false)
        #expect(createdA.status == 0, "\(createdA.output)")
        let nameA = createdA.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let createdB = try h.ssh("addons:create other redis", merge: false)
        #expect(createdB.status == 0, "\(createdB.output)")
        let nameB = createdB.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let urlA = try #require(try h.storedConfig()["REDIS_URL"])
        let urlB = try #require(try h.storedConfig("other")["REDIS_URL"])
        let userA = try #require(URL(string: urlA)?.user)
        let userB = try #require(URL(string: urlB)?.user)
        #expect(userA == "addon_" + nameA.replacingOccurrences(of: "-", with: "_") && userA != userB, "\(urlA)")
        #expect(urlA.hasPrefix("redis://\(userA):") && urlA.hasSuffix("@\(external.address):6379"), "\(urlA)")
        #expect(!FileManager.default.fileExists(atPath: "\(h.root)/addons/redis"), "no local Redis server")
        let info = try h.ssh("addons:info \(nameA)", merge: false)
        #expect(info.stdout.contains("Provider:     external-redis") && info.stdout.contains("available"), "\(info)")

        // A's user writes and reads its own keys, and nothing else.
        #expect(try redisCLI(urlA, ["SET", "\(userA):greeting", "hello"]).output == "OK\n")
        #expect(try redisCLI(urlA, ["GET", "\(userA):greeting"]).output == "hello\n")
        #expect(try redisCLI(urlB, ["SET", "\(userB):greeting", "other"]).output == "OK\n")
        #expect(try redisCLI(urlA, ["SET", "greeting", "x"]).output.contains("NOPERM"), "no key outside its prefix")
        // B's credentials cannot read A's keys, nor list, flush or administer the server.
        for command in [
            ["GET", "\(userA):greeting"], ["DEL", "\(userA):greeting"], ["SCAN", "0"], ["KEYS", "*"], ["FLUSHALL"],
            ["CONFIG", "GET", "dir"], ["ACL", "LIST"], ["RANDOMKEY"],
        ] {
            let refused = try redisCLI(urlB, command).output
            #expect(refused.contains("NOPERM") && !refused.contains("hello"), "\(command): \(refused)")
        }
        #expect(try redisCLI(urlA, ["GET", "\(userA):greeting"]).output == "hello\n", "A's key is intact")

        // Destroying A removes its user and its keys, and leaves B's.
        #expect(try h.ssh("addons:destroy \(nameA) --confirm \(nameA)").status == 0)
        #expect(!(try external.admin(["ACL", "USERS"])).contains(userA))
        #expect(try external.admin(["EXISTS", "\(userA):greeting"]) == "0\n")
        #expect(try redisCLI(urlA, ["PING"]).output.contains("WRONGPASS"), "A's credentials open nothing any more")
        #expect(try redisCLI(urlB, ["GET", "\(userB):greeting"]).output == "other\n")
        #expect(try h.storedConfig()["REDIS_URL"] == nil)

        // Create and destroy leave nothing: no user, no key, no record.
        #expect(try h.ssh("addons:destroy \(nameB) --confirm \(nameB)").status == 0)
        for _ in 1...3 {
            let created = try h.ssh("addons:create myapp redis", merge: false)
            #expect(created.status == 0, "\(created.output)")
            let name = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let url = try #require(try h.storedConfig()["REDIS_URL"])
            let user = try #require(URL(string: url)?.user)
            #expect(try redisCLI(url, ["SET", "\(user):k", "v"]).output == "OK\n")
            #expect(try h.ssh("addons:destroy \(name) --confirm \(name)").status == 0)
        }
        #expect(try external.admin(["ACL", "USERS"]) == usersBefore)
        #expect(try external.admin(["DBSIZE"]) == "0\n")
        #expect(servers.records().isEmpty)

        // The server down: one line, nothing made.
        external.stopServer()
        let down = try h.ssh("addons:create myapp redis", merge: false)
        #expect(down.status == 1, "\(down.output)")
        #expect(
            down.stderr
                == "slipway: the Redis server at \(external.address):6379 does not answer; try again when it is back\n",
            "\(down.stderr)")
        #expect(servers.records().isEmpty)
        #expect(try h.storedConfig()["REDIS_URL"] == nil)
    }
}

/// A Redis 7 server in a network namespace of its own (`slw-exr-<n>`, linked to the host by a veth pair on
/// 10.198.<n>.0/30), as a server elsewhere would be, with an administrator `admin` and the default user off. Stopped,
/// and its namespace removed, when released.
final class ExternalRedis {
    let network: ExternalNetwork
    var address: String { network.address }
    let adminURL: String
    private var server: TestProcess?

    init(in scratch: ScratchDirectory) throws {
        network = try ExternalNetwork(name: "exr", octet: 198)
        let (n, address) = (network.number, network.address)
        let folder = try scratch.makeDirectory("external-redis")
        chmod(folder, 0o777)
        let password = "admin\(n)secret"
        try scratch.write(
            "external-redis/redis.conf",
            """
            bind \(address)
            port 6379
            protected-mode no
            daemonize no
            dir "\(folder)"
            save ""
            appendonly no
            user default off
            user admin on >\(password) ~* &* +@all

            """)
        chmod("\(folder)/redis.conf", 0o644)
        let log = "\(folder)/redis.log"
        server = try TestProcess(
            [
                "/usr/sbin/ip", "netns", "exec", network.namespace, "/usr/sbin/runuser", "-u", "redis", "--",
                "/usr/bin/redis-server", "\(folder)/redis.conf",
            ], stdout: .file(log), stderr: .file(log), newSession: true)
        adminURL = "redis://admin:\(password)@\(address):6379"
        let url = adminURL
        guard waitUntil(seconds: 30, { (try? redisCLI(url, ["PING"]))?.output == "PONG\n" }) else {
            stop()
            throw HarnessError("the external Redis did not answer: \(PushToRunnerTests.read(log))")
        }
    }

    deinit { stop() }

    /// `redis-cli` as the administrator.
    func admin(_ arguments: [String]) throws -> String { try redisCLI(adminURL, arguments).output }

    /// Stops the server (SIGTERM), leaving the namespace.
    func stopServer() {
        guard let server else { return }
        server.signalGroup(SIGTERM)
        if server.wait(timeout: 10) == nil {
            server.signalGroup(SIGKILL)
            _ = server.wait(timeout: 10)
        }
        self.server = nil
    }

    /// Stops the server and removes its namespace and link.
    func stop() {
        stopServer()
        network.remove()
    }
}
