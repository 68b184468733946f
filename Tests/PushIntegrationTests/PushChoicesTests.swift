import Foundation
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

/// What a push may make the server hold or read (issue 31): a buildpack named by the app is never a folder or a
/// repository on the server, and branches that are never built are bounded as the deploy branch is.
@Suite(.serialized) struct PushChoicesTests {
    @Test func anAppCannotNameTheServersFoldersOrRepositoriesAsBuildpacks() throws {
        let h = try PushHarness("bp-choices", users: ["alice", "mallory"])
        let bp = try h.buildpack()
        let shop = try h.makeApp(
            "shop", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n", "secret": "alice\n"])
        let first = try h.push(shop, app: "shop")
        #expect(first.status == 0, "\(first.output)")
        #expect(try h.receivePack(["apps", "create", "aaa", "--owner", "mallory"]).status == 0)

        // Alice's repository (as a local path and over file://), and a buildpack in a folder outside the operator's
        // (the harnesses allow the temporary folder, where a fresh clone may sit: a copy under /var/tmp instead).
        let outside = "/var/tmp/slipway-outside-buildpack-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try? FileManager.default.removeItem(atPath: outside)
        try FileManager.default.copyItem(atPath: "\(TestPaths.builtinBuildpacks)/procfile", toPath: outside)
        #expect(!outside.hasPrefix(TestPaths.buildpackFolders + "/"))
        let named = ["file://\(h.root)/apps/shop/repo.git", "\(h.root)/apps/shop/repo.git", outside]
        for (index, name) in named.enumerated() {
            let repo = try h.makeApp("mallory-\(index)", files: ["Procfile": "web: x\n", ".buildpacks": "\(name)\n"])
            let push = try h.push(repo, app: "aaa", as: "mallory")
            #expect(push.status != 0, "\(name): \(push.output)")
            #expect(push.output.contains("is not allowed: an app may name a built-in buildpack"), "\(push.output)")
            #expect(push.output.contains("Change .buildpacks (or BUILDPACK_URL, or buildpacks:set)"))
        }
        // Through the app's own settings too.
        #expect(try h.ssh("buildpacks:set aaa file://\(h.root)/apps/shop/repo.git", as: "mallory").status == 0)
        let plain = try h.makeApp("mallory-plain", files: ["Procfile": "web: x\n"])
        let viaSetting = try h.push(plain, app: "aaa", as: "mallory")
        #expect(viaSetting.status != 0 && viaSetting.output.contains("is not allowed"), "\(viaSetting.output)")
        #expect(try h.spoolEntries().count == 1, "only alice's release")

        // A built-in buildpack by name is fine.
        #expect(try h.ssh("buildpacks:set aaa procfile", as: "mallory").status == 0)
        let builtin = try h.push(plain, app: "aaa", as: "mallory")
        #expect(builtin.status == 0, "\(builtin.output)")
    }

    @Test func branchesThatAreNotBuiltHaveTheTreeAndPushLimitsToo() throws {
        let h = try PushHarness(
            "branch-limits", sessionEnvironment: ["SLIPWAY_MAX_TREE_FILES": "5", "SLIPWAY_MAX_PUSH_MB": "1"])
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        let first = try h.push(repo)
        #expect(first.status == 0, "\(first.output)")
        let server = "\(h.root)/apps/myapp/repo.git"
        func serverHas(_ branch: String) throws -> Bool {
            try git(["rev-parse", "-q", "--verify", "refs/heads/\(branch)"], in: server).status == 0
        }

        // Too many files on a branch that is never built.
        try git(["checkout", "-q", "-b", "many"], in: repo)
        for index in 1...6 { try h.scratch.write("src/file-\(index)", "\(index)\n") }
        try git(["add", "-A"], in: repo)
        try git(["commit", "-q", "-m", "many"], in: repo)
        let many = try h.push(repo, ["many"])
        #expect(many.status != 0)
        #expect(
            many.output.contains("Push rejected: many: the pushed tree is too large: it has more than 5 files"),
            "\(many.output)")
        #expect(try !serverHas("many"))

        // More bytes than a push may send, on another such branch.
        try git(["checkout", "-q", "main"], in: repo)
        try git(["checkout", "-q", "-b", "big"], in: repo)
        let random = try runTool(["/bin/sh", "-c", "head -c 3000000 /dev/urandom > '\(repo)/blob'"])
        #expect(random.status == 0)
        try git(["add", "-A"], in: repo)
        try git(["commit", "-q", "-m", "big"], in: repo)
        let big = try h.push(repo, ["big"])
        #expect(big.status != 0)
        #expect(big.output.contains("pack exceeds maximum allowed size"), "\(big.output)")
        #expect(try !serverHas("big"))

        // A small branch is stored as before.
        try git(["checkout", "-q", "main"], in: repo)
        try git(["checkout", "-q", "-b", "small"], in: repo)
        try h.commit(repo, "README", "small\n")
        let small = try h.push(repo, ["small"])
        #expect(small.status == 0 && small.output.contains("Pushed to non-deploy branch small"), "\(small.output)")
        #expect(try serverHas("small"))
    }
}
