import Foundation
import SlipwayTestSupport
import Testing

/// The Clojure buildpack (Leiningen), building with no network: the build host's Leiningen and JDK, Clojure from the
/// build host's Debian repository, the JRE from the test runtime store. The example builds and serves from its slug; a
/// second build reuses the caches; a dependency nobody serves and a missing Leiningen each end with the fix.
@Suite(.serialized) struct ClojureBuildpackTests {
    let jvm = JVMBuildpackTests()

    @Test func clojureExampleBuildsAnUberjarOfflineAndServes() throws {
        let h = try SlugcHarness("clojure")
        try jvm.copyExample("clojure-app", h)
        let result = try jvm.build(h)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> Clojure app detected"))
        #expect(result.output.contains("-----> Building with Leiningen: lein uberjar"))
        #expect(!result.output.contains("repositories detected in user-level profiles"), "the buildpack's own, hidden")
        let web = (try h.manifest()["process_types"] as? [String: String])?["web"]
        #expect(web == "java $JAVA_OPTS -jar target/clojure-app-standalone.jar")
        #expect(try h.slugEntries().contains("./app/.heroku/jdk/bin/java"))

        let process = try jvm.serve(h)
        defer { process.stop() }
        let page = try process.get()
        #expect(
            page?.hasPrefix("Hello from Slipway on Clojure!\nfrom the test\nClojure 1.11.1") == true,
            "\(process.output)")

        let source = "\(h.app)/src/clojure_app/core.clj"
        try String(contentsOfFile: source, encoding: .utf8)
            .replacingOccurrences(of: "on Clojure!", with: "on Clojure, again!")
            .write(toFile: source, atomically: true, encoding: .utf8)
        let again = try jvm.build(h, output: h.scratch.url("out2"))
        #expect(again.status == 0, "\(again.output)")
        #expect(!again.output.contains("Retrieving "), "Clojure comes from the cache: \(again.output)")
        let second = try jvm.serve(h, output: h.scratch.url("out2"))
        defer { second.stop() }
        #expect(try second.get()?.hasPrefix("Hello from Slipway on Clojure, again!") == true, "\(second.output)")
    }

    @Test func aDependencyNobodyServesFailsNamingTheFix() throws {
        let h = try SlugcHarness("clojure-deps")
        try h.app(
            "project.clj",
            """
            (defproject deps "1.0.0"
              :dependencies [[org.clojure/clojure "1.11.1"] [slipway-test/nowhere "9.9.9"]])
            """)
        let result = try jvm.build(h)
        #expect(result.status == 50)
        #expect(result.output.contains("slipway-test/nowhere") || result.output.contains("slipway-test:nowhere"))
        #expect(
            result.output.contains(
                " !     Leiningen could not get the app's dependencies (the lines above name them)."),
            "\(result.output)")
        #expect(result.output.contains(" !     Set MAVEN_MIRROR_URL"))
    }

    @Test func missingLeiningenFailsNamingThePackage() throws {
        let h = try SlugcHarness("clojure-toolchain")
        try h.app("project.clj", "(defproject x \"1\")\n")
        let bin = try h.scratch.makeDirectory("bin")
        for name in try FileManager.default.contentsOfDirectory(atPath: "/usr/bin") where name != "lein" {
            try FileManager.default.createSymbolicLink(
                atPath: "\(bin)/\(name)", withDestinationPath: "/usr/bin/\(name)")
        }
        let result = try jvm.build(h, extra: ["--sandbox", "none"], env: ["PATH": bin, "SLIPWAY_BUILD_USER": ""])
        #expect(result.status == 50)
        #expect(result.output.contains(" !     Install it with: apt-get install leiningen"), "\(result.output)")
    }
}
