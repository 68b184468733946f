import Foundation
import SlipwayTestSupport
import Testing

/// The built-in buildpacks, each building its example app from `examples/`; the Python and Node slugs are unpacked
/// elsewhere and serve a request the way a runner starts them (the Node slug with its own node, from the test store).
@Suite struct BuiltinBuildpackTests {
    /// Unpacks a slug into a new folder and returns the app folder (`<dir>/app`).
    func unpack(_ slug: String, in scratch: ScratchDirectory) throws -> String {
        let dir = try scratch.makeDirectory("run-\(UUID().uuidString.prefix(8))")
        let result = try runTool(["/bin/tar", "xzf", slug, "-C", dir])
        #expect(result.status == 0, "\(result.output)")
        return "\(dir)/app"
    }

    @Test func pythonAppWithGunicornFromPyPIBuildsAndRunsFromItsSlug() throws {
        let h = try SlugcHarness("python")
        let result = try h.build([], app: TestPaths.example("python-app"), timeout: 600)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> Python app detected"))
        #expect(result.output.contains("Procfile declares types     -> web"))
        let entries = try h.slugEntries()
        #expect(entries.contains("./app/.profile.d/python.sh"))
        #expect(entries.contains { $0.hasPrefix("./app/.heroku/python/gunicorn/") })
        #expect(!entries.contains { $0.hasPrefix("./app/tests/") }, ".slugignore of the example drops tests/")

        let app = try unpack("\(h.output)/slug.tgz", in: h.scratch)
        let web = try #require((try h.manifest()["process_types"] as? [String: String])?["web"])
        let process = try AppProcess(
            appDirectory: app, command: web, environment: ["GREETING": "from the test"], scratch: h.scratch)
        defer { process.stop() }
        let page = try process.get()
        #expect(page?.contains("Hello from Slipway!") == true, "\(process.output)")
        #expect(page?.contains("from the test") == true)

        let again = try h.build([], app: TestPaths.example("python-app"), output: h.scratch.url("out2"), timeout: 600)
        #expect(again.status == 0)
        #expect(
            again.output.contains("Using cached dependencies"), "the second build reuses the cache: \(again.output)")
    }

    @Test func pythonVersionTheHostLacksIsAWarningNotAFailure() throws {
        let h = try SlugcHarness("python-version")
        try h.app("requirements.txt", "")
        try h.app("runtime.txt", "python-2.7.18\n")
        try h.app("Procfile", "web: python3 -m http.server $PORT\n")
        let result = try h.build()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("2.7.18"))
        #expect(result.output.contains("this build host has Python 3."))
    }

    @Test func nodeAppCarriesTheStoresNodeRunsItsBuildScriptAndStartsWithoutTheHostsNode() throws {
        let h = try SlugcHarness("node")
        let store = try TestRuntimeStore.url(["nodejs"])
        let version = try TestRuntimeStore.version("nodejs")
        // zstd: the slug carries node's 110 MB, which gzip takes seconds more to pack.
        let result = try h.build(
            ["--source-version", "0123456789abcdef", "--runtime-store", store, "--compression", "zstd"],
            app: TestPaths.example("node-app"))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> Node.js app detected"))
        #expect(
            result.output.contains(
                "-----> Using Node.js \(version) from the runtime store (package.json asks for >=18)"),
            "\(result.output)")
        #expect(result.output.contains("Default types for buildpack -> web"))
        let manifest = try h.manifest()
        #expect((manifest["process_types"] as? [String: String])?["web"] == "npm start")
        let run = try h.scratch.makeDirectory("run")
        let unpacked = try runTool(["/bin/tar", "--zstd", "-xf", "\(h.output)/slug.tar.zst", "-C", run])
        #expect(unpacked.status == 0, "\(unpacked.output)")
        let app = "\(run)/app"
        #expect(FileManager.default.isExecutableFile(atPath: "\(app)/.heroku/node/bin/node"), "the slug carries node")
        #expect(FileManager.default.fileExists(atPath: "\(app)/dist/build-info.json"), "the build script ran")

        // The dyno has no node of its own: a PATH with a shell and env only, as a stack image without Node.js has.
        let bin = try h.scratch.makeDirectory("bare-bin")
        for tool in ["/bin/bash", "/bin/sh", "/usr/bin/env"] {
            try FileManager.default.createSymbolicLink(
                atPath: "\(bin)/\((tool as NSString).lastPathComponent)", withDestinationPath: tool)
        }
        let node = try runTool(
            ["/bin/bash", "-c", "for f in \"$HOME\"/.profile.d/*.sh; do . \"$f\"; done; node -p process.execPath"],
            environment: ["HOME": app, "PATH": bin], mergeOutput: true)
        #expect(
            node.status == 0 && node.output.hasSuffix("/app/.heroku/node/bin/node\n"),
            "the slug's node runs, not the host's: \(node.output)")
        let process = try AppProcess(
            appDirectory: app, command: "npm start", environment: ["PATH": bin], scratch: h.scratch)
        defer { process.stop() }
        let page = try process.get()
        #expect(page?.contains("Hello from Slipway on Node!") == true, "\(process.output)")
    }

    @Test func aNodeNobodyServesOrARangeNotReadFailsInOneLine() throws {
        let h = try SlugcHarness("node-version")
        let store = try TestRuntimeStore.url(["nodejs"])
        let served = try TestRuntimeStore.served("nodejs").joined(separator: ", ")
        try h.app("package.json", #"{"name": "x", "engines": {"node": "^99.1"}}"#)
        let missing = try h.build(["--runtime-store", store])
        #expect(missing.status == 50)
        #expect(
            missing.output.contains(
                " !     Node.js ^99.1 (asked for in package.json) is not served by this server; it has Node.js \(served).\n"
            ), "\(missing.output)")
        try h.app("package.json", #"{"name": "x", "engines": {"node": ">=18 <21"}}"#)
        let range = try h.build(["--runtime-store", store])
        #expect(range.status == 50)
        #expect(
            range.output.contains(
                " !     package.json's engines.node is '>=18 <21', a form this server does not read: write a version such as 24, 24.x, ^24.11, ~24.11.1, >=22 or 24.11.1 there.\n"
            ), "\(range.output)")
        #expect(!missing.output.contains(h.scratch.path) && !range.output.contains(h.scratch.path), "no server path")
    }

    @Test func procfileAppNeedsNoBuild() throws {
        let h = try SlugcHarness("procfile")
        let result = try h.build([], app: TestPaths.example("shell-app"))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> Procfile app detected"))
        #expect(result.output.contains("Procfile declares types     -> web, worker"))
        let verbose = try runTool(["/bin/tar", "tvzf", "\(h.output)/slug.tgz"]).stdout
        #expect(verbose.contains("-rwxr-xr-x") && verbose.contains("./app/serve.sh"))
    }

    @Test func severalLanguagesDetectedSaysSoAndUsesTheFirst() throws {
        let h = try SlugcHarness("multi")
        try h.app("requirements.txt", "")
        try h.app("package.json", #"{"name": "x", "version": "1.0.0"}"#)
        try h.app("Procfile", "web: x\n")
        let result = try h.build()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("several default buildpacks can build this app"))
        #expect(result.output.contains("Python (python), Node.js (nodejs)"))
        #expect(result.output.contains("-----> Python app detected"))
    }

    @Test func detectCommandNamesTheBuildpackOrExplainsWhyNot() throws {
        let h = try SlugcHarness("detect")
        let slugc = TestPaths.product("slugc")
        let python = try runTool([slugc, "detect", TestPaths.example("python-app")], environment: h.environment())
        #expect(python.status == 0)
        #expect(python.stdout == "Python (python)\n")
        let none = try runTool([slugc, "detect", h.app], environment: h.environment(), mergeOutput: true)
        #expect(none.status == 1)
        #expect(none.output.contains("No default language could be detected for this app."))
        #expect(h.workspaceRemoved)
    }

    @Test func helpListsEveryFlagWithItsDefault() throws {
        // --help wraps lines to the terminal's width; compare with whitespace collapsed.
        let help = try runTool([TestPaths.product("slugc"), "build", "--help"]).stdout
            .split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for flag in [
            "--buildpack", "--env", "--env-file", "--cache-dir", "--output", "--app", "--source-version", "--stack",
            "--timeout", "--max-slug-size", "--include-env",
        ] {
            #expect(help.contains(flag), "\(flag) missing from --help")
        }
        for value in ["(default: ./slug)", "(default: slipway-1)", "(default: 900)", "(default: 500)"] {
            #expect(help.contains(value), "\(value) missing from --help")
        }
    }
}
