import Foundation
import SlipwayTestSupport
import Testing

/// `slugc build` against spy buildpacks: what buildpacks are given, and what comes out.
@Suite struct BuildpackAPITests {
    @Test func compileGetsBuildCacheAndEnvDirsAndACleanEnvironment() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        let spy = try SpyBuildpack(
            in: h.scratch, name: "spy",
            compile: """
                mkdir -p "$2/envcopy"
                cp "$3"/* "$2/envcopy/"
                env > "$2/compile-env"
                echo "$1" > "$2/build-dir"
                """)
        let result = try h.build([
            "-b", spy.path, "-e", "GREETING=hello world", "-e", "MULTI=a\nb", "--source-version", "abc123",
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(try h.scratch.read("cache/envcopy/GREETING") == "hello world")
        #expect(try h.scratch.read("cache/envcopy/MULTI") == "a\nb")
        let env = try h.scratch.read("cache/compile-env")
        #expect(env.contains("STACK=slipway-1"))
        #expect(env.contains("SOURCE_VERSION=abc123"))
        #expect(env.contains("HOME="))
        #expect(!env.contains("do-not-leak"), "the caller's environment reached the buildpack")
        #expect(!env.contains("GREETING"), "config vars belong in ENV_DIR, not the environment")
        let buildDir = try h.scratch.read("cache/build-dir").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(buildDir != h.app, "the buildpack must compile a copy, never the source")
        #expect(!FileManager.default.fileExists(atPath: buildDir), "the build dir must be removed after the build")
        #expect(h.workspaceRemoved)
        let manifest = try h.manifest()
        #expect(manifest["source_version"] as? String == "abc123")
        #expect(
            (manifest["config_vars"] as? [String: String])?["GREETING"] == nil,
            "-e values stay out of release.json by default")
    }

    @Test func includeEnvRecordsConfigVarsOverTheBuildpacksDefaults() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        let spy = try SpyBuildpack(
            in: h.scratch, name: "spy",
            release: "printf -- '---\\nconfig_vars:\\n  LANG_DEFAULT: \"1\"\\n  GREETING: default\\n'")
        let result = try h.build(["-b", spy.path, "-e", "GREETING=mine", "--include-env"])
        #expect(result.status == 0, "\(result.output)")
        let vars = try h.manifest()["config_vars"] as? [String: String]
        #expect(
            vars == ["LANG_DEFAULT": "1", "GREETING": "mine"], "the user's value must win over bin/release's default")
    }

    @Test func cacheDirIsKeptBetweenBuilds() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        let spy = try SpyBuildpack(
            in: h.scratch, name: "spy",
            compile: """
                count=$(cat "$2/count" 2>/dev/null || echo 0)
                echo $((count + 1)) > "$2/count"
                echo "build number $((count + 1))"
                """)
        #expect(try h.build(["-b", spy.path]).status == 0)
        let second = try h.build(["-b", spy.path], output: h.scratch.url("out2"))
        #expect(second.status == 0)
        #expect(second.output.contains("build number 2"))
        #expect(try h.scratch.read("cache/count") == "2\n")
    }

    /// Folders given relative to the current directory work as absolute ones: the buildpacks run in the build folder,
    /// and a relative `$2` there pointed at nothing (the sandbox could not bind it, and no buildpack detected).
    @Test func relativeFoldersAreTheCurrentDirectorys() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "spy", compile: #"echo built > "$2/mark""#)
        let result = try runTool(
            [TestPaths.product("slugc"), "build", "app", "-o", "rel-out", "--cache-dir", "rel-cache", "-b", spy.path],
            environment: h.environment([:]), directory: h.scratch.path, mergeOutput: true, timeout: 300)
        #expect(result.status == 0, "\(result.output)")
        #expect(try h.scratch.read("rel-cache/mark") == "built\n")
        #expect(FileManager.default.fileExists(atPath: h.scratch.url("rel-out/release.json")))
    }

    @Test func exportFileOfOneBuildpackReachesTheNext() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        let first = try SpyBuildpack(
            in: h.scratch, name: "first", detect: "echo First",
            compile: #"echo 'export FROM_FIRST="hello from first"' > "$(dirname "$0")/../export""#)
        let second = try SpyBuildpack(
            in: h.scratch, name: "second", detect: "echo Second",
            compile: #"echo "second sees: ${FROM_FIRST:-nothing}""#)
        let result = try h.build(["-b", first.path, "-b", second.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("second sees: hello from first"))
        #expect(!FileManager.default.fileExists(atPath: "\(first.path)/export"), "buildpacks run from a private copy")
        let names = (try h.manifest()["buildpacks"] as? [[String: String]])?.map { $0["name"] ?? "" }
        #expect(names == ["First", "Second"])
    }

    @Test func releaseYAMLAndProcfilePrecedence() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./procfile-web\nworker: ./work\n")
        let spy = try SpyBuildpack(
            in: h.scratch, name: "spy",
            release: """
                cat <<'YAML'
                ---
                addons:
                  - postgres
                default_process_types:
                  web: ./default-web
                  console: ./console
                YAML
                """)
        let result = try h.build(["-b", spy.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Procfile declares types     -> web, worker"))
        #expect(result.output.contains("Default types for buildpack -> console"))
        let manifest = try h.manifest()
        #expect(
            manifest["process_types"] as? [String: String]
                == ["web": "./procfile-web", "worker": "./work", "console": "./console"])
        #expect(manifest["addons"] as? [String] == ["postgres"])
    }

    @Test func warnsWhenThereIsNoWebProcess() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "worker: ./work\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "spy")
        let result = try h.build(["-b", spy.path])
        #expect(result.status == 0)
        #expect(result.output.contains("no 'web' process type"))
    }

    @Test func slugignoreRemovesFilesBeforeTheBuildpackRuns() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        try h.app(".slugignore", "# big things\n*.psd\n/docs\ntests/\n")
        try h.app("art/logo.psd", "x")
        try h.app("docs/guide.md", "x")
        try h.app("src/docs/keep.md", "x")
        try h.app("tests/test_app.py", "x")
        try h.app("app.py", "print('hi')")
        let spy = try SpyBuildpack(
            in: h.scratch, name: "spy",
            compile: #"[ -e "$1/art/logo.psd" ] && echo "psd still there" || echo "psd removed""#)
        let result = try h.build(["-b", spy.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("psd removed"))
        let entries = try h.slugEntries()
        #expect(entries.contains("./app/app.py"))
        #expect(entries.contains("./app/src/docs/keep.md"))
        #expect(!entries.contains { $0.hasSuffix(".psd") || $0.hasPrefix("./app/docs") || $0.hasPrefix("./app/tests") })
        #expect(FileManager.default.fileExists(atPath: "\(h.app)/art/logo.psd"), "the source folder is never modified")
    }

    /// `slugc build .` with the default `./slug` output, and TMPDIR and the cache inside the app: none of them is
    /// copied into the build (the workspace would otherwise be copied into itself without end).
    @Test func outputsAndWorkspaceInsideTheAppAreNotCopied() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        try h.app("run", "#!/bin/sh\n", mode: 0o755)
        let spy = try SpyBuildpack(in: h.scratch, name: "spy")
        let inside = ["-o", "\(h.app)/slug", "--cache-dir", "\(h.app)/.cache"]
        try h.scratch.makeDirectory("app/tmp")
        for _ in 0..<2 {
            let result = try runTool(
                [TestPaths.product("slugc"), "build", h.app, "-b", spy.path] + inside,
                environment: h.environment(["TMPDIR": "\(h.app)/tmp"]), mergeOutput: true, timeout: 120)
            #expect(result.status == 0, "\(result.output)")
        }
        let entries = try h.slugEntries("\(h.app)/slug/slug.tgz")
        #expect(entries.contains("./app/run"))
        #expect(
            !entries.contains { $0.hasPrefix("./app/slug") || $0.hasPrefix("./app/.cache") || $0.contains("slugc-") })
    }

    @Test func buildpackOutputIsStreamedLineByLine() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        // The buildpack prints a line, then waits until the test has seen it: if output were buffered until the
        // phase ended, the test would never see the line and the build would time out.
        let spy = try SpyBuildpack(
            in: h.scratch, name: "spy",
            compile: """
                echo "-----> before the wait"
                echo "stderr is shown too" >&2
                for _ in $(seq 1 300); do [ -e "$2/gate" ] && break; sleep 0.1; done
                [ -e "$2/gate" ] || { echo "never released"; exit 1; }
                echo "-----> after the wait"
                """)
        let run = try StreamingProcess(h.buildArguments(["-b", spy.path]), environment: h.environment())
        #expect(run.waitFor("before the wait", timeout: 25))
        #expect(run.waitFor("stderr is shown too", timeout: 5))
        #expect(!run.text.contains("after the wait"))
        try h.scratch.write("cache/gate", "")
        #expect(run.wait() == 0, "\(run.text)")
        let text = run.text
        let before = try #require(text.range(of: "before the wait"))
        let after = try #require(text.range(of: "after the wait"))
        #expect(before.upperBound <= after.lowerBound)
    }

    @Test func slugIsReproducibleAndUsesHerokusLayout() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./bin/run\n")
        try h.app("bin/run", "#!/bin/sh\necho run\n", mode: 0o755)
        try h.app("README", "hello")
        try FileManager.default.createSymbolicLink(atPath: "\(h.app)/link-to-readme", withDestinationPath: "README")
        try FileManager.default.createSymbolicLink(atPath: "\(h.app)/passwd", withDestinationPath: "/etc/passwd")
        let spy = try SpyBuildpack(in: h.scratch, name: "spy", compile: #"echo "built at $(date +%s%N)" > "$1/stamp""#)
        let first = try h.build(["-b", spy.path], output: h.scratch.url("one"))
        let second = try h.build(["-b", spy.path], output: h.scratch.url("two"))
        #expect(first.status == 0 && second.status == 0)
        // The stamp differs, so drop it: same input and buildpacks → same bytes requires the buildpack to be
        // deterministic. Build once more with a deterministic buildpack and compare.
        let stable = try SpyBuildpack(in: h.scratch, name: "stable", compile: #"echo "built" > "$1/stamp""#)
        let third = try h.build(["-b", stable.path], output: h.scratch.url("three"))
        let fourth = try h.build(["-b", stable.path], output: h.scratch.url("four"), env: ["TZ": "Asia/Tokyo"])
        #expect(third.status == 0 && fourth.status == 0)
        let sha3 = try runTool(["/usr/bin/sha256sum", h.scratch.url("three/slug.tgz")]).stdout.prefix(64)
        let sha4 = try runTool(["/usr/bin/sha256sum", h.scratch.url("four/slug.tgz")]).stdout.prefix(64)
        #expect(sha3 == sha4)
        let manifest =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: h.scratch.url("three/release.json")))) as? [String: Any]
        #expect((manifest?["slug"] as? [String: Any])?["sha256"] as? String == String(sha3))

        let entries = try h.slugEntries(h.scratch.url("three/slug.tgz"))
        #expect(entries.first == "./app/")
        #expect(entries.allSatisfy { $0.hasPrefix("./app/") })
        #expect(entries.contains("./app/bin/run"))
        #expect(entries == entries.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        let verbose = try runTool(["/bin/tar", "tvzf", h.scratch.url("three/slug.tgz"), "--numeric-owner"]).stdout
        #expect(verbose.contains("-rwxr-xr-x 0/0"))
        #expect(verbose.contains("./app/passwd -> /etc/passwd"), "symlinks are stored as links, never followed")
        #expect(verbose.contains("1970-01-01"), "without a commit or SOURCE_DATE_EPOCH, mtimes are 0")
        #expect(try runTool(["/bin/gzip", "-t", h.scratch.url("three/slug.tgz")]).status == 0)
    }

    @Test func sourceDateEpochSetsEveryMtime() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "spy")
        #expect(try h.build(["-b", spy.path], env: ["SOURCE_DATE_EPOCH": "1700000000"]).status == 0)
        let verbose = try runTool(
            ["/bin/tar", "tvzf", "\(h.output)/slug.tgz", "--full-time"], environment: ["TZ": "UTC"]
        ).stdout
        #expect(verbose.split(separator: "\n").allSatisfy { $0.contains("2023-11-14 22:13:20") })
    }

    @Test func gitCheckoutGivesSourceVersionAndCommitTime() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        try git(["init", "-q", "-b", "main"], in: h.app)
        try git(["add", "."], in: h.app)
        try git(["commit", "-q", "-m", "first"], in: h.app, environment: ["GIT_COMMITTER_DATE": "@1600000000 +0000"])
        let sha = try git(["rev-parse", "HEAD"], in: h.app).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let spy = try SpyBuildpack(in: h.scratch, name: "spy")
        let result = try h.build(["-b", spy.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Building app (\(sha.prefix(7))) on slipway-1"))
        #expect(try h.manifest()["source_version"] as? String == sha)
        #expect(!(try h.slugEntries()).contains { $0.contains(".git") }, ".git is never copied")
        let verbose = try runTool(
            ["/bin/tar", "tvzf", "\(h.output)/slug.tgz", "--full-time"], environment: ["TZ": "UTC"]
        ).stdout
        #expect(verbose.contains("2020-09-13 12:26:40"))
    }

    @Test func buildpackFromGitURLWithRef() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        let repo = try h.scratch.makeDirectory("bp-repo")
        try h.scratch.write("bp-repo/bin/detect", "#!/bin/sh\necho FromGit\n", mode: 0o755)
        try h.scratch.write("bp-repo/bin/compile", "#!/bin/sh\necho compiled by version one\n", mode: 0o755)
        try git(["init", "-q", "-b", "main"], in: repo)
        try git(["add", "."], in: repo)
        try git(["commit", "-q", "-m", "v1"], in: repo)
        try git(["tag", "v1"], in: repo)
        try h.scratch.write("bp-repo/bin/compile", "#!/bin/sh\necho compiled by version two\n", mode: 0o755)
        try git(["commit", "-q", "-am", "v2"], in: repo)

        let tagged = try h.build(["-b", "file://\(repo)#v1"])
        #expect(tagged.status == 0, "\(tagged.output)")
        #expect(tagged.output.contains("compiled by version one"))
        let head = try h.build(["-b", "file://\(repo)"], output: h.scratch.url("out2"))
        #expect(head.output.contains("compiled by version two"))
        #expect(
            try h.manifest()["buildpacks"] as? [[String: String]] == [["url": "file://\(repo)#v1", "name": "FromGit"]])
    }

    @Test func buildpacksFileAndBuildpackURLChooseBuildpacks() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        let one = try SpyBuildpack(in: h.scratch, name: "one", detect: "echo One", compile: "echo ran one")
        let two = try SpyBuildpack(in: h.scratch, name: "two", detect: "echo Two", compile: "echo ran two")
        try h.app(".buildpacks", "# chosen\n\(one.path)\n\(two.path)\n")
        let fromFile = try h.build()
        #expect(fromFile.status == 0, "\(fromFile.output)")
        #expect(fromFile.output.contains("ran one") && fromFile.output.contains("ran two"))
        try FileManager.default.removeItem(atPath: "\(h.app)/.buildpacks")
        let fromConfig = try h.build(["-e", "BUILDPACK_URL=\(two.path)"], output: h.scratch.url("out2"))
        #expect(fromConfig.output.contains("ran two") && !fromConfig.output.contains("ran one"))
    }

    @Test func noColourWhenNotATerminal() throws {
        let h = try SlugcHarness()
        try h.app("Procfile", "web: ./run\n")
        let spy = try SpyBuildpack(in: h.scratch, name: "spy")
        let result = try h.build(["-b", spy.path])
        #expect(result.status == 0)
        #expect(!result.output.contains("\u{1B}["))
        #expect(result.output.contains("-----> Spy app detected"))
    }

    @Test func zstdCompressionWritesSlugTarZstAndSaysSoInTheManifest() throws {
        let h = try SlugcHarness("slugc-zstd")
        try h.app("Procfile", "web: ./run\n")
        try h.app("run", "#!/bin/sh\necho hi\n", mode: 0o755)
        #expect(try h.build().status == 0)
        #expect(FileManager.default.fileExists(atPath: "\(h.output)/slug.tgz"))

        let built = try h.build(["--compression", "zstd"])
        #expect(built.status == 0, "\(built.output)")
        let slug = try #require(try h.manifest()["slug"] as? [String: Any])
        #expect(slug["compression"] as? String == "zstd")
        #expect(slug["path"] as? String == "slug.tar.zst")
        let path = "\(h.output)/slug.tar.zst"
        let sha = try runTool(["/usr/bin/sha256sum", path]).stdout.prefix(64)
        #expect(slug["sha256"] as? String == String(sha))
        #expect(!FileManager.default.fileExists(atPath: "\(h.output)/slug.tgz"), "the older gzip slug is removed")
        try h.scratch.makeDirectory("unpacked")
        #expect(try runTool(["/bin/tar", "--zstd", "-xf", path, "-C", h.scratch.url("unpacked")]).status == 0)
        #expect(try h.scratch.read("unpacked/app/run") == "#!/bin/sh\necho hi\n")

        let refused = try h.build(["--compression", "xz"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("compression"))
    }
}
