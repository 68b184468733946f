import Foundation
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

/// `domains:add` through the real door (OpenSSH's sshd, `receive-pack shell`): a host name, a wildcard covering it
/// or a name under a wildcard belongs to one app (issue 31: mallory's `*.shop.test` took alice's `www.shop.test`, and
/// `api.corp.test` a name inside alice's `*.corp.test`), and the refusal names the other app only to someone who
/// has access to it.
@Suite(.serialized) struct DomainDoorTests {
    func harness() throws -> PushHarness {
        let h = try PushHarness("domains", users: ["alice", "mallory"])
        for (app, owner) in [("shop", "alice"), ("shop-api", "alice"), ("aaa", "mallory")] {
            let created = try h.receivePack(["apps", "create", app, "--owner", owner])
            guard created.status == 0 else { throw HarnessError("apps create failed: \(created.output)") }
        }
        return h
    }

    func domains(_ h: PushHarness, _ app: String) throws -> [String] {
        try DynoSettings.load(from: "\(h.root)/apps/\(app)/dynos.json").domains
    }

    @Test func aNameAndTheWildcardsAroundItBelongToOneApp() throws {
        let h = try harness()
        #expect(try h.ssh("domains:add shop www.shop.test").status == 0)
        let added = try h.ssh("domains:add shop *.Corp.Test.")
        #expect(added.status == 0 && added.output.contains("Adding *.corp.test to shop"), "\(added.output)")

        // Mallory, in both directions, in any case, with a final dot: refused, and told nothing about shop.
        for name in [
            "*.shop.test", "api.corp.test", "a.b.corp.test", "*.eu.corp.test", "*.corp.test", "WWW.SHOP.TEST.",
        ] {
            let taken = try h.ssh("domains:add aaa \(name)", as: "mallory")
            #expect(taken.status == 1, "\(name): \(taken.output)")
            #expect(taken.output.contains("is a domain of another app, or overlaps one"), "\(name): \(taken.output)")
            #expect(!taken.output.contains("shop") || name.lowercased().contains("shop"), "\(taken.output)")
            #expect(!taken.output.contains("corp.test") || name.lowercased().contains("corp"), "\(taken.output)")
        }
        #expect(try domains(h, "aaa").isEmpty)
        #expect(try domains(h, "shop") == ["www.shop.test", "*.corp.test"])

        // Names beside them are free.
        #expect(try h.ssh("domains:add aaa shop.test", as: "mallory").status == 0)
        #expect(try h.ssh("domains:add aaa *.myshop.test", as: "mallory").status == 0)
        // A wildcard first, then a name under it, is refused the same way.
        let under = try h.ssh("domains:add shop a.myshop.test")
        #expect(under.status == 1 && under.output.contains("is a domain of another app, or overlaps one"))
        #expect(!under.output.contains("aaa"), "\(under.output)")

        // Alice has access to both of her apps: she is told which domain of which app is in the way.
        let own = try h.ssh("domains:add shop-api api.corp.test")
        #expect(own.status == 1, "\(own.output)")
        #expect(
            own.output
                == "slipway: api.corp.test overlaps *.corp.test, a domain of shop; a host name belongs to one app: "
                + "remove it there first (domains:remove shop *.corp.test)\n", "\(own.output)")
        #expect(try h.ssh("domains:remove shop *.corp.test.").status == 0)
        #expect(try h.ssh("domains:add shop-api api.corp.test").status == 0)
        #expect(try domains(h, "shop-api") == ["api.corp.test"])
    }

    @Test func aWildcardCannotCoverTheAppsOwnAddresses() throws {
        let h = try harness()
        for name in ["*.localhost", "shop.localhost", "x.localhost"] {
            let refused = try h.ssh("domains:add aaa \(name)", as: "mallory")
            #expect(refused.status == 1 && refused.output.contains("own address"), "\(name): \(refused.output)")
        }
        let notAHost = try h.ssh("domains:add aaa bücher.example", as: "mallory")
        #expect(notAHost.status == 1 && notAHost.output.contains("xn--"), "\(notAHost.output)")
    }
}
