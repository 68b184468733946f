import Foundation
import Testing

@testable import SlipwayRouting
@testable import SlipwayRunnerKit
@testable import SlugRunner

@Suite struct CaddyConfigTests {
    let table = RouteTable(apps: [
        .init(
            name: "python-app", baseDomain: "localhost", domains: ["www.example.com"],
            upstreams: [.init(dyno: "web.1", port: 5001), .init(dyno: "web.2", port: 5002)]),
        .init(name: "idle-app", baseDomain: "localhost", upstreams: []),
    ])

    func document(_ config: CaddyConfig? = nil) throws -> [String: Any] {
        let config =
            config
            ?? CaddyConfig(
                listen: "127.0.0.1:8080", adminAddress: "unix//srv/router/admin.sock",
                accessLog: "/srv/router/access.log", resolverAddress: "udp/127.0.0.1:5353")
        let data = try config.json(table)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func server(_ document: [String: Any]) throws -> [String: Any] {
        let apps = try #require(document["apps"] as? [String: Any])
        let http = try #require(apps["http"] as? [String: Any])
        let servers = try #require(http["servers"] as? [String: Any])
        return try #require(servers["slipway"] as? [String: Any])
    }

    /// The route of the app answering at `host`.
    func route(_ server: [String: Any], host: String) throws -> [[String: Any]] {
        let routes = try #require(server["routes"] as? [[String: Any]])
        let route = try #require(
            routes.first { (($0["match"] as? [[String: Any]])?.first?["host"] as? [String])?.contains(host) == true })
        return try #require(route["handle"] as? [[String: Any]])
    }

    @Test func everyConfigurationRestatesTheAdminAddressAndTheLogs() throws {
        let document = try document()
        let admin = try #require(document["admin"] as? [String: Any])
        #expect(admin["listen"] as? String == "unix//srv/router/admin.sock")
        let logs = try #require((document["logging"] as? [String: Any])?["logs"] as? [String: Any])
        let access = try #require(logs["access"] as? [String: Any])
        #expect((access["writer"] as? [String: Any])?["filename"] as? String == "/srv/router/access.log")
        #expect(access["include"] as? [String] == ["http.log.access.slipway"])
        let server = try server(document)
        #expect(server["listen"] as? [String] == ["127.0.0.1:8080"])
        #expect((server["automatic_https"] as? [String: Any])?["disable"] as? Bool == true)
    }

    @Test func anAppIsProxiedToItsDynosAtRandomWithRetriesAndATimeout() throws {
        var config = CaddyConfig(
            listen: "127.0.0.1:8080", adminAddress: "localhost:2019", accessLog: "/tmp/a.log",
            resolverAddress: "udp/127.0.0.1:5353")
        config.timeout = .seconds(12)
        let handlers = try route(try server(try document(config)), host: "www.example.com")
        let proxy = try #require(handlers.first { $0["handler"] as? String == "reverse_proxy" })
        // The dynos come from the router's DNS, not from the configuration, which a deploy therefore leaves alone.
        let dynamic = try #require(proxy["dynamic_upstreams"] as? [String: Any])
        #expect(dynamic["source"] as? String == "srv" && dynamic["name"] as? String == "python-app.slipway.internal")
        #expect(dynamic["refresh"] as? String == "10ms")
        #expect((dynamic["resolver"] as? [String: [String]])?["addresses"] == ["udp/127.0.0.1:5353"])
        #expect(proxy["upstreams"] == nil)
        let balancing = try #require(proxy["load_balancing"] as? [String: Any])
        #expect((balancing["selection_policy"] as? [String: String])?["policy"] == "random")
        #expect(balancing["try_duration"] as? String == "5000ms")
        let transport = try #require(proxy["transport"] as? [String: Any])
        #expect(transport["response_header_timeout"] as? String == "12000ms")
        #expect((transport["resolver"] as? [String: [String]])?["addresses"] == ["udp/127.0.0.1:5353"])
        let headers = try #require((proxy["headers"] as? [String: Any])?["request"] as? [String: Any])
        #expect((headers["set"] as? [String: [String]])?["X-Forwarded-Port"] == ["8080"])
        // Which dyno answered goes to the access log's user_id, never to the client.
        let maps = handlers.filter { $0["handler"] as? String == "map" }
        #expect(maps.last?["destinations"] as? [String] == ["{http.auth.user.id}"])
        #expect(maps.last?["defaults"] as? [String] == ["python-app {slipway.dyno} {http.vars.slipway_code}"])
        let mapping = try #require((maps.first?["mappings"] as? [[String: Any]])?.first)
        #expect(maps.first?["destinations"] as? [String] == ["{slipway.dyno}"])
        #expect(mapping["outputs"] as? [String] == ["web.$1"])
        let pattern = try Regex(try #require(mapping["input_regexp"] as? String))
        let dialled = "2.h7f000001-5002.web.python-app.slipway.internal.:5002"
        #expect(try pattern.wholeMatch(in: dialled)?.output[1].substring == "2")
        #expect(try pattern.wholeMatch(in: "2.h7f000001-5002.web.other-app.slipway.internal.:5002") == nil)
    }

    @Test func theConfigurationDependsOnWhetherAnAppHasDynosNotOnWhichOnes() throws {
        let config = CaddyConfig(
            listen: ":80", adminAddress: "localhost:2019", accessLog: "/tmp/a.log", resolverAddress: "udp/x:1")
        var moved = table
        moved.set(
            .init(
                name: "python-app", baseDomain: "localhost", domains: ["www.example.com"],
                upstreams: [.init(dyno: "web.1", port: 6001)]))
        #expect(try config.json(moved) == config.json(table), "a deploy is no reload")
        moved.set(.init(name: "idle-app", baseDomain: "localhost", upstreams: [.init(dyno: "web.1", port: 7)]))
        #expect(try config.json(moved) != config.json(table), "an app's first web dyno is")
    }

    @Test func anAppWithoutWebDynosGetsTheH14Page() throws {
        let handlers = try route(try server(try document()), host: "idle-app.localhost")
        #expect(!handlers.contains { $0["handler"] as? String == "reverse_proxy" })
        let page = try #require(handlers.first { $0["handler"] as? String == "static_response" })
        #expect(page["status_code"] as? Int == 503)
        #expect((page["body"] as? String)?.contains("H14 No web processes running") == true)
    }

    @Test func unknownHostsGetNoSuchAppAndProxyErrorsHerokusPages() throws {
        let server = try server(try document())
        let routes = try #require(server["routes"] as? [[String: Any]])
        let last = try #require((routes.last?["handle"] as? [[String: Any]])?.first)
        #expect(routes.last?["match"] == nil)
        #expect(last["status_code"] as? Int == 404)
        let errors = try #require((server["errors"] as? [String: Any])?["routes"] as? [[String: Any]])
        let timeout = try #require(errors.first)
        #expect(
            (timeout["match"] as? [[String: Any]])?.first?["vars"] as? [String: [String]]
                == ["{http.error.status_code}": ["504"]])
        let page = try #require((timeout["handle"] as? [[String: Any]])?.last)
        #expect(page["status_code"] as? Int == 503)
        #expect((page["body"] as? String)?.contains("H12 Request timeout") == true)
    }

    @Test func theZoneGivesEachDynoATargetOfItsOwn() throws {
        let doubled = RouteTable(apps: [
            .init(
                name: "app", hosts: ["app.localhost"],
                upstreams: Array(repeating: .init(dyno: "web.1", port: 9), count: 2) + [
                    .init(dyno: "web.2", port: 10, host: "10.1.2.3"), .init(dyno: "web.3", port: 11, host: "::1"),
                ])
        ])
        let zone = RouteZone(doubled)
        let targets = try #require(zone.services["_web._tcp.app.slipway.internal"])
        #expect(targets.map(\.port) == [9, 10], "a duplicate once; an IPv6 host left out")
        #expect(
            targets.map(\.name) == [
                "1.h7f000001-9.web.app.slipway.internal", "2.h0a010203-10.web.app.slipway.internal",
            ])
        #expect(zone.addresses["2.h0a010203-10.web.app.slipway.internal"] == [10, 1, 2, 3])
        #expect(RouteZone(RouteTable()).hasTargets(missingFrom: zone) == false)
        #expect(zone.hasTargets(missingFrom: RouteZone(RouteTable())))
        let config = CaddyConfig(
            listen: ":80", adminAddress: "localhost:2019", accessLog: "/tmp/a.log", resolverAddress: "udp/x:1")
        #expect(config.listenPort == "80")
    }

    @Test func tablesCompareByValue() {
        var other = table
        #expect(other == table)
        other.set(.init(name: "idle-app", baseDomain: "localhost", upstreams: [.init(dyno: "web.1", port: 7)]))
        #expect(other != table)
        #expect(Router.hostName(app: "python-app", baseDomain: "localhost") == "python-app.localhost")
        #expect(table.apps["python-app"]?.hosts == ["python-app.localhost", "www.example.com"])
    }

    @Test func listenAddressesAreParsed() throws {
        let local = try RouterSettings.parseListen("127.0.0.1:8080")
        #expect(local.host == "127.0.0.1" && local.port == 8080)
        let ipv6 = try RouterSettings.parseListen("[::1]:80")
        #expect(ipv6.host == "::1" && ipv6.port == 80)
        for bad in ["8080", "127.0.0.1", "127.0.0.1:0", "host:99999"] {
            #expect(throws: RunnerError.self) { try RouterSettings.parseListen(bad) }
        }
        #expect(throws: RunnerError.self) { try CaddyAdmin(address: "10.0.0.1:2019") }
        #expect(throws: RunnerError.self) { try CaddyAdmin(address: "unix/relative.sock") }
        #expect(try CaddyAdmin(address: "localhost:2019").address == "localhost:2019")
        #expect(try CaddyAdmin(address: "unix//run/caddy/admin.sock").address == "unix//run/caddy/admin.sock")
    }
}
