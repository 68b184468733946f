import Foundation
import Testing

@testable import SlipwayRouting

/// The router tries host names most specific first, whatever the apps' names: `aaa`'s `*.shop.test` never takes
/// `shop`'s `www.shop.test` (issue 31), even though `aaa` sorts first.
@Suite struct RouteOrderTests {
    let table = RouteTable(apps: [
        .init(name: "aaa", baseDomain: "localhost", domains: ["*.shop.test", "*.corp.test"], upstreams: []),
        .init(name: "shop", baseDomain: "localhost", domains: ["www.shop.test", "*.eu.corp.test"], upstreams: []),
        .init(name: "zzz", baseDomain: "localhost", domains: ["api.corp.test"], upstreams: []),
    ])

    @Test func exactNamesComeFirstThenLongerWildcardsThenShorter() {
        let order = table.hostRoutes.map { "\($0.app.name) \($0.hosts.joined(separator: ","))" }
        #expect(
            order == [
                "aaa aaa.localhost",
                "shop shop.localhost,www.shop.test",
                "zzz zzz.localhost,api.corp.test",
                "shop *.eu.corp.test",
                "aaa *.shop.test,*.corp.test",
            ])
    }

    @Test func caddyMatchesTheHostsInThatOrder() throws {
        let config = CaddyConfig(
            listen: "127.0.0.1:8080", adminAddress: "unix//srv/router/admin.sock", accessLog: "/srv/router/access.log",
            resolverAddress: "udp/127.0.0.1:5353")
        let document = try #require(try JSONSerialization.jsonObject(with: config.json(table)) as? [String: Any])
        let server = try #require(
            ((document["apps"] as? [String: Any])?["http"] as? [String: Any])?["servers"] as? [String: Any])
        let routes = try #require((server["slipway"] as? [String: Any])?["routes"] as? [[String: Any]])
        let hosts = routes.compactMap { ($0["match"] as? [[String: Any]])?.first?["host"] as? [String] }
        #expect(
            hosts == [
                ["aaa.localhost"], ["shop.localhost", "www.shop.test"], ["zzz.localhost", "api.corp.test"],
                ["*.eu.corp.test"], ["*.shop.test", "*.corp.test"],
            ])
    }
}
