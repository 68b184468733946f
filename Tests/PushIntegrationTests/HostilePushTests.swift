import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Pushes shaped by an attacker: hostile ref names, many refs at once, push options, another hash algorithm, client
/// environment aimed at git, and two first pushes racing to create one app.
@Suite(.serialized) struct HostilePushTests {
    /// git accepts ref names with `$(…)`, `;`, quotes and a leading `-` in a component: they are data, never a
    /// command or an option, and the pusher sees them printed safely.
    @Test func hostileRefNamesAreOnlyData() throws {
        let h = try PushHarness("hostile-refs")
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        #expect(try h.push(repo).status == 0)
        let pwned = h.scratch.url("pwned")
        let names = [
            "refs/heads/$(touch${IFS}\(pwned))", "refs/heads/a;touch${IFS}\(pwned)", "refs/heads/--output=\(pwned)",
            "refs/heads/it's", "refs/heads/`id`", "refs/tags/-x",
        ]
        let result = try h.push(repo, names.map { "main:\($0)" })
        #expect(result.status == 0, "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: pwned), "no ref name was ever run")
        #expect(result.output.contains("Pushed to non-deploy branch $(touch${IFS}\(pwned)), not building."))
        #expect(result.output.contains("Pushed to non-deploy branch --output=\(pwned), not building."))
        #expect(try h.spoolEntries().count == 1, "no build for any of them")
    }

    /// Many branches and tags in one push, the deploy branch among them: exactly one build.
    @Test func manyRefsInOnePushMakeOneBuild() throws {
        let h = try PushHarness("many-refs")
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        for index in 0..<20 {
            try git(["branch", "feature-\(index)"], in: repo)
            try git(["tag", "v0.\(index)"], in: repo)
        }
        let result = try h.push(repo, ["--all"])
        #expect(result.status == 0, "\(result.output)")
        let tags = try h.push(repo, ["--tags"])
        #expect(tags.status == 0, "\(tags.output)")
        #expect(try h.spoolEntries().count == 1)
        #expect(
            result.output.components(separatedBy: "-----> Building myapp").count == 2, "one build: \(result.output)")
        let builds = try FileManager.default.contentsOfDirectory(atPath: "\(h.root)/apps/myapp/builds")
        #expect(builds.filter { $0.hasSuffix(".log") }.count == 1)
    }

    /// Push options are not offered: git refuses them on the client, and nothing happens on the server.
    @Test func pushOptionsAreRefused() throws {
        let h = try PushHarness("push-options")
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        let result = try h.push(repo, ["-o", "ci.skip", "-o", "$(id)", "main"])
        #expect(result.status != 0)
        #expect(result.output.contains("the receiving end does not support push options"), "\(result.output)")
        #expect(try h.spoolEntries().isEmpty)
        #expect(try h.serverRef() == nil)
    }

    /// A SHA-256 repository: git refuses to push it to an app's (SHA-1) repository; nothing is built or released.
    /// (libgit2 in Debian 12 reads SHA-1 repositories only.) Against an app with releases, git's message names the
    /// hash algorithm; against a new app, whose repository is empty, git 2.39 only says "protocol error".
    @Test func aSHA256RepositoryIsRefused() throws {
        let h = try PushHarness("sha256")
        let bp = try h.buildpack()
        let sha1 = try h.makeApp("sha1", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        #expect(try h.push(sha1).status == 0)
        let before = try h.serverRef()
        let repo = try h.scratch.makeDirectory("sha256")
        try h.scratch.write("sha256/Procfile", "web: x\n")
        try h.scratch.write("sha256/.buildpacks", "\(bp)\n")
        try git(["init", "-q", "--object-format=sha256", "-b", "main"], in: repo)
        try git(["add", "-A"], in: repo)
        try git(["commit", "-q", "-m", "sha256"], in: repo)
        let result = try h.push(repo)
        #expect(result.status != 0)
        #expect(result.output.contains("hash algorithm"), "\(result.output)")
        #expect(try h.spoolEntries().count == 1)
        #expect(try h.serverRef() == before)
        let fresh = try h.push(repo, app: "newapp")
        #expect(fresh.status != 0)
        #expect(try h.serverRef("newapp") == nil)
    }

    /// An sshd that accepts every variable from the client (`AcceptEnv *`, an operator's mistake): still nothing of
    /// it reaches git, the hooks or the buildpack, and none of Slipway's own settings can be chosen by the client:
    /// not the hooks, the sandbox, the runtime store nor PATH.
    @Test func clientEnvironmentNeverReachesGitNorTheBuild() throws {
        let h = try PushHarness("sendenv", sshdExtraConfig: "AcceptEnv *\n")
        let evil = try h.scratch.makeDirectory("evil-hooks")
        let witness = h.scratch.url("evil-ran")
        try h.scratch.write("evil-hooks/pre-receive", "#!/bin/sh\ntouch '\(witness)'\n", mode: 0o755)
        // A `git` of the client's choosing, if PATH were taken from the client.
        let evilBin = try h.scratch.makeDirectory("evil-bin")
        try h.scratch.write(
            "evil-bin/git",
            "#!/bin/sh\n[ -n \"$SSH_CONNECTION\" ] && touch '\(witness)'\nexec /usr/bin/git \"$@\"\n", mode: 0o755)
        // Run unconfined (the client's SLIPWAY_SANDBOX=none), a buildpack would see the server's folder.
        let bp = try h.buildpack(
            compile: """
                env | grep -E '^(GIT_|LD_PRELOAD)|clientsent' | sed 's/^/-----> leaked /' || true
                if [ -e '\(h.root)/authorized_keys' ]; then echo '-----> leaked: unconfined'; fi
                echo '-----> env checked'
                """)
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        var env = ProcessInfo.processInfo.environment
        env["GIT_SSH_COMMAND"] =
            h.gitEnvironment(as: "alice")["GIT_SSH_COMMAND"]!
            + " -o SendEnv=GIT_* -o SendEnv=LD_PRELOAD -o SendEnv=SLIPWAY_* -o SendEnv=PATH -o SendEnv=TMPDIR"
        env["GIT_CONFIG_PARAMETERS"] = "'core.hooksPath'='\(evil)'"
        env["GIT_CONFIG_COUNT"] = "1"
        env["GIT_CONFIG_KEY_0"] = "core.hooksPath"
        env["GIT_CONFIG_VALUE_0"] = evil
        env["LD_PRELOAD"] = "/nonexistent/evil.so"
        env["SLIPWAY_HOOKS"] = evil
        env["SLIPWAY_SANDBOX"] = "none"
        env["SLIPWAY_RUNTIME_STORE"] = "/nonexistent/clientsent-store"
        env["SLIPWAY_BUILDPACK_FOLDERS"] = "/clientsent"
        env["SLIPWAY_OUTPUT_LIMIT_MB"] = "0"
        env["TMPDIR"] = "/nonexistent/clientsent"
        env["PATH"] = "\(evilBin):" + (env["PATH"] ?? "/usr/bin:/bin")
        let push = try StreamingProcess(
            [which("git")!, "push", h.remote("myapp"), "main"], environment: env, directory: repo)
        #expect(push.wait() == 0, "\(push.text)")
        #expect(push.text.contains("-----> env checked"))
        #expect(!push.text.contains("leaked"), "\(push.text)")
        // The client's own git and ssh complain about the bogus LD_PRELOAD; nothing on the server does.
        #expect(!push.text.contains("remote: ERROR: ld.so"), "LD_PRELOAD did not reach the server's processes")
        #expect(
            !FileManager.default.fileExists(atPath: witness), "git ran the server's hooks and git, not the client's")
        #expect(try h.spoolEntries().count == 1)
    }

    /// The settings file is read by the forced command; a broken one refuses the session with one line that names no
    /// server path, and the operator finds the line at fault in server.log.
    @Test func aBrokenSettingsFileRefusesWithoutShowingIt() throws {
        let h = try PushHarness("settings-broken")
        try h.scratch.write("root/slipway.env", "SLIPWAY_SANBOX=none\n")
        let bp = try h.buildpack()
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        let push = try h.push(repo)
        #expect(push.status != 0)
        #expect(
            push.output.contains("slipway: the server's settings have a mistake; the operator finds it in server.log"),
            "\(push.output)")
        #expect(!push.output.contains(h.root), "\(push.output)")
        let log = try String(contentsOfFile: "\(h.root)/server.log", encoding: .utf8)
        #expect(log.contains("slipway.env line 1: SLIPWAY_SANBOX is not a setting"), "\(log)")
        #expect(try h.serverRef() == nil)
    }

    /// Two first pushes create the same app at the same moment: one repository, one owner, and it is valid.
    @Test func twoFirstPushesMakeOneValidApp() throws {
        let h = try PushHarness("first-race", users: ["alice", "bob"])
        let bp = try h.buildpack(compile: "sleep 1; echo built")
        let repos = try ["alice", "bob"].map {
            try h.makeApp($0, files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n", "who": $0])
        }
        let pushes = try zip(repos, ["alice", "bob"]).map { repo, user in
            var env = ProcessInfo.processInfo.environment
            env.merge(h.gitEnvironment(as: user)) { _, new in new }
            return try StreamingProcess(
                [which("git")!, "push", h.remote("race"), "main"], environment: env, directory: repo)
        }
        let statuses = pushes.map { $0.wait() }
        let settings =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(h.root)/apps/race/app.json"))) as? [String: Any]
        let owner = try #require(settings?["owner"] as? String)
        #expect(["alice", "bob"].contains(owner))
        let winner = owner == "alice" ? 0 : 1
        #expect(statuses[winner] == 0, "\(pushes[winner].text)")
        #expect(statuses[1 - winner] != 0, "the other user has no access: \(pushes[1 - winner].text)")
        #expect(pushes[1 - winner].text.contains("has no access to race"))
        let fsck = try git(["fsck", "--strict"], in: "\(h.root)/apps/race/repo.git", mergeOutput: true)
        #expect(fsck.status == 0, "\(fsck.output)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(h.root)/apps/race").filter {
            $0.hasPrefix(".repo-")
        }
        #expect(leftovers.isEmpty, "no half-made repository: \(leftovers)")
        #expect(try h.spoolEntries().map(\.manifest.app) == ["race"])
    }
}
