import Foundation
import SlipwayRouting
import SlipwayTestSupport
import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The router against a real Caddy (Debian's 2.6) and real web dynos (python3 servers) on loopback.
@Suite struct RouterTests {
    @Test func anAppAnswersAtItsHostNameAndTheRouterLogsWhichDynoAnswered() throws {
        let world = try RouterWorld("router-host")
        defer { world.stop() }
        try world.router.start()
        let web = try world.startUpstream("web.1")
        try world.router.apply(world.table("python-app", [web]))

        let reply = try world.get("/hello?x=1", host: "python-app.localhost")
        #expect(reply.status == 200)
        #expect(RouterWorld.answer(reply.body)?["dyno"] as? String == "web.1")

        var lines: [RouterLogLine] = []
        #expect(
            waitUntil(seconds: 10) {
                lines += world.router.drainAccessLog()
                return !lines.isEmpty
            })
        let line = try #require(lines.first)
        #expect(line.app == "python-app")
        #expect(line.line.hasPrefix("at=info method=GET path=\"/hello?x=1\" host=python-app.localhost request_id="))
        #expect(line.line.contains(" fwd=\"127.0.0.1\" dyno=web.1 connect=0ms service="))
        #expect(line.line.contains(" status=200 bytes=\(reply.body.utf8.count) protocol=http"))
    }

    /// Caddy parses every request from outside: the runner's own never runs as root (issue 31), but as the system
    /// user `slipway-router`, without capabilities, in a folder of its own the runner's files stay out of; it still
    /// routes, logs and takes new configurations.
    @Test func theRunnersCaddyRunsAsAnUnprivilegedUserOfItsOwn() throws {
        let world = try RouterWorld("router-user")
        defer { world.stop() }
        try world.router.start()
        let pid = try #require(world.router.pid)
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let field = { (name: String) in
            status.split(separator: "\n").first { $0.hasPrefix("\(name):") }.map {
                $0.dropFirst(name.count + 1).split(whereSeparator: \.isWhitespace).map(String.init)
            } ?? []
        }
        if geteuid() == 0 {
            let user = try #require(getpwnam("slipway-router"), "the runner made the router's user")
            #expect(field("Uid") == Array(repeating: "\(user.pointee.pw_uid)", count: 4), "\(status)")
            #expect(field("Uid").first != "0")
            #expect(field("Gid").first == "\(user.pointee.pw_gid)")
            #expect(field("CapEff") == ["0000000000000000"] && field("CapBnd") == ["0000000000000000"], "\(status)")
            #expect(field("NoNewPrivs") == ["1"])
            #expect(world.router.user == "slipway-router")
            var info = stat()
            #expect(lstat(world.scratch.url("router"), &info) == 0 && info.st_uid == 0, "the router's folder")
            #expect(lstat(world.scratch.url("router/caddy"), &info) == 0 && info.st_uid == user.pointee.pw_uid)
        } else {
            #expect(field("Uid").first == "\(geteuid())")
        }
        let web = try world.startUpstream("web.1")
        try world.router.apply(world.table("python-app", [web]))
        let reply = try world.get("/", host: "python-app.localhost")
        #expect(reply.status == 200)
        #expect(waitUntil(seconds: 10) { !world.router.drainAccessLog().isEmpty }, "Caddy writes its access log")
    }

    /// On port 80 (below 1024), the unprivileged Caddy keeps one capability, `net_bind_service`, and nothing else.
    @Test(.enabled(if: geteuid() == 0)) func onAPortBelow1024CaddyKeepsOnlyTheBindCapability() throws {
        let world = try RouterWorld("router-port-80")
        defer { world.stop() }
        // A loopback address of its own: port 80 of 127.0.0.1 may be another test's or the machine's.
        let address = "127.0.\(Int.random(in: 2...250)).\(Int.random(in: 2...250))"
        let router = Router(settings: RouterSettings(folder: world.scratch.url("router-80"), listen: "\(address):80"))
        try router.start()
        defer { router.stop() }
        let pid = try #require(router.pid)
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let user = try #require(getpwnam("slipway-router"))
        #expect(status.contains("Uid:\t\(user.pointee.pw_uid)\t\(user.pointee.pw_uid)\t"), "\(status)")
        for line in ["CapEff:\t0000000000000400", "CapBnd:\t0000000000000400", "CapAmb:\t0000000000000400"] {
            #expect(status.contains(line), "only cap_net_bind_service (bit 10): \(status)")
        }
        let web = try world.startUpstream("web.1")
        try router.apply(world.table("python-app", [web]))
        let reply = try runTool([
            "/usr/bin/curl", "-s", "--max-time", "10", "-H", "Host: python-app.localhost", "http://\(address):80/",
        ])
        #expect(RouterWorld.answer(reply.stdout)?["dyno"] as? String == "web.1", "\(reply.stdout) \(reply.stderr)")
    }

    @Test func requestsAreSpreadOverEveryDyno() throws {
        let world = try RouterWorld("router-spread")
        defer { world.stop() }
        try world.router.start()
        let webs = try (1...3).map { try world.startUpstream("web.\($0)") }
        try world.router.apply(world.table("python-app", webs))

        // One curl, 300 requests over its kept-alive connection: Caddy picks a dyno for each request.
        let url = "http://127.0.0.1:\(world.port)/"
        let result = try runTool(
            ["/usr/bin/curl", "-s", "--max-time", "60", "-H", "Host: python-app.localhost", "-w", "\n"]
                + Array(repeating: url, count: 300), timeout: 90)
        var counts: [String: Int] = [:]
        for body in result.stdout.split(separator: "\n") {
            if let dyno = RouterWorld.answer(String(body))?["dyno"] as? String { counts[dyno, default: 0] += 1 }
        }
        #expect(counts.values.reduce(0, +) == 300)
        for web in webs { #expect(counts[web.dyno, default: 0] >= 60, "\(counts)") }
    }

    @Test func aResponseThatDoesNotStartIn30SecondsGetsTheH12Page() throws {
        let world = try RouterWorld("router-h12")
        defer { world.stop() }
        try world.router.start()
        let web = try world.startUpstream("web.1")
        try world.router.apply(world.table("python-app", [web]))

        let started = ContinuousClock.now
        let reply = try world.get("/sleep/40", host: "python-app.localhost", maxTime: 60)
        let waited = ContinuousClock.now - started
        #expect(reply.status == 503)
        #expect(reply.body.contains("H12 Request timeout"))
        #expect(waited >= .seconds(30) && waited < .seconds(38), "\(waited)")
        var lines: [RouterLogLine] = []
        #expect(
            waitUntil(seconds: 10) {
                lines += world.router.drainAccessLog()
                return !lines.isEmpty
            })
        #expect(lines.first?.line.hasPrefix("at=error code=H12 desc=\"Request timeout\" method=GET") == true)
        #expect(lines.first?.line.contains("dyno=web.1 ") == true)
    }

    @Test func withoutWebDynosTheH14PageAndForAnUnknownHostTheNoSuchAppPage() throws {
        let world = try RouterWorld("router-h14")
        defer { world.stop() }
        try world.router.start()
        try world.router.apply(world.table("idle-app", []))

        let idle = try world.get(host: "idle-app.localhost")
        #expect(idle.status == 503)
        #expect(idle.body.contains("H14 No web processes running"))
        #expect(RouterWorld.header("Content-Type", in: idle.headers)?.hasPrefix("text/html") == true)
        let unknown = try world.get(host: "nobody.localhost")
        #expect(unknown.status == 404)
        #expect(unknown.body.contains("No such app"))

        var lines: [RouterLogLine] = []
        #expect(
            waitUntil(seconds: 10) {
                lines += world.router.drainAccessLog()
                return !lines.isEmpty
            })
        // The unknown host is no app's: only the H14 request is logged.
        #expect(lines.count == 1)
        #expect(lines.first?.app == "idle-app")
        #expect(lines.first?.line.hasPrefix("at=error code=H14 desc=\"No web processes running\"") == true)
    }

    /// Caddy replaces its admin server with every configuration it loads and closes the old one's connections: a
    /// client that kept one open for the next call had it reset under it now and then (a deploy's route switch
    /// failing with "Connection reset by peer").
    @Test func manyConfigurationsInARowAreEachLoaded() throws {
        let world = try RouterWorld("router-reloads")
        defer { world.stop() }
        try world.router.start()
        let web = try world.startUpstream("web.1")
        for round in 0..<60 {
            try world.router.apply(world.table(round % 2 == 0 ? "busy-app" : "idle-app", [web]))
        }
        #expect(try world.get(host: "idle-app.localhost").status == 200)
        #expect(try world.get(host: "busy-app.localhost").status == 404)
    }

    @Test func aWebSocketUpgradePasses() throws {
        let world = try RouterWorld("router-websocket")
        defer { world.stop() }
        try world.router.start()
        try world.router.apply(world.table("chat-app", [try world.startUpstream("web.1")]))

        let result = try runTool(
            ["/usr/bin/python3", world.scratch.url("websocket.py"), "\(world.port)", "chat-app.localhost"],
            timeout: 30)
        #expect(
            result.stdout.split(separator: "\n") == [
                "HTTP/1.1 101 Switching Protocols", "accept:True", "echo:ping-123",
            ])
    }

    @Test func theRequestIdIsKeptOrMadeAndTheForwardedHeadersSet() throws {
        let world = try RouterWorld("router-headers")
        defer { world.stop() }
        try world.router.start()
        try world.router.apply(world.table("python-app", [try world.startUpstream("web.1")]))

        let kept = "client-chosen-id-0123456789"
        let withID = try world.get(host: "python-app.localhost", headers: ["X-Request-Id: \(kept)"])
        let seen = try #require(RouterWorld.answer(withID.body)?["headers"] as? [String: String])
        #expect(seen["X-Request-Id"] == kept)
        #expect(RouterWorld.header("X-Request-Id", in: withID.headers) == kept)
        #expect(seen["X-Forwarded-For"] == "127.0.0.1")
        #expect(seen["X-Forwarded-Proto"] == "http")
        #expect(seen["X-Forwarded-Port"] == "\(world.port)")

        // None, or one not of Heroku's form (20 to 200 of A-Za-z0-9+/=-): a new one, the same on both sides.
        for headers in [[], ["X-Request-Id: short"], ["X-Request-Id: spaces are not allowed in request ids"]] {
            let reply = try world.get(host: "python-app.localhost", headers: headers)
            let made = try #require(RouterWorld.header("X-Request-Id", in: reply.headers))
            #expect(made.count == 36 && made != "short")
            #expect((RouterWorld.answer(reply.body)?["headers"] as? [String: String])?["X-Request-Id"] == made)
        }
        #expect(
            waitUntil(seconds: 10) {
                world.router.drainAccessLog().contains { $0.line.contains("request_id=\(kept) ") }
            })
    }

    @Test func swappingTheDynosWhileAClientSendsRequestsLosesNone() throws {
        let world = try RouterWorld("router-swap")
        defer { world.stop() }
        try world.router.start()
        let old = try (1...2).map { try world.startUpstream("web.\($0)") }
        try world.router.apply(world.table("python-app", old))

        let stopFile = world.scratch.url("stop-client")
        let client = try TestProcess(
            ["/usr/bin/python3", world.scratch.url("client.py"), "\(world.port)", "python-app.localhost", stopFile])
        defer { client.terminate(grace: 2) }
        var served: [String: Int] = [:]
        func waitForRequests(to dynos: [RouteTable.Upstream], count: Int) -> Bool {
            waitUntil(seconds: 30) {
                for line in world.router.drainAccessLog() {
                    if let dyno = line.line.split(separator: " ").first(where: { $0.hasPrefix("dyno=") }) {
                        served[String(dyno.dropFirst(5)), default: 0] += 1
                    }
                }
                return dynos.allSatisfy { served["\($0.dyno)", default: 0] >= count }
            }
        }
        #expect(waitForRequests(to: old, count: 20))

        // The new release's dynos (new ports, new names) join; the old ones leave the route, then are stopped.
        // The client sends one request at a time: once both new dynos have answered, none is left on the old ones.
        let new = try (3...4).map { try world.startUpstream("web.\($0)") }
        try world.router.apply(world.table("python-app", new))
        served = [:]
        #expect(waitForRequests(to: new, count: 1))
        for upstream in old { world.stopUpstream(upstream) }
        served = [:]
        #expect(waitForRequests(to: new, count: 50))
        #expect(served.keys.allSatisfy { ["web.3", "web.4"].contains($0) }, "\(served)")

        _ = FileManager.default.createFile(atPath: stopFile, contents: nil)
        #expect(client.wait(timeout: 30) == 0)
        let summary = try #require(RouterWorld.answer(client.stdoutText))
        let caddyLog = (try? world.scratch.read("router/caddy/caddy.log")) ?? ""
        #expect(summary["failed"] as? Int == 0, "\(summary)\n\(caddyLog)")
        #expect((summary["ok"] as? Int ?? 0) >= 140, "\(summary)")
    }

    /// Whoever reaches Caddy's admin API can load a configuration of their own: a TCP admin address dynos can reach
    /// is refused when the runner starts (issue 31).
    @Test func anAdminAddressDynosCouldReachIsRefused() throws {
        let h = try RunnerHarness("router-admin")
        for arguments in [
            ["--dyno-network", "host", "--router-admin", "localhost:2019"], ["--router-admin", "0.0.0.0:2019"],
        ] {
            let result = try h.slugrunner(["watch", "--router", "127.0.0.1:\(try freeLoopbackPort())"] + arguments)
            #expect(result.status != 0, "\(arguments): \(result.output)")
            #expect(result.stderr.contains("dynos could reach Caddy's admin address"), "\(result.output)")
        }
        #expect(throws: Never.self) {
            try RouterSettings.checkAdminOutOfReach("localhost:2019", dynosOnHostNetwork: false)
        }
        #expect(throws: Never.self) {
            try RouterSettings.checkAdminOutOfReach("unix//run/caddy/admin.sock", dynosOnHostNetwork: true)
        }
        #expect(throws: (any Error).self) {
            try RouterSettings.checkAdminOutOfReach("10.0.0.5:2019", dynosOnHostNetwork: false)
        }
    }

    @Test func aMissingCaddyOrATakenPortIsOneClearError() throws {
        let world = try RouterWorld("router-errors")
        defer { world.stop() }
        var settings = world.router.settings
        settings.caddyExecutable = world.scratch.url("no-caddy-here")
        let missing = Router(settings: settings)
        #expect {
            try missing.start()
        } throws: { error in
            "\(error)".contains("install Debian's caddy package") && "\(error)".contains("--router none")
        }

        try world.router.start()
        var second = world.router.settings
        second.folder = world.scratch.url("router-2")
        let taken = Router(settings: second)
        #expect {
            try taken.start()
        } throws: { error in
            "\(error)".contains("the port is taken")
        }
        #expect(taken.pid == nil)
        // The first router still serves.
        #expect(try world.get(host: "nobody.localhost").status == 404)
    }
}
