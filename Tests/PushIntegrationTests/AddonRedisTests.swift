import Foundation
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Redis add-ons (issue 24): a server per add-on with its own password, AOF, supervised.
@Suite(.serialized) struct AddonRedisTests {
    @Test func eachAppsRedisIsItsOwnAndSurvivesACrash() throws {
        let h = try PushHarness("addons-redis")
        let servers = try AddonServers(h)
        defer { servers.stopAll() }
        try servers.startSupervisor()
        let repo = try h.deployedApp()
        #expect(try h.push(repo, app: "other").status == 0)

        let created = try h.ssh("addons:create myapp redis", merge: false)
        #expect(
            created.status == 0 && created.stderr.contains("Setting REDIS_URL and restarting myapp... done, v2"),
            "\(created.output)")
        let name = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let other = try h.ssh("addons:create other redis")
        #expect(other.status == 0, "\(other.output)")
        let urlA = try #require(try h.storedConfig()["REDIS_URL"])
        let urlB = try #require(try h.storedConfig("other")["REDIS_URL"])
        #expect(urlA.hasPrefix("redis://default:") && urlA != urlB)

        #expect(try redisCLI(urlA, ["SET", "greeting", "hello"]).output == "OK\n")
        #expect(try redisCLI(urlA, ["GET", "greeting"]).output == "hello\n")
        // B's password does not open A's server; nobody runs administrative commands; no password, no keys.
        let portA = try #require(URL(string: urlA)?.port)
        let crossed = try redisCLI(
            try #require(urlB.split(separator: "@").first) + "@127.0.0.1:\(portA)", ["GET", "greeting"])
        #expect(!crossed.output.contains("hello"), "\(crossed.output)")
        #expect(try redisCLI(urlA, ["CONFIG", "SET", "dir", "/tmp"]).output.contains("NOPERM"))
        let anonymous = try runTool(["/usr/bin/redis-cli", "-p", "\(portA)", "GET", "greeting"], mergeOutput: true)
        #expect(anonymous.output.contains("NOAUTH"), "\(anonymous.output)")
        #expect(try redisCLI(urlB, ["GET", "greeting"]).output == "\n", "B's server has its own keys")

        // A crash: the supervisor starts it again, with the acknowledged write.
        let pid = try #require(servers.redisPIDs()[name])
        kill(pid, SIGKILL)
        #expect(
            waitUntil(seconds: 60) { servers.redisPIDs()[name].map { $0 != pid } ?? false },
            "\(PushToRunnerTests.read(servers.log))")
        #expect(waitUntil(seconds: 30) { (try? redisCLI(urlA, ["GET", "greeting"]).output) == "hello\n" })

        // Destroying it stops its server, removes its data and its port, and leaves B's running.
        let destroyed = try h.ssh("addons:destroy \(name) --confirm \(name)")
        #expect(destroyed.status == 0, "\(destroyed.output)")
        #expect(servers.redisPIDs()[name] == nil)
        #expect(!FileManager.default.fileExists(atPath: "\(h.root)/addons/redis/\(name)"))
        let ports = try String(contentsOfFile: "\(h.root)/addons/ports", encoding: .utf8)
        #expect(!ports.split(separator: "\n").contains("\(portA)"))
        #expect(try redisCLI(urlB, ["PING"]).output == "PONG\n")
        #expect(try h.storedConfig()["REDIS_URL"] == nil)
    }
}
