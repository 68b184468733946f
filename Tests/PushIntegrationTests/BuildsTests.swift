import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// Builds, their logs, cancelling, the build cache, and the app settings that steer a build, over the SSH door.
@Suite(.serialized) struct BuildsTests {
    @Test func buildsListAndTheirOutput() throws {
        let h = try PushHarness("builds")
        let repo = try h.deployedApp()
        let bad = try h.buildpack("bad", compile: "echo 'npm ERR! missing script'; exit 2")
        try h.commit(repo, ".buildpacks", "\(bad)\n")
        let failed = try h.push(repo)
        #expect(failed.status != 0)

        let list = try h.ssh("builds myapp", merge: false)
        #expect(list.status == 0, "\(list.output)")
        let lines = list.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(lines)")
        #expect(lines[0] == "=== myapp builds")
        #expect(lines[1].hasPrefix("ID ") && lines[1].contains("RESULT     COMMIT   USER   DURATION  RELEASE  STARTED"))
        let newest = lines[2].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let oldest = lines[3].split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        let head = try git(["rev-parse", "HEAD"], in: repo).stdout.prefix(7)
        #expect(newest[1] == "failed" && newest[2] == String(head) && newest[3] == "alice" && newest[5] == "-")
        #expect(oldest[1] == "succeeded" && oldest[3] == "alice" && oldest[5] == "v1")
        #expect(newest[4].hasSuffix("s"), "a duration: \(newest)")
        #expect(failed.output.contains("builds:output myapp \(newest[0])"), "the failure summary names the build")

        let latest = try h.ssh("builds:output myapp", merge: false)
        #expect(latest.status == 0)
        #expect(latest.stdout.contains("npm ERR! missing script"))
        #expect(latest.stdout.contains("Push rejected, failed to compile Spy app."))
        let first = try h.ssh("builds:output myapp \(oldest[0])", merge: false)
        #expect(first.stdout.contains("-----> spy compiling") && !first.stdout.contains("npm ERR!"))
        let unknown = try h.ssh("builds:output myapp 20200101-000000-000-abcd")
        #expect(unknown.status == 1)
        #expect(
            unknown.output == "slipway: No build 20200101-000000-000-abcd of myapp: only the last 20 builds are kept.\n"
        )
    }

    /// `builds:cancel` from a second connection stops a build that would run for minutes: the push is rejected,
    /// the buildpack's processes are gone, nothing is published.
    @Test func cancelStopsTheRunningBuild() throws {
        let h = try PushHarness("builds-cancel", users: ["alice", "bob"])
        let marker = uniqueSleep()
        let bp = try h.buildpack(
            compile: """
                echo "-----> sleeping"
                sleep \(marker)
                """)
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        _ = try h.receivePack(["apps", "create", "myapp", "--owner", "alice"])
        _ = try h.receivePack(["apps", "add-collaborator", "myapp", "bob"])
        let push = try h.startPush(repo)
        #expect(push.waitFor("-----> sleeping", timeout: 60), "\(push.text)")
        #expect(try h.ssh("builds myapp", merge: false).stdout.contains(" running "))

        let cancel = try h.ssh("builds:cancel myapp", as: "bob")
        #expect(cancel.status == 0, "\(cancel.output)")
        #expect(cancel.output.hasPrefix("Cancelled build "), "\(cancel.output)")
        #expect(cancel.output.contains("of myapp (") && cancel.output.contains(" by alice); its push is rejected"))
        #expect(push.wait(timeout: 60) != 0, "the push is rejected")
        #expect(
            push.text.contains("remote:  !     Push rejected: The build was cancelled by bob (builds:cancel)."),
            "\(push.text)")
        #expect(push.text.contains("pre-receive hook declined"))
        #expect(waitUntil { processes(matching: marker).isEmpty }, "the buildpack is stopped")
        #expect(try h.spoolEntries().isEmpty, "nothing is published")
        #expect(try h.serverRef() == nil, "the branch does not move")
        let builds = try h.ssh("builds myapp", merge: false).stdout
        #expect(builds.contains(" cancelled "), "\(builds)")
        #expect(try h.ssh("builds:cancel myapp").output == "slipway: no build of myapp is running\n")
    }

    @Test func cachePurgeEmptiesTheBuildCache() throws {
        let h = try PushHarness("builds-cache")
        let repo = try h.deployedApp(
            compile: """
                if [ -e "$2/marker" ]; then echo "-----> cache hit"; else echo "-----> cache miss"; fi
                touch "$2/marker"
                """)
        try h.commit(repo, "README", "two")
        #expect(try h.push(repo).output.contains("-----> cache hit"))
        let purge = try h.ssh("cache:purge myapp")
        #expect(purge.status == 0)
        #expect(purge.output == "Purged the build cache of myapp; the next build starts from nothing.\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(h.root)/tmp").isEmpty, "nothing left aside")
        try h.commit(repo, "README", "three")
        #expect(try h.push(repo).output.contains("-----> cache miss"))
        #expect(try h.ssh("cache:purge myapp", as: "alice").status == 0)
    }

    @Test func deployBranchSetting() throws {
        let h = try PushHarness("builds-branch")
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        _ = try h.receivePack(["apps", "create", "myapp", "--owner", "alice"])
        let set = try h.ssh("apps:set myapp deploy-branch=production")
        #expect(set.output == "Set deploy-branch of myapp to production: pushes to production deploy it.\n")
        let main = try h.push(repo)
        #expect(main.status == 0)
        #expect(main.output.contains("Pushed to non-deploy branch main, not building."))
        #expect(try h.spoolEntries().isEmpty)
        let production = try h.push(repo, ["main:production"])
        #expect(production.status == 0, "\(production.output)")
        #expect(production.output.contains("Launching... done, v1"))
        #expect(try h.ssh("apps:info myapp", merge: false).stdout.contains("Deploy branch:  production\n"))
        let clone = try git(
            ["clone", "-q", h.remote("myapp"), h.scratch.url("clone")], in: h.scratch.path,
            environment: h.gitEnvironment(as: "alice"), mergeOutput: true)
        #expect(clone.status == 0, "\(clone.output)")
        #expect(
            try git(["branch", "--show-current"], in: h.scratch.url("clone")).stdout == "production\n",
            "clones check out the deploy branch")
        #expect(try h.ssh("apps:set myapp deploy-branch=-x").output.contains("is not a valid branch name"))
    }

    @Test func buildpacksSetting() throws {
        let h = try PushHarness("builds-buildpacks")
        let chosen = try h.buildpack("chosen", compile: "echo '-----> the chosen buildpack'")
        let fromRepo = try h.buildpack("from-repo", compile: "echo '-----> the repository buildpack'")
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(fromRepo)\n"])
        _ = try h.receivePack(["apps", "create", "myapp", "--owner", "alice"])
        #expect(try h.ssh("buildpacks:set myapp \(chosen)").status == 0)
        #expect(try h.ssh("buildpacks myapp", merge: false).stdout == "=== myapp buildpacks\n1. \(chosen)\n")
        let first = try h.push(repo)
        #expect(first.output.contains("-----> the chosen buildpack") && !first.output.contains("repository buildpack"))
        #expect(try h.spoolEntries().last?.manifest.buildpacks.map(\.url) == [chosen])
        let clear = try h.ssh("buildpacks:clear myapp")
        #expect(clear.output == "Buildpacks of myapp cleared; the next push reads .buildpacks or detects one.\n")
        try h.commit(repo, "README", "two")
        let second = try h.push(repo)
        #expect(second.output.contains("-----> the repository buildpack"), "\(second.output)")
        #expect(
            try h.ssh("apps:info myapp", merge: false).stdout.contains("Buildpacks:     (detected at each build)\n"))
    }

    @Test func buildDirBuildsOnlyThatFolder() throws {
        let h = try PushHarness("builds-dir")
        let bp = try h.buildpack(compile: "echo \"-----> files: $(cd \"$1\" && ls -A | tr '\\n' ' ')\"")
        let repo = try h.makeApp(files: [
            "README": "monorepo", "services/api/Procfile": "web: ./api\n", "services/api/.buildpacks": "\(bp)\n",
            "services/api/api": "#!/bin/sh\n", "services/web/index.html": "<p>",
        ])
        _ = try h.receivePack(["apps", "create", "myapp", "--owner", "alice"])
        let set = try h.ssh("apps:set myapp build-dir=services/api/")
        #expect(set.output == "Set build-dir of myapp to services/api: the next push builds only that folder.\n")
        let pushed = try h.push(repo)
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(pushed.output.contains("remote: -----> files: .buildpacks Procfile api "), "\(pushed.output)")
        #expect(try h.spoolEntries().last?.manifest.processTypes == ["web": "./api"])

        #expect(try h.ssh("apps:set myapp build-dir=services/missing").status == 0)
        try h.commit(repo, "README", "two")
        let missing = try h.push(repo)
        #expect(missing.status != 0)
        #expect(
            missing.output.contains("Push rejected: the build dir services/missing is not a folder in"),
            "\(missing.output)")
        #expect(missing.output.contains("apps:set myapp build-dir=<folder>"))

        // A symlink in the tree cannot lead the build outside it.
        try FileManager.default.createSymbolicLink(atPath: "\(repo)/escape", withDestinationPath: "/etc")
        try h.commit(repo, "README", "three")
        #expect(try h.ssh("apps:set myapp build-dir=escape").status == 0)
        let escape = try h.push(repo)
        #expect(escape.status != 0)
        #expect(escape.output.contains("the build dir escape is not a folder in"), "\(escape.output)")
        #expect(try h.spoolEntries().count == 1)
        #expect(
            try h.ssh("apps:set myapp build-dir=/etc").output.contains("'/etc' cannot be a build dir: it is absolute"))
    }
}
