import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// Slipway's hooks as gitolite repo-specific hooks (Debian's gitolite3), in a scratch gitolite home: pushes go
/// through `gitolite-shell <user>`, the forced command gitolite's sshd entries run, exactly as sshd would call it.
@Suite(.serialized) struct GitoliteTests {
    @Test func pushesThroughGitoliteBuildAndReleaseAndReadOnlyUsersAreRefused() throws {
        let scratch = try ScratchDirectory("gitolite")
        let root = scratch.url("root")
        #expect(try runTool([TestPaths.product("receive-pack"), "init", "--root", root]).status == 0)
        let home = try scratch.makeDirectory("gl")
        let glEnv = ["HOME": home, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]

        // gitolite setup with an admin key, then the rc lines and the repo-specific hooks of docs/push-server.md.
        #expect(
            try runTool(["/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", scratch.url("admin")]).status
                == 0)
        let setup = try runTool(["/usr/bin/gitolite", "setup", "-pk", scratch.url("admin.pub")], environment: glEnv)
        #expect(setup.status == 0, "\(setup.output)")
        var rc = try String(contentsOfFile: "\(home)/.gitolite.rc", encoding: .utf8)
        rc = rc.replacingOccurrences(
            of: "# LOCAL_CODE                =>  \"$rc{GL_ADMIN_BASE}/local\",",
            with: "LOCAL_CODE => \"$rc{GL_ADMIN_BASE}/local\",")
        rc = rc.replacingOccurrences(of: "# 'repo-specific-hooks',", with: "'repo-specific-hooks',")
        rc = rc.replacingOccurrences(
            of: "GIT_CONFIG_KEYS                 =>  '',", with: "GIT_CONFIG_KEYS => 'slipway\\..*',")
        try rc.write(toFile: "\(home)/.gitolite.rc", atomically: true, encoding: .utf8)
        let hooks = try scratch.makeDirectory("gl/.gitolite/local/hooks/repo-specific")
        for hook in ["pre-receive", "post-receive"] {
            try FileManager.default.copyItem(
                atPath: "\(TestPaths.repositoryRoot)/hooks/\(hook)", toPath: "\(hooks)/slipway-\(hook)")
        }
        let slipway = """
                option hook.pre-receive = slipway-pre-receive
                option hook.post-receive = slipway-post-receive
                config slipway.root = \(root)
                config slipway.bin = \(TestPaths.product("receive-pack"))
            """
        try """
        repo gitolite-admin
            RW+ = admin
        repo shop
            RW+ = alice
            R = bob
        \(slipway)
        repo apps/CREATOR/[a-z].*
            C = alice
            RW+ = CREATOR
        \(slipway)

        """.write(toFile: "\(home)/.gitolite/conf/gitolite.conf", atomically: true, encoding: .utf8)
        let compiled = try runTool(["/usr/bin/gitolite", "setup"], environment: glEnv)
        #expect(compiled.status == 0, "\(compiled.output)")

        // git reaches gitolite-shell as sshd's forced command would run it for each user's key.
        let shell = try scratch.write(
            "gl-ssh",
            """
            #!/bin/sh
            # GIT_SSH_VARIANT=simple: $1 is the host, $2 the command. sshd sets SSH_CONNECTION and the command.
            SSH_CONNECTION='127.0.0.1 50000 127.0.0.1 22' SSH_ORIGINAL_COMMAND="$2" HOME='\(home)' exec /usr/share/gitolite3/gitolite-shell "$GL_TEST_USER"

            """, mode: 0o755)
        func push(_ repo: String, to path: String, as user: String) throws -> ToolResult {
            try git(
                ["push", "git@gitolite:\(path)", "main"], in: repo,
                environment: ["GIT_SSH": shell, "GIT_SSH_VARIANT": "simple", "GL_TEST_USER": user], mergeOutput: true)
        }

        let good = try SpyBuildpack(in: scratch, name: "good", compile: "echo '-----> gitolite build'").path
        let work = try makeCommittedRepository(
            in: scratch, "work", files: ["Procfile": "web: x\n", ".buildpacks": "\(good)\n"])
        let pushed = try push(work, to: "shop", as: "alice")
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(pushed.output.contains("remote: -----> gitolite build"), "\(pushed.output)")
        #expect(pushed.output.contains("Launching... done, v1"))
        var manifests = try Self.manifests(root)
        #expect(manifests.map(\.app) == ["shop"])
        #expect(manifests.first?.user == "alice", "$GL_USER is the release's user")

        // bob may read but not write: gitolite refuses before any hook runs.
        try commitFile(work, "more", "x\n")
        let denied = try push(work, to: "shop", as: "bob")
        #expect(denied.status != 0)
        #expect(denied.output.contains("DENIED"), "\(denied.output)")

        // A failing build rejects the push.
        let bad = try SpyBuildpack(in: scratch, name: "bad", compile: "echo 'ERROR: broken'; exit 3").path
        try commitFile(work, ".buildpacks", "\(bad)\n")
        let rejected = try push(work, to: "shop", as: "alice")
        #expect(rejected.status != 0)
        #expect(rejected.output.contains("pre-receive hook declined"), "\(rejected.output)")

        // A wild repo, created by gitolite on alice's first push, builds as app `web`.
        try commitFile(work, ".buildpacks", "\(good)\n")
        let wild = try push(work, to: "apps/alice/web", as: "alice")
        #expect(wild.status == 0, "\(wild.output)")
        manifests = try Self.manifests(root)
        #expect(Set(manifests.map(\.app)) == ["shop", "web"])
    }

    private static func manifests(_ root: String) throws -> [ReleaseManifest] {
        try Spool(directory: "\(root)/spool").pending().map { name in
            try openRelease(atPath: "\(root)/spool/new/\(name)/release.json", root: root)
        }
    }
}
