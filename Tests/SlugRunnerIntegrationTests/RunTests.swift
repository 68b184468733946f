import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `slugrunner run`: one process of a release in the foreground.
@Suite struct RunTests {
    @Test func theWebProcessAnswersHTTPOnItsPort() throws {
        let h = try RunnerHarness("run-web")
        let out = try h.buildSlug()
        try h.publish(out, version: 1, config: ["PAGE": "run page", "PID_FILE": h.scratch.url("pids")])
        let entry = try #require(try h.spool.pending().first)
        let port = try freeLoopbackPort()
        let run = try StreamingProcess([
            TestPaths.product("slugrunner"), "run", "\(h.root)/spool/new/\(entry)", "--port", "\(port)", "--root",
            h.root,
        ])
        defer { run.send(SIGKILL) }
        #expect(run.waitFor("web web.1 starting on \(port)"), "\(run.text)")
        #expect(waitUntil(seconds: 60) { loopbackPortAcceptsConnections(port) })
        #expect(try h.get(Int(port)) == "run page\n")
        #expect(run.text.contains("slugrunner: running web.1 of myapp v1 on port \(port): ./web.sh"))

        // SIGTERM goes to the whole group: the server and the `sleep` it started both end.
        let group = try #require(h.recordedPids("pids").first)
        #expect(processGroupExists(group))
        run.send(SIGTERM)
        #expect(run.wait(timeout: 30) == 128 + SIGTERM, "\(run.text)")
        #expect(!processGroupExists(group))
        #expect(try h.spool.pending() == [entry], "run does not claim the entry")
    }

    @Test func aOneOffCommandGetsTheReleaseEnvironmentAndItsExitStatusIsTheRunsOwn() throws {
        let h = try RunnerHarness("run-one-off")
        let out = try h.buildSlug(files: [
            ".profile.d/10-first.sh": "export ORDER=first\n",
            ".profile.d/20-second.sh": "export ORDER=\"$ORDER,second\"\n",
        ])
        let command = "echo \"home=$HOME port=$PORT dyno=$DYNO greeting=$GREETING order=$ORDER pwd=$(pwd)\"; exit 7"
        let result = try runTool(
            [TestPaths.product("slugrunner"), "run", "\(out)/release.json", "--port", "5555", "--", command],
            environment: ["PATH": "/usr/bin:/bin", "TMPDIR": h.scratch.url("tmp"), "SECRET_OF_THE_CALLER": "x"])
        #expect(result.status == 7, "\(result.output)")
        let line = try #require(result.stdout.split(separator: "\n").first.map(String.init))
        let home = try #require(line.firstMatch(of: /home=(\S+)/)?.1)
        #expect(home.hasPrefix(h.scratch.url("tmp/slugrunner-myapp-")) && home.hasSuffix("/app"))
        #expect(line.contains("port=5555 dyno=run.1 greeting= order=first,second pwd=\(home)"))
        #expect(
            !h.scratch.exists("tmp/\((home as NSString).deletingLastPathComponent.split(separator: "/").last ?? "")"),
            "the unpacked slug is removed afterwards")

        let env = try runTool(
            [TestPaths.product("slugrunner"), "run", out, "--", "env"],
            environment: ["PATH": "/usr/bin:/bin", "TMPDIR": h.scratch.url("tmp"), "SECRET_OF_THE_CALLER": "x"])
        #expect(env.status == 0)
        #expect(!env.stdout.contains("SECRET_OF_THE_CALLER"), "nothing of the caller's environment leaks in")
        #expect(env.stdout.contains("PATH=/usr/local/bin:/usr/bin:/bin\n"))
    }

    @Test func configVarsAndProcessTypesComeFromTheRelease() throws {
        let h = try RunnerHarness("run-config")
        let out = try h.buildSlug(procfile: "web: ./web.sh\nhello: echo \"hello $GREETING from $DYNO\"\n")
        try h.publish(out, version: 3, config: ["GREETING": "world; $(touch /tmp/nope)"])
        let entry = try #require(try h.spool.pending().first)
        let result = try h.slugrunner(["run", "\(h.root)/spool/new/\(entry)", "hello"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "hello world; $(touch /tmp/nope) from hello.1\n", "values are data, never shell")
        let missing = try h.slugrunner(["run", "\(h.root)/spool/new/\(entry)", "worker"])
        #expect(missing.status == 125)
        #expect(missing.stderr.contains("myapp declares no worker process type (it has hello, web)"))
    }

    @Test func aTamperedSlugIsRefused() throws {
        let h = try RunnerHarness("run-tampered")
        let out = try h.buildSlug()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: "\(out)/slug.tgz"))
        bytes[bytes.count / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: "\(out)/slug.tgz"))
        let result = try h.slugrunner(["run", out, "--", "echo should not run"])
        #expect(result.status == 125)
        #expect(result.stderr.contains("has SHA-256"), "\(result.output)")
        #expect(!result.stdout.contains("should not run"))
    }

    @Test func anUnknownTargetSaysWhatItAccepts() throws {
        let h = try RunnerHarness("run-unknown")
        let result = try h.slugrunner(["run", "nosuchapp"])
        #expect(result.status == 125)
        #expect(result.stderr.contains("nosuchapp has no current release under \(h.root)"))
    }
}
