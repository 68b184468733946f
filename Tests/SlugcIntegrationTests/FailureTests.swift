import Foundation
import SlipwayTestSupport
import Testing

/// Every way a build can fail: a clear message, the documented exit code, nothing written, the workspace removed.
@Suite struct FailureTests {
    /// Checks the invariants every failed build must keep.
    func expectCleanFailure(
        _ h: SlugcHarness, _ result: ToolResult, exit: Int32, message: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            result.status == exit, "exit \(result.status), output:\n\(result.output)", sourceLocation: sourceLocation)
        #expect(
            result.output.contains(message), "missing '\(message)' in:\n\(result.output)",
            sourceLocation: sourceLocation)
        #expect(h.outputIsEmpty, "a failed build left files in the output folder", sourceLocation: sourceLocation)
        #expect(h.workspaceRemoved, "a failed build left its workspace behind", sourceLocation: sourceLocation)
    }

    @Test func missingAppDirectory() throws {
        let h = try SlugcHarness()
        let result = try h.build([], app: h.scratch.url("nope"))
        expectCleanFailure(h, result, exit: 10, message: "does not exist")
    }

    @Test func appDirectoryThatIsAFile() throws {
        let h = try SlugcHarness()
        let file = try h.scratch.write("file", "x")
        let result = try h.build([], app: file)
        expectCleanFailure(h, result, exit: 10, message: "is not a directory")
    }

    @Test func noBuildpackDetects() throws {
        let h = try SlugcHarness()
        try h.app("notes.txt", "nothing to build")
        let result = try h.build()
        expectCleanFailure(h, result, exit: 20, message: "No default language could be detected for this app.")
    }

    @Test func explicitBuildpackThatDoesNotDetect() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "picky", detect: "exit 1")
        let result = try h.build(["-b", spy.path])
        expectCleanFailure(h, result, exit: 21, message: "App not compatible with buildpack: \(spy.path)")
    }

    @Test func missingBuildpack() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let result = try h.build(["-b", h.scratch.url("no-such-buildpack")])
        expectCleanFailure(h, result, exit: 30, message: "was not found")
    }

    @Test func buildpackNotExecutable() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "noexec")
        chmod("\(spy.path)/bin/compile", 0o644)
        let result = try h.build(["-b", spy.path])
        expectCleanFailure(h, result, exit: 30, message: "bin/compile is not executable")
    }

    @Test func gitBuildpackThatCannotBeCloned() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let result = try h.build(["-b", "file://\(h.scratch.url("missing-repo"))#main"])
        expectCleanFailure(h, result, exit: 31, message: "Could not fetch buildpack")
    }

    @Test func compileFailureEndsWithTheSummaryBlock() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(
            in: h.scratch, name: "broken", detect: "echo Broken",
            compile:
                "echo 'Installing things'\necho 'ERROR: could not find a version that satisfies nope==9.9' >&2\nexit 3")
        let result = try h.build(["-b", spy.path])
        expectCleanFailure(h, result, exit: 50, message: " !     Failed to compile Broken app.")
        let summary = try #require(result.output.range(of: "Failed to compile Broken app.")).upperBound
        let tail = String(result.output[summary...])
        #expect(tail.contains("phase:"))
        #expect(tail.contains("compile"))
        #expect(tail.contains("buildpack:") && tail.contains("Broken"))
        #expect(tail.contains("exit code:") && tail.contains("3"))
        #expect(tail.contains("elapsed:"))
        #expect(tail.contains("could not find a version that satisfies nope==9.9"), "the last lines are repeated")
    }

    @Test func timeoutKillsTheWholeProcessGroup() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let marker = uniqueSleep()
        let spy = try SpyBuildpack(
            in: h.scratch, name: "slow",
            compile: """
                sleep \(marker) &
                setsid sleep \(marker) &
                echo "waiting forever"
                sleep 300
                """)
        let result = try h.build(["-b", spy.path, "--timeout", "2"], timeout: 60)
        expectCleanFailure(h, result, exit: 51, message: "timed out")
        var survivors = processes(matching: marker)
        for _ in 0..<50 where !survivors.isEmpty {
            usleep(100_000)
            survivors = processes(matching: marker)
        }
        #expect(survivors.isEmpty, "a child of the buildpack survived the timeout, even one that left its group")
    }

    /// FIFOs, device nodes and hard links to files outside the build folder never reach a slug. (Without the
    /// sandbox and as root, which lets a buildpack make them; a sandboxed one cannot even link across its mounts.)
    @Test(
        .enabled(if: geteuid() == 0),
        arguments: [
            ("mkfifo \"$1/pipe\"", "pipe is a FIFO"),
            ("mknod \"$1/null\" c 1 3", "null is a device node"),
            ("ln /etc/hostname \"$1/hosts-link\"", "hosts-link is a hard link to a file outside the build folder"),
        ])
    func specialFilesAreRefusedWithTheirPath(_ script: String, _ message: String) throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "special", compile: script)
        let result = try h.build(["-b", spy.path, "--sandbox", "none"], env: ["SLIPWAY_BUILD_USER": ""])
        expectCleanFailure(h, result, exit: 72, message: message)
    }

    /// An app file the builder cannot read is named, with what to do. (Run as an unprivileged user: root reads
    /// everything.)
    @Test(.enabled(if: geteuid() == 0)) func anUnreadableFileIsNamed() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        try h.app("config/secret.key", "k", mode: 0o000)
        for folder in [h.scratch.path, h.app, h.app + "/config"] { chmod(folder, 0o755) }
        for folder in [h.output, h.cache, h.tmp] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            chmod(folder, 0o777)
        }
        let result = try runTool(
            ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
                + h.buildArguments(["-b", "procfile", "--sandbox", "none"]),
            environment: h.environment(["SLIPWAY_BUILD_USER": "", "HOME": h.tmp]), mergeOutput: true)
        #expect(result.status == 10, "\(result.output)")
        #expect(result.output.contains("config/secret.key"), "\(result.output)")
        #expect(result.output.contains("Permission denied"))
        #expect(result.output.contains("Make every file in the app readable."))
        #expect(h.outputIsEmpty)
    }

    @Test func slugLargerThanTheLimit() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "big", compile: #"head -c 3000000 /dev/urandom > "$1/blob""#)
        let result = try h.build(["-b", spy.path, "--max-slug-size", "1"])
        expectCleanFailure(h, result, exit: 71, message: "Compiled slug size: 2.9M is too large (max is 1M).")
    }

    /// A slug of sparse (or repetitive) files compresses to almost nothing and would fill a runner's disk: its
    /// unpacked size has a limit of its own (issue 31).
    @Test func slugThatUnpacksPastTheLimit() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "sparse", compile: #"truncate -s 3M "$1/sparse""#)
        let result = try h.build(["-b", spy.path], env: ["SLIPWAY_MAX_SLUG_UNPACKED_MB": "2"])
        expectCleanFailure(
            h, result, exit: 71, message: "The slug would unpack to more than 2M (at app/sparse, 3M)")
        #expect(result.output.contains("SLIPWAY_MAX_SLUG_UNPACKED_MB"), "\(result.output)")
        #expect(try h.build(["-b", spy.path], env: ["SLIPWAY_MAX_SLUG_UNPACKED_MB": "4"]).status == 0)
    }

    @Test func malformedProcfile() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ok\nthis line is wrong\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "spy")
        let result = try h.build(["-b", spy.path])
        expectCleanFailure(h, result, exit: 65, message: "Procfile line 2 is malformed")
    }

    @Test func malformedReleaseYAML() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ok\n")
        let spy = try SpyBuildpack(
            in: h.scratch, name: "spy", release: "printf 'default_process_types:\\n  web: [oops\\n'")
        let result = try h.build(["-b", spy.path])
        expectCleanFailure(h, result, exit: 61, message: "does not parse")
    }

    @Test func releaseScriptFailure() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ok\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "spy", release: "echo 'release broke' >&2; exit 4")
        let result = try h.build(["-b", spy.path])
        expectCleanFailure(h, result, exit: 60, message: "bin/release of Spy failed")
        #expect(result.output.contains("release broke"))
    }

    @Test func malformedConfigVar() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ok\n")
        let result = try h.build(["-e", "1BAD=x"])
        #expect(result.status == 11)
        #expect(result.output.contains("Config var name '1BAD' is not valid"))
        #expect(h.outputIsEmpty)
    }

    @Test func interruptStopsTheBuildAndCleansUp() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: x\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "slow", compile: "echo started\nsleep 300")
        let run = try StreamingProcess(h.buildArguments(["-b", spy.path]), environment: h.environment())
        #expect(run.waitFor("started", timeout: 30))
        run.send(SIGTERM)
        let status = run.wait(timeout: 30)
        #expect(status == 128 + SIGTERM, "\(run.text)")
        #expect(run.text.contains("interrupted"))
        #expect(h.outputIsEmpty)
        #expect(h.workspaceRemoved)
    }

    @Test func previousOutputSurvivesAFailedBuild() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ok\n")
        let good = try SpyBuildpack(in: h.scratch, name: "good")
        #expect(try h.build(["-b", good.path]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: "\(h.output)/slug.tgz"))
        let bad = try SpyBuildpack(in: h.scratch, name: "bad", compile: "exit 1")
        #expect(try h.build(["-b", bad.path]).status == 50)
        #expect(try Data(contentsOf: URL(fileURLWithPath: "\(h.output)/slug.tgz")) == before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: h.output).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)
    }
}
