import Foundation
import SlipwayTestSupport

/// One scratch world for running `slugc`: an app folder, output, cache, TMPDIR and HOME, all inside a scratch dir.
struct SlugcHarness {
    let scratch: ScratchDirectory
    var app: String { scratch.url("app") }
    var output: String { scratch.url("out") }
    var cache: String { scratch.url("cache") }
    var tmp: String { scratch.url("tmp") }

    init(_ label: String = "slugc") throws {
        scratch = try ScratchDirectory(label)
        try scratch.makeDirectory("app")
        try scratch.makeDirectory("tmp")
        try scratch.makeDirectory("home")
    }

    /// The environment `slugc` runs with: the machine's PATH, a private TMPDIR and HOME, and a secret that must not
    /// reach buildpacks.
    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "TMPDIR": tmp,
            "HOME": scratch.url("home"),
            "SLIPWAY_BUILDPACKS": TestPaths.builtinBuildpacks,
            "CALLER_SECRET": "do-not-leak",
        ]
        for (key, value) in extra { env[key] = value }
        return env
    }

    /// The standard `slugc build` argument list for this harness, plus `extra`.
    func buildArguments(_ extra: [String], app: String? = nil, output: String? = nil) -> [String] {
        [TestPaths.product("slugc"), "build", app ?? self.app, "-o", output ?? self.output, "--cache-dir", cache]
            + extra
    }

    /// Runs `slugc build` on the app with `extra` arguments.
    @discardableResult
    func build(
        _ extra: [String] = [], app: String? = nil, output: String? = nil, env: [String: String] = [:],
        timeout: TimeInterval = 300
    )
        throws -> ToolResult
    {
        try runTool(
            buildArguments(extra, app: app, output: output), environment: environment(env), mergeOutput: true,
            timeout: timeout)
    }

    /// Writes a file into the app.
    @discardableResult
    func app(_ relative: String, _ contents: String, mode: Int = 0o644) throws -> String {
        try scratch.write("app/\(relative)", contents, mode: mode)
    }

    /// Whether the output folder holds nothing (no slug, no manifest, no temporary file).
    var outputIsEmpty: Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []).isEmpty
    }

    /// Whether TMPDIR is empty again (the build's workspace was removed).
    var workspaceRemoved: Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).isEmpty
    }

    /// The manifest written by the last successful build.
    func manifest() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(output)/release.json"))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    /// The entries of the built slug, as `tar tzf` lists them.
    func slugEntries(_ slug: String? = nil) throws -> [String] {
        let result = try runTool(["/bin/tar", "tzf", slug ?? "\(output)/slug.tgz"])
        return result.stdout.split(separator: "\n").map(String.init)
    }
}
