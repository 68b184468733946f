import Foundation
import SlipwayTestSupport
import Testing

/// The Java (Maven) and Clojure (Leiningen) buildpacks, building with no network: the build host's Maven, Leiningen
/// and JDK (Debian's, with Debian's Maven plugins and Clojure in `/usr/share/maven-repo`), the JRE from the test
/// runtime store. The examples build and serve from their slugs with the JRE the slug carries; a second build after a
/// one-line change reuses the caches; dependencies come from a local Maven repository the test makes, named by the
/// `MAVEN_MIRROR_URL` config var, or from the app's own `.m2/repository`; and the failures a user can meet each end
/// with the fix.
@Suite(.serialized) struct JVMBuildpackTests {
    /// `slugc build` with no network (`unshare -rn`) and the test store.
    func build(
        _ h: SlugcHarness, app: String? = nil, output: String? = nil, extra: [String] = [],
        env: [String: String] = [:]
    ) throws -> ToolResult {
        let url = try TestRuntimeStore.url(["java"])
        let argv =
            ["/usr/bin/unshare", "-rn"] + h.buildArguments(["--runtime-store", url] + extra, app: app, output: output)
        // In the user namespace, root cannot hand folders to another user: the build runs as this one.
        return try runTool(
            argv, environment: h.environment(["SLIPWAY_BUILD_USER": ""].merging(env) { $1 }), mergeOutput: true,
            timeout: 900)
    }

    /// Copies an example app into the harness's app folder.
    func copyExample(_ name: String, _ h: SlugcHarness) throws {
        try FileManager.default.removeItem(atPath: h.app)
        try FileManager.default.copyItem(atPath: TestPaths.example(name), toPath: h.app)
    }

    /// Unpacks the built slug and starts its web process the way a runner does; the JRE is the slug's.
    func serve(_ h: SlugcHarness, output: String? = nil) throws -> AppProcess {
        let dir = try h.scratch.makeDirectory("run-\(UUID().uuidString.prefix(8))")
        #expect(try runTool(["/bin/tar", "xzf", "\(output ?? h.output)/slug.tgz", "-C", dir]).status == 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(output ?? h.output)/release.json"))
        let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
        let web = try #require((manifest["process_types"] as? [String: String])?["web"])
        return try AppProcess(
            appDirectory: "\(dir)/app", command: "echo java is $(command -v java); \(web)",
            environment: ["GREETING": "from the test"], scratch: h.scratch)
    }

    /// A local Maven repository made from Debian's: the few artifacts a test's app depends on, in Maven's layout. It
    /// is made beside the built products; the caller removes it.
    func localRepository(_ paths: [String]) throws -> String {
        let repo = "\(TestPaths.productsDirectory)/test-maven-repo-\(UUID().uuidString.prefix(8))"
        for path in paths {
            try FileManager.default.createDirectory(
                atPath: "\(repo)/\((path as NSString).deletingLastPathComponent)", withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: URL(fileURLWithPath: "/usr/share/maven-repo/\(path)").resolvingSymlinksInPath().path,
                toPath: "\(repo)/\(path)")
        }
        return repo
    }

    /// commons-cli 1.5.0 as Debian packages it: its pom and jar.
    static let commonsCLI = [
        "commons-cli/commons-cli/1.5.0/commons-cli-1.5.0.pom", "commons-cli/commons-cli/1.5.0/commons-cli-1.5.0.jar",
    ]

    @Test func javaExampleBuildsOfflineCarriesItsJREAndServes() throws {
        let h = try SlugcHarness("java")
        try copyExample("java-app", h)
        let result = try build(h)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> Java app detected"))
        #expect(result.output.contains("-----> Using Java \(try TestRuntimeStore.version("java"))"), "\(result.output)")
        #expect(result.output.contains("BUILD SUCCESS"))
        #expect(!result.output.contains("\u{1B}["), "no terminal escapes in the build's output")
        let web = (try h.manifest()["process_types"] as? [String: String])?["web"]
        #expect(web == "java $JAVA_OPTS -jar target/java-app-1.0.jar")
        let entries = try h.slugEntries()
        #expect(entries.contains("./app/.heroku/jdk/bin/java"))
        #expect(entries.contains("./app/.profile.d/jvm.sh"))
        #expect(entries.contains("./app/target/java-app-1.0.jar"))

        let process = try serve(h)
        defer { process.stop() }
        let page = try process.get()
        #expect(
            page?.hasPrefix("Hello from Slipway on Java!\nfrom the test\nJava \(try TestRuntimeStore.version("java"))")
                == true, "\(process.output)")
        #expect(process.output.contains("/app/.heroku/jdk/bin/java"), "the slug's JRE runs it: \(process.output)")

        // A one-line change: Maven's repository and the JRE come from CACHE_DIR.
        let source = "\(h.app)/src/main/java/com/example/App.java"
        try String(contentsOfFile: source, encoding: .utf8)
            .replacingOccurrences(of: "on Java!", with: "on Java, again!")
            .write(toFile: source, atomically: true, encoding: .utf8)
        let again = try build(h, output: h.scratch.url("out2"))
        #expect(again.status == 0, "\(again.output)")
        #expect(!again.output.contains("Fetching Java"), "the runtime is reused: \(again.output)")
        let second = try serve(h, output: h.scratch.url("out2"))
        defer { second.stop() }
        #expect(try second.get()?.hasPrefix("Hello from Slipway on Java, again!") == true, "\(second.output)")
    }

    @Test func heapIsFittedToTheDynosMemoryLimit() throws {
        let h = try SlugcHarness("java-heap")
        try h.app("pom.xml", try String(contentsOfFile: TestPaths.example("java-app") + "/pom.xml", encoding: .utf8))
        let result = try build(h)
        #expect(result.status == 0, "\(result.output)")
        let dir = try h.scratch.makeDirectory("run")
        #expect(try runTool(["/bin/tar", "xzf", "\(h.output)/slug.tgz", "-C", dir]).status == 0)
        // The profile reads the dyno's control group; here the test stands in for /sys/fs/cgroup with a copy.
        let profile = try String(contentsOfFile: "\(dir)/app/.profile.d/jvm.sh", encoding: .utf8)
        for (limit, expected) in [("536870912", "-Xmx307m"), ("2147483648", "-Xmx1638m"), ("max", "")] {
            let cgroup = try h.scratch.makeDirectory("cgroup-\(limit)")
            try limit.write(toFile: "\(cgroup)/memory.max", atomically: true, encoding: .utf8)
            let script = profile.replacingOccurrences(of: "/sys/fs/cgroup", with: cgroup) + "\necho \"$JAVA_OPTS\"\n"
            let opts = try runTool(["/bin/sh", "-c", script], environment: ["JAVA_OPTS": "-Dmine=1"]).stdout
            #expect(opts.hasSuffix("-Dmine=1\n"), "the app's JAVA_OPTS come last and win: \(opts)")
            #expect(expected.isEmpty ? !opts.contains("-Xmx") : opts.hasPrefix(expected + " "), "\(limit): \(opts)")
        }
    }

    @Test func dependenciesComeFromTheMirrorConfigVarOrTheAppsOwnRepository() throws {
        let h = try SlugcHarness("java-deps")
        try h.app(
            "pom.xml",
            """
            <project xmlns="http://maven.apache.org/POM/4.0.0">
              <modelVersion>4.0.0</modelVersion>
              <groupId>t</groupId><artifactId>deps</artifactId><version>1</version>
              <properties><maven.compiler.release>17</maven.compiler.release></properties>
              <dependencies>
                <dependency><groupId>commons-cli</groupId><artifactId>commons-cli</artifactId><version>1.5.0</version></dependency>
              </dependencies>
            </project>
            """)
        try h.app(
            "src/main/java/t/Main.java",
            "package t;\npublic class Main { static org.apache.commons.cli.Options o = new org.apache.commons.cli.Options(); }\n"
        )
        let missing = try build(h)
        #expect(missing.status == 50)
        #expect(
            missing.output.contains(
                " !     Maven could not get the app's dependencies (the lines above name them)."), "\(missing.output)")
        #expect(missing.output.contains(" !     Set MAVEN_MIRROR_URL or MAVEN_SETTINGS_URL"))

        let repo = try localRepository(Self.commonsCLI)
        defer { try? FileManager.default.removeItem(atPath: repo) }
        // Without the build sandbox: it puts a /tmp of its own over the host's, where the products and so this
        // folder are when the repository is cloned under /tmp (as CI may).
        let mirrored = try build(h, extra: ["-e", "MAVEN_MIRROR_URL=file://\(repo)", "--sandbox", "none"])
        #expect(mirrored.status == 0, "\(mirrored.output)")

        // The same app carrying its repository builds offline, with a fresh cache.
        let carried = try SlugcHarness("java-carried")
        try FileManager.default.removeItem(atPath: carried.app)
        try FileManager.default.copyItem(atPath: h.app, toPath: carried.app)
        try FileManager.default.createDirectory(atPath: "\(carried.app)/.m2", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: repo, toPath: "\(carried.app)/.m2/repository")
        let offline = try build(carried)
        #expect(offline.status == 0, "\(offline.output)")
        #expect(offline.output.contains("Using the app's own Maven repository (.m2/repository): building offline"))
        #expect(!(try carried.slugEntries()).contains { $0.hasPrefix("./app/.m2/") }, "the repository is not shipped")
    }

    @Test func javaVersionNobodyServesFailsNamingItAndTheServedOnes() throws {
        let h = try SlugcHarness("java-version")
        try h.app("pom.xml", try String(contentsOfFile: TestPaths.example("java-app") + "/pom.xml", encoding: .utf8))
        try h.app("system.properties", "java.runtime.version=1.8\n")
        let result = try build(h)
        #expect(result.status == 50)
        #expect(
            result.output.contains(
                " !     Java 8 (asked for in system.properties) is not served by this server; it has Java \(try TestRuntimeStore.version("java"))."
            ),
            "\(result.output)")
    }

    @Test func missingMavenOrJDKFailsNamingThePackage() throws {
        let h = try SlugcHarness("java-toolchain")
        try h.app("pom.xml", "<project/>\n")
        // A PATH with every command of /usr/bin but Maven's, then but the JDK's; no sandbox, so the folder is seen.
        for (missing, fix) in [
            (["mvn"], " !     Install it with: apt-get install maven"),
            (["javac"], " !     Install one with: apt-get install openjdk-17-jdk-headless"),
        ] {
            let bin = try h.scratch.makeDirectory("bin-\(missing[0])")
            for name in try FileManager.default.contentsOfDirectory(atPath: "/usr/bin") where !missing.contains(name) {
                try FileManager.default.createSymbolicLink(
                    atPath: "\(bin)/\(name)", withDestinationPath: "/usr/bin/\(name)")
            }
            let result = try build(
                h, extra: ["--sandbox", "none"], env: ["PATH": bin, "SLIPWAY_BUILD_USER": ""])
            #expect(result.status == 50)
            #expect(result.output.contains(fix), "\(result.output)")
        }
    }
}
