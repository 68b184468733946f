import Foundation
import SlipwayTestSupport
import Testing

/// The runtime store's client, `buildpacks/lib/runtime-store.sh`, run by bash as a buildpack runs it, against a small
/// store made here (a language "demo" in three versions) served as a folder, as file:// and not at all.
@Suite struct RuntimeStoreTests {
    let scratch: ScratchDirectory
    let store: String

    init() throws {
        scratch = try ScratchDirectory("runtime-store")
        store = try scratch.makeDirectory("store")
        try scratch.makeDirectory("store/demo")
        var index = "# version sha256 archive\n"
        for version in ["3.1.2", "3.10.0", "3.1.4"] {
            try scratch.write("tree-\(version)/bin/demo", "#!/bin/sh\necho demo \(version)\n", mode: 0o755)
            try scratch.write("tree-\(version)/env.sh", "export PATH=\"$RUNTIME_HOME/bin:$PATH\"\n")
            let archive = "\(store)/demo/demo-\(version).tar.gz"
            let packed = try runTool(["/bin/tar", "-C", scratch.url("tree-\(version)"), "-czf", archive, "."])
            #expect(packed.status == 0, "\(packed.output)")
            index += "\(version) \(try sha256(archive)) demo-\(version).tar.gz\n"
        }
        try scratch.write("store/demo/index.txt", index + "not a line of the index\n")
    }

    func sha256(_ file: String) throws -> String {
        String(try runTool(["/usr/bin/sha256sum", file]).stdout.prefix(64))
    }

    /// `runtime-install demo REQUESTED .demo-version DEST` with the store at `url`.
    func install(_ requested: String, store url: String?, dest: String = "dest") throws -> ToolResult {
        var env = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "SLIPWAY_RUNTIME_CACHE": scratch.url("cache"),
        ]
        env["SLIPWAY_RUNTIME_STORE"] = url
        let script = """
            set -euo pipefail
            source "$1"
            version="$(runtime-install demo "$2" .demo-version "$3")"
            runtime-activate "$3"
            echo "chose $version, runs $(demo)"
            """
        return try runTool(
            [
                "/bin/bash", "-c", script, "test", "\(TestPaths.builtinBuildpacks)/lib/runtime-store.sh", requested,
                scratch.url(dest),
            ], environment: env)
    }

    @Test func theNewestVersionThePrefixAsksForIsUnpackedAndRuns() throws {
        let prefix = try install("3.1", store: "file://\(store)")
        #expect(prefix.status == 0, "\(prefix.output)")
        #expect(prefix.stdout == "chose 3.1.4, runs demo 3.1.4\n", "3.1 never takes 3.10.0")
        let newest = try install("", store: store)
        #expect(newest.stdout == "chose 3.10.0, runs demo 3.10.0\n", "\(newest.output)")
        let exact = try install("3.1.2", store: "file://\(store)/")
        #expect(exact.stdout == "chose 3.1.2, runs demo 3.1.2\n", "\(exact.output)")
    }

    @Test func aVersionNobodyServesFailsNamingItWhereAndTheServedOnes() throws {
        let result = try install("2.7", store: "file://\(store)")
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(
            lines.first
                == " !     demo 2.7 (asked for in .demo-version) is not served by this server; it has demo 3.10.0, 3.1.4, 3.1.2."
        )
        #expect(!result.output.contains(scratch.path), "no server path is shown: \(result.output)")
    }

    @Test func theArchiveIsFetchedOnceAndCheckedBeforeEachUse() throws {
        let first = try install("3.1", store: "file://\(store)")
        #expect(first.stderr.contains("Fetching demo from the runtime store"), "\(first.output)")
        let cached = scratch.url("cache/\(try sha256("\(store)/demo/demo-3.1.4.tar.gz"))")
        #expect(FileManager.default.fileExists(atPath: cached), "kept under its SHA-256")
        let second = try install("3.1", store: "file://\(store)")
        #expect(second.status == 0 && !second.stderr.contains("Fetching"), "\(second.output)")

        // A cached archive that no longer matches is fetched again, never used (a DEST already holding this runtime,
        // like the first one here, is reused without reading the cache).
        try "tampered".write(toFile: cached, atomically: false, encoding: .utf8)
        let third = try install("3.1", store: "file://\(store)", dest: "dest3")
        #expect(third.status == 0 && third.stderr.contains("Fetching"), "\(third.output)")
        #expect(third.stdout == "chose 3.1.4, runs demo 3.1.4\n")

        // A store whose archive does not match its index fails the build.
        try "tampered".write(toFile: cached, atomically: false, encoding: .utf8)
        try "tampered".write(toFile: "\(store)/demo/demo-3.1.4.tar.gz", atomically: false, encoding: .utf8)
        let broken = try install("3.1", store: "file://\(store)", dest: "dest4")
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("does not match its SHA-256 in demo/index.txt"), "\(broken.output)")
    }

    @Test func anUnreachableOrMissingStoreNamesTheSettingToChange() throws {
        let port = try freeLoopbackPort()
        let web = try install("3.1", store: "http://127.0.0.1:\(port)/store")
        #expect(web.status == 1)
        #expect(
            web.stderr.hasPrefix(
                " !     This server's runtime store, http://127.0.0.1:\(port)/store, could not be reached for demo"),
            "\(web.output)")
        #expect(web.stderr.contains("SLIPWAY_RUNTIME_STORE"))

        let none = try install("3.1", store: nil)
        #expect(none.status == 1)
        #expect(none.stderr.contains("No runtime store is configured"), "\(none.output)")

        let empty = try scratch.makeDirectory("empty-store")
        let folder = try install("3.1", store: "file://\(empty)")
        #expect(folder.status == 1)
        #expect(
            folder.stderr.contains(
                "This server's runtime store could not be reached for demo (no demo/index.txt there)"))
        #expect(!folder.output.contains(scratch.path), "no server path is shown: \(folder.output)")
    }

    @Test func rubyAndPHPWithoutAStoreNameTheStoreAndHowToMakeOne() throws {
        // They publish no prebuilt Linux runtime upstream, so there is nothing to fall back on.
        for (lang, name) in [("ruby", "Ruby"), ("php", "PHP")] {
            let result = try runTool(
                [
                    "/bin/bash", "-c", "set -euo pipefail; source \"$1\"; runtime-install \"$2\" 3 x \"$3\"", "test",
                    "\(TestPaths.builtinBuildpacks)/lib/runtime-store.sh", lang, scratch.url("dest-\(lang)"),
                ],
                environment: [
                    "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                    "SLIPWAY_RUNTIME_CACHE": scratch.url("cache"),
                ])
            #expect(result.status == 1)
            #expect(
                result.stderr.split(separator: "\n").map(String.init) == [
                    " !     No runtime store is configured, so this server has no \(name) to build with.",
                    " !     \(name) publishes no prebuilt Linux runtime to download: tell the server's operator to build a runtime store with scripts/runtime-store and set SLIPWAY_RUNTIME_STORE (see docs/languages.md).",
                ], "\(result.output)")
        }
    }

    @Test func aStoreUnreachableAfterABuildReachedItUsesTheIndexLastSeen() throws {
        // The index is kept per store URL, beside the archives it names.
        let first = try install("3.1", store: "file://\(store)")
        #expect(first.status == 0)
        try FileManager.default.moveItem(atPath: store, toPath: scratch.url("moved"))
        let again = try install("3.1", store: "file://\(store)", dest: "dest2")
        #expect(again.status == 0, "\(again.output)")
        #expect(again.stderr.contains("Warning: this server's runtime store could not be reached"))
        #expect(again.stdout == "chose 3.1.4, runs demo 3.1.4\n")
    }
}
