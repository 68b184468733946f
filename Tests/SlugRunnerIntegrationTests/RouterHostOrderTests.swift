import Foundation
import SlipwayRouting
import SlipwayTestSupport
import SlugRunner
import Testing

/// The most specific host name wins through a real Caddy, whatever the apps' names (issue 31): `aaa`, which sorts
/// first, has `*.shop.test` and `*.corp.test`; `shop` has `www.shop.test` and `*.eu.corp.test`; `zzz` has
/// `api.corp.test`. Each request reaches the app whose claim is the most specific.
@Suite struct RouterHostOrderTests {
    @Test func theMostSpecificNameWinsWhateverTheAppsNames() throws {
        let world = try RouterWorld("router-order")
        defer { world.stop() }
        try world.router.start()
        let aaa = try world.startUpstream("web.1")
        let shop = try world.startUpstream("web.2")
        let zzz = try world.startUpstream("web.3")
        try world.router.apply(
            RouteTable(apps: [
                .init(name: "aaa", baseDomain: "localhost", domains: ["*.shop.test", "*.corp.test"], upstreams: [aaa]),
                .init(
                    name: "shop", baseDomain: "localhost", domains: ["www.shop.test", "*.eu.corp.test"],
                    upstreams: [shop]),
                .init(name: "zzz", baseDomain: "localhost", domains: ["api.corp.test"], upstreams: [zzz]),
            ]))

        let expected: [(host: String, dyno: String)] = [
            ("www.shop.test", "web.2"), ("shop.localhost", "web.2"), ("x.eu.corp.test", "web.2"),
            ("api.corp.test", "web.3"), ("other.shop.test", "web.1"), ("www.corp.test", "web.1"),
            ("aaa.localhost", "web.1"),
        ]
        for (host, dyno) in expected {
            let reply = try world.get(host: host)
            #expect(reply.status == 200, "\(host): \(reply.status)")
            #expect(RouterWorld.answer(reply.body)?["dyno"] as? String == dyno, "\(host): \(reply.body)")
        }
        #expect(try world.get(host: "shop.test").status == 404)
    }
}
