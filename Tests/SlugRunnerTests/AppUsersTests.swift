import Foundation
import SlipwaySystem
import SlipwayTestSupport
import Testing

@testable import SlipwayDynos
@testable import SlipwayRunnerKit
@testable import SlugRunner

/// The range the apps' users come from, chosen around what `/etc/subuid` and `/etc/subgid` give to users (issue 31:
/// a rootless Docker or Podman user given 600000-665535 there would own the apps' files from its containers).
@Suite struct AppUsersTests {
    @Test func subordinateRangesAreReadAsShadowUtilsWritesThem() {
        let text = "alice:100000:65536\n\n# a comment:1:2\nbob:600000:65536\nbroken line\ncarol:x:10\ndan:5:0\n"
        let ranges = SubordinateIDs.parse(text, file: "/etc/subuid")
        #expect(ranges.map(\.owner) == ["alice", "bob"])
        #expect(ranges.map(\.ids) == [100_000...165_535, 600_000...665_535])
        #expect(ranges.allSatisfy { $0.file == "/etc/subuid" })
    }

    @Test func theDefaultRangeIsKeptWhenNoUserHoldsIt() {
        let held = SubordinateIDs.parse("alice:100000:65536\nbob:165536:65536\n", file: "/etc/subuid")
        #expect(AppUsers.range(avoiding: held) == AppUsers.defaultRange)
        #expect(AppUsers.range(avoiding: []) == AppUsers.defaultRange)
    }

    @Test func aRangeAUserHoldsIsSkipped() {
        // bob's subordinate uids cover the start of the default range; carol's subordinate gids its end.
        let bob = SubordinateIDs.parse("bob:600000:65536\n", file: "/etc/subuid")
        #expect(AppUsers.range(avoiding: bob) == 700_000...799_999)
        let carol = SubordinateIDs.parse("carol:699999:1\n", file: "/etc/subgid")
        #expect(AppUsers.range(avoiding: carol) == 700_000...799_999)
        let both = bob + SubordinateIDs.parse("carol:750000:200000\n", file: "/etc/subgid")
        #expect(AppUsers.range(avoiding: both) == 1_000_000...1_099_999)
        let everything = SubordinateIDs.parse("root:0:4294967295\n", file: "/etc/subuid")
        #expect(AppUsers.range(avoiding: everything) == nil)
    }

    @Test func newAppsGetIdsFromTheChosenRangeAndKeepThem() throws {
        let scratch = try ScratchDirectory("app-users")
        let subuid = try scratch.write("subuid", "bob:600000:65536\n")
        let subgid = try scratch.write("subgid", "")
        let table = scratch.url("uids.json")
        var users = try AppUsers(path: table, subordinateFiles: [subuid, subgid])
        let shop = try users.user(for: "shop")
        let aaa = try users.user(for: "aaa")
        #expect((700_000...799_999).contains(shop.uid) && (700_000...799_999).contains(aaa.uid))
        #expect(shop.uid != aaa.uid && shop.gid == shop.uid)
        var again = try AppUsers(path: table, subordinateFiles: [subuid, subgid])
        #expect(try again.user(for: "shop") == shop, "an app keeps its user across restarts")
    }

    @Test func anAppWhoseIdAUserNowHoldsIsOneClearLine() throws {
        let scratch = try ScratchDirectory("app-users-taken")
        let table = scratch.url("uids.json")
        let none = try scratch.write("none", "")
        var users = try AppUsers(path: table, subordinateFiles: [none])
        let shop = try users.user(for: "shop")
        #expect(AppUsers.defaultRange.contains(shop.uid))
        // Later, an operator gives a user the range the app's uid is in.
        let subgid = try scratch.write("subgid", "root:0:1\nbob:600000:65536\n")
        let error = #expect(throws: RunnerError.self) {
            try AppUsers(path: table, subordinateFiles: [none, subgid])
        }
        let line = error?.description ?? ""
        #expect(line.contains("the app shop runs as uid \(shop.uid)"), "\(line)")
        #expect(line.contains("\(subgid) gives to bob (600000-665535)"), "\(line)")
        #expect(!line.contains("\n"), "one line: \(line)")
    }
}
