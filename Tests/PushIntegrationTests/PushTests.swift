import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// `git push` over a real OpenSSH sshd into `receive-pack shell`, with the hooks building through slugc's pipeline.
@Suite(.serialized) struct PushTests {
    @Test func firstPushCreatesTheAppAndPublishesV1ThenV2() throws {
        let h = try PushHarness()
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: [
            "Procfile": "web: ./bin/web\n", ".buildpacks": "\(bp)\n", "bin/web": "#!/bin/sh\n",
        ])
        let first = try h.push(repo)
        #expect(first.status == 0, "\(first.output)")
        let sha = try git(["rev-parse", "HEAD"], in: repo).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(first.output.contains("remote: -----> Building myapp (\(sha.prefix(7))) on slipway-1"))
        #expect(first.output.contains("remote: -----> spy compiling"))
        #expect(first.output.contains("remote: -----> Launching... done, v1"))
        #expect(first.output.contains("Released v1"))
        var entries = try h.spoolEntries()
        #expect(entries.count == 1)
        let v1 = try #require(entries.first)
        #expect(v1.manifest.version == 1 && v1.manifest.app == "myapp" && v1.manifest.sourceVersion == sha)
        #expect(v1.manifest.user == "alice")
        #expect(v1.manifest.description == "Deploy \(sha.prefix(7))")
        let slug = "\(h.root)/spool/new/\(v1.name)/slug.tgz"
        #expect(try Spool.sha256(ofFile: slug) == v1.manifest.slug.sha256)
        #expect(try h.serverRef() == sha)
        let fsck = try git(["config", "--get", "receive.fsckObjects"], in: "\(h.root)/apps/myapp/repo.git")
        #expect(fsck.stdout == "true\n")

        try h.commit(repo, "README", "second")
        let second = try h.push(repo)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("Launching... done, v2"))
        entries = try h.spoolEntries()
        #expect(entries.map(\.manifest.version) == [1, 2])
        let ledger = try String(contentsOfFile: "\(h.root)/apps/myapp/releases.jsonl", encoding: .utf8)
        #expect(ledger.split(separator: "\n").count == 2)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: "\(h.root)/tmp").isEmpty, "work folders are removed")
    }

    @Test func buildLinesArriveWhileTheBuildRuns() throws {
        let h = try PushHarness()
        // The gate is a file in the app's CACHE_DIR, the one folder of the server the sandboxed buildpack shares.
        let bp = try h.buildpack(
            compile: """
                echo "-----> before the wait"
                for _ in $(seq 1 300); do [ -e "$2/gate" ] && break; sleep 0.1; done
                [ -e "$2/gate" ] || { echo "never released"; exit 1; }
                echo "-----> after the wait"
                """)
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        var env = ProcessInfo.processInfo.environment
        env.merge(h.gitEnvironment(as: "alice")) { _, new in new }
        let push = try StreamingProcess(
            [which("git")!, "push", h.remote("myapp"), "main"], environment: env, directory: repo)
        #expect(push.waitFor("remote: -----> before the wait", timeout: 60), "\(push.text)")
        #expect(!push.text.contains("after the wait"))
        try Data().write(to: URL(fileURLWithPath: "\(h.root)/apps/myapp/cache/gate"))
        #expect(push.wait() == 0, "\(push.text)")
        #expect(push.text.contains("remote: -----> after the wait"))
    }

    @Test func failingBuildRejectsThePushAndChangesNothing() throws {
        let h = try PushHarness()
        let good = try h.buildpack("good")
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(good)\n"])
        #expect(try h.push(repo).status == 0)
        let before = try h.serverRef()
        let bad = try h.buildpack("bad", compile: "echo 'npm ERR! missing script'; exit 2")
        try h.commit(repo, ".buildpacks", "\(bad)\n")
        let result = try h.push(repo)
        #expect(result.status != 0)
        #expect(result.output.contains("remote:  !     Push rejected, failed to compile Spy app."), "\(result.output)")
        #expect(result.output.contains("build id:"))
        #expect(result.output.contains("builds:output myapp"))
        #expect(result.output.contains("npm ERR! missing script"))
        #expect(result.output.contains("pre-receive hook declined"))
        #expect(try h.serverRef() == before, "the ref must not move")
        #expect(try h.spoolEntries().map(\.manifest.version) == [1], "nothing new in the spool")
        let logs = try FileManager.default.contentsOfDirectory(atPath: "\(h.root)/apps/myapp/builds")
        #expect(logs.filter { $0.hasSuffix(".log") }.count == 2)
        #expect(logs.filter { $0.hasSuffix(".json") }.count == 2, "each build has its record")
        let log = try runTool([TestPaths.product("receive-pack"), "builds:output", "--root", h.root, "myapp"])
        #expect(log.stdout.contains("npm ERR! missing script"), "the whole log is kept: \(log.output)")
    }

    @Test func branchesDeletesAndRefusals() throws {
        let h = try PushHarness(users: ["alice", "bob"])
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        #expect(try h.push(repo).status == 0)

        try git(["checkout", "-q", "-b", "feature"], in: repo)
        try h.commit(repo, "f", "feature work")
        let feature = try h.push(repo, ["feature"])
        #expect(feature.status == 0)
        #expect(feature.output.contains("Pushed to non-deploy branch feature, not building."))
        #expect(try h.spoolEntries().count == 1)

        let delete = try h.push(repo, [":main"])
        #expect(delete.status != 0)
        #expect(delete.output.contains("deleting the deploy branch main is not allowed"))
        #expect(try h.serverRef() != nil)

        let denied = try h.push(repo, as: "bob", ["main"])
        #expect(denied.status != 0)
        #expect(denied.output.contains("slipway: bob has no access to myapp"))
        let deniedClone = try git(
            ["clone", "-q", h.remote("myapp"), h.scratch.url("bob-clone")], in: h.scratch.path,
            environment: h.gitEnvironment(as: "bob"), mergeOutput: true)
        #expect(deniedClone.status != 0)
        #expect(deniedClone.output.contains("slipway: bob has no access to myapp"))
        let missingClone = try git(
            ["clone", "-q", h.remote("nosuchapp"), h.scratch.url("missing")], in: h.scratch.path,
            environment: h.gitEnvironment(as: "bob"), mergeOutput: true)
        #expect(
            missingClone.output.contains("slipway: bob has no access to nosuchapp"),
            "a missing app looks like a denied one")

        let badName = try h.push(repo, app: "Bad_Name")
        #expect(badName.output.contains("is not a valid app name"))
        #expect(!FileManager.default.fileExists(atPath: "\(h.root)/apps/Bad_Name"))

        let shell = try h.ssh("ls /")
        #expect(shell.status == 1)
        #expect(shell.output == "slipway: unknown command 'ls': `help` lists the commands\n")
        let gitLike = try h.ssh("git-upload-archive 'myapp'")
        #expect(gitLike.output == "slipway: only git push and git clone are served here\n")
        let login = try h.ssh(nil)
        #expect(login.status != 0)
        #expect(login.output.contains("slipway: hi alice, there is no shell here: git push and git clone work"))
    }

    @Test func collaboratorCanCloneAndPush() throws {
        let h = try PushHarness(users: ["alice", "bob"])
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n", "hello.txt": "hi"])
        #expect(try h.push(repo).status == 0)
        let add = try runTool([
            TestPaths.product("receive-pack"), "apps", "add-collaborator", "--root", h.root, "myapp", "bob",
        ])
        #expect(add.status == 0, "\(add.output)")
        let clone = h.scratch.url("bob-clone")
        let cloned = try git(
            ["clone", "-q", h.remote("myapp"), clone], in: h.scratch.path, environment: h.gitEnvironment(as: "bob"),
            mergeOutput: true)
        #expect(cloned.status == 0, "\(cloned.output)")
        #expect(try String(contentsOfFile: "\(clone)/hello.txt", encoding: .utf8) == "hi")
        try h.commit(clone, "hello.txt", "from bob")
        let pushed = try h.push(clone, as: "bob")
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(try h.spoolEntries().last?.manifest.user == "bob")
    }

    @Test func concurrentPushesGiveOneReleasePerAcceptedPushInOrder() throws {
        let h = try PushHarness()
        let bp = try h.buildpack(compile: "sleep 1; echo built")
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        #expect(try h.push(repo).status == 0)
        // Two clones of v1 each push a different commit at the same moment: git can accept only one of them.
        var clones: [String] = []
        for name in ["one", "two"] {
            let dir = h.scratch.url(name)
            try git(
                ["clone", "-q", h.remote("myapp"), dir], in: h.scratch.path, environment: h.gitEnvironment(as: "alice"))
            try h.commit(dir, "who", name)
            clones.append(dir)
        }
        var env = ProcessInfo.processInfo.environment
        env.merge(h.gitEnvironment(as: "alice")) { _, new in new }
        let pushes = try clones.map {
            try StreamingProcess([which("git")!, "push", h.remote("myapp"), "main"], environment: env, directory: $0)
        }
        let statuses = pushes.map { $0.wait() }
        #expect(statuses.filter { $0 == 0 }.count == 1, "\(pushes.map(\.text))")
        let loser = pushes[statuses[0] == 0 ? 1 : 0].text
        #expect(
            loser.contains("the deploy branch moved while you waited") || loser.contains("failed to lock")
                || loser.contains("fetch first") || loser.contains("non-fast-forward"), "\(loser)")
        let versions = try h.spoolEntries().map(\.manifest.version)
        #expect(versions == [1, 2])
        let winner = clones[statuses[0] == 0 ? 0 : 1]
        let winnerSHA = try git(["rev-parse", "HEAD"], in: winner).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(try h.spoolEntries().last?.manifest.sourceVersion == winnerSHA)
        #expect(try h.serverRef() == winnerSHA)
    }

    @Test func hangingUpMidBuildCancelsIt() throws {
        let h = try PushHarness()
        let marker = uniqueSleep()
        let bp = try h.buildpack(
            compile: """
                echo "-----> printing a lot"
                for i in $(seq 1 20000); do echo "line $i of a long build output that fills pipes quickly"; done
                sleep \(marker)
                """)
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        var env = ProcessInfo.processInfo.environment
        env.merge(h.gitEnvironment(as: "alice")) { _, new in new }
        let push = try StreamingProcess(
            [which("git")!, "push", h.remote("myapp"), "main"], environment: env, directory: repo)
        #expect(push.waitFor("printing a lot", timeout: 60), "\(push.text)")
        // Drop the connection: kill the ssh client of this push.
        _ = try runTool(["/usr/bin/pkill", "-KILL", "-f", "-- -p \(h.sshd.port) "])
        push.wait(timeout: 30)
        var alive = true
        for _ in 0..<200 where alive {
            alive = !processes(matching: marker).isEmpty
            if alive { usleep(100_000) }
        }
        #expect(!alive, "the buildpack must be stopped when the pusher hangs up")
        #expect(try h.serverRef() == nil, "the ref must not be created")
        #expect(try h.spoolEntries().isEmpty)
        var leftovers = ["?"]
        for _ in 0..<100 where !leftovers.isEmpty {
            leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(h.root)/tmp")
            if !leftovers.isEmpty { usleep(100_000) }
        }
        #expect(leftovers.isEmpty, "build folders are removed: \(leftovers)")
        // The lock was released: the next push builds at once.
        let quick = try h.buildpack("quick")
        try h.commit(repo, ".buildpacks", "\(quick)\n")
        let next = try h.push(repo)
        #expect(next.status == 0, "\(next.output)")
        #expect(!next.output.contains("Waiting for"))
    }

    @Test func aTamperedHookOrSettingIsPutBackOnTheNextPush() throws {
        let h = try PushHarness("push-upkeep")
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        #expect(try h.push(repo).status == 0)
        let bare = "\(h.root)/apps/myapp/repo.git"
        // The door records what it set up; a hook that no longer matches the shipped script is replaced anyway.
        #expect(FileManager.default.fileExists(atPath: "\(bare)/slipway-settings"))
        try Data("#!/bin/sh\nexit 1\n".utf8).write(to: URL(fileURLWithPath: "\(bare)/hooks/post-receive"))
        try h.commit(repo, "README", "second")
        let second = try h.push(repo)
        #expect(second.status == 0, "\(second.output)")
        #expect(second.output.contains("Launching... done, v2"))
        let shipped = try Data(contentsOf: URL(fileURLWithPath: "\(TestPaths.repositoryRoot)/hooks/post-receive"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(bare)/hooks/post-receive")) == shipped)

        // A setting changed behind the door's back is written again once its record no longer matches.
        try git(["config", "receive.fsckObjects", "false"], in: bare)
        try Data("stale\n".utf8).write(to: URL(fileURLWithPath: "\(bare)/slipway-settings"))
        try h.commit(repo, "README", "third")
        #expect(try h.push(repo).status == 0)
        #expect(try git(["config", "--get", "receive.fsckObjects"], in: bare).stdout == "true\n")
    }

    @Test func hookInAPlainBareRepositoryOverFile() throws {
        let scratch = try ScratchDirectory("plain")
        let plain = try PlainRepository(scratch, compile: "echo '-----> plain repo build'")
        let pushed = try plain.push()
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(pushed.output.contains("remote: -----> Building shop"))
        #expect(pushed.output.contains("Launching... done, v1"))
        let entries = try Spool(directory: "\(plain.root)/spool").pending()
        #expect(entries.count == 1)
        #expect(entries.first?.contains(".shop.v1") == true)
    }

    /// The hooks in another git server's repository take the settings of the root its `slipway.root` names.
    @Test func hookInAPlainBareRepositoryReadsTheRootsSettings() throws {
        let scratch = try ScratchDirectory("plain-settings")
        let plain = try PlainRepository(scratch)
        try scratch.write("root/slipway.env", "SLIPWAY_MAX_TREE_FILES=1\n")
        let pushed = try plain.push()
        #expect(pushed.status != 0, "\(pushed.output)")
        #expect(pushed.output.contains("SLIPWAY_MAX_TREE_FILES"), "\(pushed.output)")
        #expect(try Spool(directory: "\(plain.root)/spool").pending().isEmpty)
    }
}
