import Foundation
import SlipwayTestSupport
import Testing

/// With no runtime store configured, Go and Java come from their upstream download sites (go.dev's JSON listing,
/// Eclipse Temurin's API v3; Python and Node.js too when the app asks for a version), here a local site of the same
/// layout and JSON made from the test store's archives with their real SHA-256 and named by
/// `SLIPWAY_RUNTIME_UPSTREAM_GO` / `_JAVA` / `_PYTHON` / `_NODE`; the build has no network but that site.
/// The archive is fetched once into the shared runtime cache; a wrong checksum and a version the site does not list
/// each fail in one line.
@Suite(.serialized) struct RuntimeUpstreamTests {
    /// The Go the test store serves, as go.dev packs it.
    static let goVersion = "1.27.3"

    /// go.dev's `?mode=json&include=all` listing: Go `goVersion` with `sha`, an unstable release, and older lines
    /// (1.20 to 1.26, three releases each, archives never fetched) so that a miss has many versions to choose from.
    func goListing(sha: String) -> String {
        func release(_ version: String, _ sha: String, stable: Bool = true) -> [String: Any] {
            [
                "version": "go\(version)", "stable": stable,
                "files": [
                    [
                        "filename": "go\(version).linux-amd64.tar.gz", "os": "linux", "arch": "amd64",
                        "version": "go\(version)", "sha256": sha, "size": 1, "kind": "archive",
                    ],
                    [
                        "filename": "go\(version).src.tar.gz", "os": "", "arch": "", "version": "go\(version)",
                        "sha256": String(repeating: "1", count: 64), "size": 1, "kind": "source",
                    ],
                ],
            ]
        }
        var releases = [release("1.28rc1", String(repeating: "2", count: 64), stable: false)]
        releases.append(release(Self.goVersion, sha))
        for minor in (20...26).reversed() {
            for patch in (0...2).reversed() {
                releases.append(release("1.\(minor).\(patch)", String(repeating: "3", count: 64)))
            }
        }
        let data = (try? JSONSerialization.data(withJSONObject: releases)) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// A site serving go.dev's layout at /dl: the listing (go.dev answers `/dl/?mode=json…` from its index) and Go.
    func goSite(_ scratch: ScratchDirectory, sha: String? = nil) throws -> UpstreamSite {
        let archive = try UpstreamArchives.repack(
            "go", version: Self.goVersion, top: "go", name: "go\(Self.goVersion).linux-amd64.tar.gz")
        let site = try UpstreamSite(scratch, name: "go")
        try site.link("dl/go\(Self.goVersion).linux-amd64.tar.gz", to: archive)
        try site.write("dl/index.html", goListing(sha: try sha ?? UpstreamArchives.sha256(archive)))
        return site
    }

    /// `slugc build` with no runtime store, the upstreams pointed at `site`, and `cache` as the runtime cache.
    func build(
        _ h: SlugcHarness, site: UpstreamSite, runtimeCache: String, cacheDir: String? = nil, output: String? = nil,
        app: String? = nil
    ) throws -> ToolResult {
        var argv = h.buildArguments(["--runtime-cache", runtimeCache], app: app, output: output)
        if let cacheDir, let at = argv.firstIndex(of: "--cache-dir") { argv[at + 1] = cacheDir }
        let env = h.environment([
            "SLIPWAY_BUILD_USER": "", "SLIPWAY_RUNTIME_UPSTREAM_GO": "\(site.url)/dl",
            "SLIPWAY_RUNTIME_UPSTREAM_JAVA": site.url,
        ])
        return try site.run(argv, environment: env)
    }

    /// What the runtime cache holds besides the upstream listings: archives named by SHA-256, and partial files.
    func cachedArchives(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix("upstream-") }
    }

    /// A Go app that compiles in moments (no standard library package beyond the runtime): this suite is about where
    /// Go comes from, GoBuildpackTests about building the example.
    func writeSmallGoApp(_ folder: String, greeting: String = "Go") throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("module example.com/small\n\ngo 1.27\n".utf8).write(to: URL(fileURLWithPath: "\(folder)/go.mod"))
        try Data("package main\n\nfunc main() { println(\"Hello from \(greeting)\") }\n".utf8).write(
            to: URL(fileURLWithPath: "\(folder)/main.go"))
    }

    @Test func goComesFromItsDownloadSiteOnceAndIsCachedForEveryLaterBuild() throws {
        let h = try SlugcHarness("upstream-go")
        let site = try goSite(h.scratch)
        let runtimes = h.scratch.url("runtimes")
        try FileManager.default.removeItem(atPath: h.app)
        try writeSmallGoApp(h.app)
        let first = try build(h, site: site, runtimeCache: runtimes)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("-----> Fetching Go \(Self.goVersion) from Go's download site, \(site.url)/dl\n"))
        #expect(first.output.contains("-----> Using Go \(Self.goVersion) (go.mod asks for 1.27)"), "\(first.output)")
        #expect(try h.slugEntries().contains("./app/bin/small"))
        #expect(
            try site.requests() == ["/dl/?mode=json&include=all", "/dl/go\(Self.goVersion).linux-amd64.tar.gz"])
        let archive = try UpstreamArchives.sha256("\(UpstreamArchives.folder)/go\(Self.goVersion).linux-amd64.tar.gz")
        #expect(cachedArchives(runtimes) == [archive], "kept under its SHA-256, nothing half-written beside it")

        // The same app again (a one-line change): the listing and Go are in its build cache; the site is not asked.
        try writeSmallGoApp(h.app, greeting: "Go, again")
        let again = try build(h, site: site, runtimeCache: runtimes, output: h.scratch.url("out2"))
        #expect(again.status == 0, "\(again.output)")
        #expect(!again.output.contains("Fetching"), "\(again.output)")
        let afterSecond = try site.requests()
        #expect(afterSecond.count == 2, "the second build asked the site nothing: \(afterSecond)")

        // Another app (a build cache of its own) on the same server reads the listing for itself, never another
        // app's copy, and takes Go from the shared runtime cache: the archive is fetched once per server.
        try writeSmallGoApp(h.scratch.url("other-app"))
        let other = try build(
            h, site: site, runtimeCache: runtimes, cacheDir: h.scratch.url("other-cache"),
            output: h.scratch.url("out3"), app: h.scratch.url("other-app"))
        #expect(other.status == 0, "\(other.output)")
        #expect(!other.output.contains("Fetching"), "\(other.output)")
        let requests = try site.requests()
        #expect(requests.count == 3 && requests.last == "/dl/?mode=json&include=all", "\(requests)")
    }

    @Test func aWrongChecksumFailsInOneLineAndLeavesNothingInTheCache() throws {
        let h = try SlugcHarness("upstream-go-sha")
        let site = try goSite(h.scratch, sha: String(repeating: "ab", count: 32))
        let runtimes = h.scratch.url("runtimes")
        let result = try build(h, site: site, runtimeCache: runtimes, app: TestPaths.example("go-app"))
        #expect(result.status == 50)
        let failures = result.output.split(separator: "\n").filter { $0.hasPrefix(" !     ") }
        #expect(
            failures.first
                == " !     Go \(Self.goVersion) downloaded from Go's download site, \(site.url)/dl, does not match the SHA-256 that site publishes for it.",
            "\(result.output)")
        #expect(failures.count > 1 && failures[1].contains("SLIPWAY_RUNTIME_UPSTREAM_GO"), "\(failures)")
        #expect(cachedArchives(runtimes).isEmpty, "no archive, whole or partial: \(cachedArchives(runtimes))")
    }

    @Test func aGoTheSiteDoesNotListFailsNamingGoModAndTheNearestVersions() throws {
        let h = try SlugcHarness("upstream-go-version")
        let site = try goSite(h.scratch)
        try h.app("go.mod", "module example.com/app\n\ngo 1.19\n")
        try h.app("main.go", "package main\n\nfunc main() {}\n")
        let result = try build(h, site: site, runtimeCache: h.scratch.url("runtimes"))
        #expect(result.status == 50)
        #expect(
            result.output.contains(
                " !     Go 1.19 (asked for in go.mod) is not served by Go's download site, \(site.url)/dl; it has Go 1.25.2, 1.24.2, 1.23.2, 1.22.2, 1.21.2, 1.20.2 (and 16 other versions).\n"
            ), "six lines near 1.19, never the whole list: \(result.output)")
        #expect(try site.requests() == ["/dl/?mode=json&include=all"], "no archive was fetched")
    }

    /// A site serving Eclipse Temurin's API v3: the releases it has, and for `major` its newest JRE for this
    /// machine, a package link into the same site with the archive's real checksum.
    func javaSite(_ scratch: ScratchDirectory) throws -> (site: UpstreamSite, version: String) {
        _ = try TestRuntimeStore.url(["java"])
        let version = try TestRuntimeStore.version("java")
        let parts = version.split(separator: ".").compactMap { Int($0) }
        let name = "OpenJDK\(parts[0])U-jre_x64_linux_hotspot_\(version)_6.tar.gz"
        let archive = try UpstreamArchives.repack("java", version: version, top: "jdk-\(version)+6-jre", name: name)
        let site = try UpstreamSite(scratch, name: "java")
        try site.link("binaries/\(name)", to: archive)
        try site.write(
            "v3/info/available_releases",
            """
            {"available_lts_releases": [8, 11, 17, 21, 25], "available_releases": [8, 11, 17, 21, 24, 25],
             "most_recent_feature_release": 25, "most_recent_lts": 25, "tip_version": 26}
            """)
        let asset: [String: Any] = [
            "binary": [
                "architecture": "x64", "image_type": "jre", "os": "linux", "jvm_impl": "hotspot",
                "package": [
                    "checksum": try UpstreamArchives.sha256(archive), "link": "\(site.url)/binaries/\(name)",
                    "name": name, "size": 1,
                ],
            ],
            "release_name": "jdk-\(version)+6", "vendor": "eclipse",
            "version": [
                "major": parts[0], "minor": parts.count > 1 ? parts[1] : 0, "security": parts.count > 2 ? parts[2] : 0,
                "build": 6, "openjdk_version": "\(version)+6", "semver": "\(version)+6",
            ],
        ]
        let data = try JSONSerialization.data(withJSONObject: [asset])
        try site.write("v3/assets/latest/\(parts[0])/hotspot", String(decoding: data, as: UTF8.self))
        return (site, version)
    }

    @Test func javaComesFromTemurinsAPIAndAJavaItLacksNamesTheServedOnes() throws {
        let h = try SlugcHarness("upstream-java")
        let (site, version) = try javaSite(h.scratch)
        let major = version.split(separator: ".")[0]
        let runtimes = h.scratch.url("runtimes")
        let result = try build(h, site: site, runtimeCache: runtimes, app: TestPaths.example("java-app"))
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> Fetching Java \(version) from Eclipse Temurin's API, \(site.url)\n"))
        #expect(result.output.contains("-----> Using Java \(version)"), "\(result.output)")
        #expect(try h.slugEntries().contains("./app/.heroku/jdk/bin/java"))
        let java = try runTool(
            [
                "/bin/sh", "-c",
                "tar xzf \"$1\" -C \"$2\" && HOME=\"$2/app\" && . \"$2/app/.profile.d/java-runtime.sh\" && java -version",
                "sh", "\(h.output)/slug.tgz", try h.scratch.makeDirectory("run"),
            ], mergeOutput: true)
        #expect(java.status == 0 && java.output.contains(version), "the slug's JRE runs: \(java.output)")
        #expect(
            try site.requests() == [
                "/v3/info/available_releases",
                "/v3/assets/latest/\(major)/hotspot?architecture=x64&image_type=jre&os=linux&vendor=eclipse",
                "/binaries/OpenJDK\(major)U-jre_x64_linux_hotspot_\(version)_6.tar.gz",
            ])

        let other = try SlugcHarness("upstream-java-9")
        try other.app("pom.xml", "<project/>\n")
        try other.app("system.properties", "java.runtime.version=9\n")
        let missing = try build(other, site: site, runtimeCache: runtimes)
        #expect(missing.status == 50)
        #expect(
            missing.output.contains(
                " !     Java 9 (asked for in system.properties) is not served by Eclipse Temurin's API, \(site.url); it has Java 25, 24, 21, 17, 11, 8.\n"
            ), "\(missing.output)")
        let requests = try site.requests()
        #expect(
            requests.count == 4 && requests.last == "/v3/info/available_releases",
            "another app reads the releases for itself, and no JRE is fetched: \(requests)")
    }

    @Test func pythonVersionWithoutAStoreComesFromPythonBuildStandalone() throws {
        let h = try SlugcHarness("upstream-python")
        _ = try TestRuntimeStore.url(["python"])
        let version = try TestRuntimeStore.version("python")
        let name = "cpython-\(version)+20240101-x86_64-unknown-linux-gnu-install_only.tar.gz"
        let archive = try UpstreamArchives.repack("python", version: version, top: "python", name: name)
        let site = try UpstreamSite(h.scratch, name: "python")
        try site.link(name, to: archive)
        let other = String(repeating: "4", count: 64)
        try site.write(
            "SHA256SUMS",
            """
            \(try UpstreamArchives.sha256(archive))  \(name)
            \(other)  cpython-\(version)+20240101-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz
            \(other)  cpython-\(version)+20240101-aarch64-unknown-linux-gnu-install_only.tar.gz
            \(other)  cpython-3.13.1+20240101-x86_64-unknown-linux-gnu-freethreaded+pgo+lto-full.tar.zst
            \(other)  cpython-3.10.16+20240101-x86_64-unknown-linux-gnu-install_only.tar.gz

            """)
        try h.app("requirements.txt", "")
        try h.app(".python-version", "3.11\n")
        try h.app("Procfile", "web: python3 -m http.server $PORT\n")
        let argv = h.buildArguments(["--runtime-cache", h.scratch.url("runtimes")])
        let result = try site.run(
            argv, environment: h.environment(["SLIPWAY_BUILD_USER": "", "SLIPWAY_RUNTIME_UPSTREAM_PYTHON": site.url]))
        #expect(result.status == 0, "\(result.output)")
        #expect(
            result.output.contains(
                "-----> Using Python \(version) from python-build-standalone (.python-version asks for 3.11)"),
            "\(result.output)")
        #expect(try h.slugEntries().contains("./app/.heroku/python-runtime/bin/python3"))
        #expect(try site.requests() == ["/SHA256SUMS", "/" + name.replacingOccurrences(of: "+", with: "%2B")])
    }

    /// nodejs.org's `dist`: index.json (a release for another platform only, the one served, an older 22.x whose
    /// SHASUMS256.txt is never read), and the release's SHASUMS256.txt beside its `linux-x64` archive. The archive is
    /// a stand-in of nodejs.org's layout (`bin/node` and `bin/npm` that answer as npm does with nothing to install):
    /// this is about where Node.js comes from; BuiltinBuildpackTests runs the store's real node.
    @Test func nodeComesFromNodejsOrgWhenEnginesAsks() throws {
        let h = try SlugcHarness("upstream-node")
        let version = "22.11.0"
        let name = "node-v\(version)-linux-x64.tar.xz"
        try h.scratch.write(
            "node-tree/node-v\(version)-linux-x64/bin/node", "#!/bin/sh\necho v\(version)\n", mode: 0o755)
        try h.scratch.write("node-tree/node-v\(version)-linux-x64/bin/npm", "#!/bin/sh\necho 10.9.0\n", mode: 0o755)
        let site = try UpstreamSite(h.scratch, name: "node")
        let archive = "\(site.folder)/dist/v\(version)/\(name)"
        try FileManager.default.createDirectory(
            atPath: "\(site.folder)/dist/v\(version)", withIntermediateDirectories: true)
        let packed = try runTool(
            ["/bin/tar", "-C", h.scratch.url("node-tree"), "-cJf", archive, "node-v\(version)-linux-x64"])
        #expect(packed.status == 0, "\(packed.output)")
        let other = String(repeating: "5", count: 64)
        try site.write(
            "dist/v\(version)/SHASUMS256.txt",
            "\(other)  node-v\(version)-linux-arm64.tar.xz\n\(try UpstreamArchives.sha256(archive))  \(name)\n")
        try site.write(
            "dist/index.json",
            """
            [{"version": "v99.0.0", "files": ["osx-arm64-tar", "src"]},
             {"version": "v\(version)", "files": ["linux-arm64", "linux-x64", "src"]},
             {"version": "v22.1.0", "files": ["linux-x64"]}, {"version": "v0.1.14", "files": ["src"]}]
            """)
        try h.app("package.json", "{\"name\": \"x\", \"engines\": {\"node\": \"22.x\"}}\n")
        let argv = h.buildArguments(["--runtime-cache", h.scratch.url("runtimes")])
        let result = try site.run(
            argv,
            environment: h.environment(["SLIPWAY_BUILD_USER": "", "SLIPWAY_RUNTIME_UPSTREAM_NODE": "\(site.url)/dist"]))
        #expect(result.status == 0, "\(result.output)")
        #expect(
            result.output.contains(
                "-----> Fetching Node.js \(version) from Node.js's download site, \(site.url)/dist\n"),
            "\(result.output)")
        #expect(result.output.contains("-----> Using Node.js \(version) from nodejs.org (package.json asks for 22.x)"))
        #expect(result.output.contains("-----> Installing dependencies with npm install (npm 10.9.0)"))
        #expect(try h.slugEntries().contains("./app/.heroku/node/bin/node"), "unpacked without nodejs.org's top folder")
        #expect(
            try site.requests() == [
                "/dist/index.json", "/dist/v\(version)/SHASUMS256.txt", "/dist/v\(version)/\(name)",
            ])
    }
}
