import Foundation
import SlipwayTestSupport
import Testing

/// The PHP buildpack, building with no network: Debian's PHP, php-fpm and Caddy from the test runtime store, the build
/// host's Composer. The example builds and serves through php-fpm behind Caddy from its slug; a second build reuses
/// the runtime; committed packages (vendor/) build offline; and the failures a user can meet each end with the fix.
@Suite(.serialized) struct PHPBuildpackTests {
    /// `slugc build` with no network (`unshare -rn`) and the test store.
    func build(
        _ h: SlugcHarness, output: String? = nil, extra: [String] = [], env: [String: String] = [:]
    ) throws -> ToolResult {
        let url = try TestRuntimeStore.url(["php"])
        let argv = ["/usr/bin/unshare", "-rn"] + h.buildArguments(["--runtime-store", url] + extra, output: output)
        // In the user namespace, root cannot hand folders to another user: the build runs as this one.
        return try runTool(
            argv, environment: h.environment(["SLIPWAY_BUILD_USER": ""].merging(env) { $1 }), mergeOutput: true,
            timeout: 900)
    }

    /// Unpacks the built slug and starts its web process the way a runner does.
    func serve(_ h: SlugcHarness, output: String? = nil) throws -> AppProcess {
        let dir = try h.scratch.makeDirectory("run-\(UUID().uuidString.prefix(8))")
        #expect(try runTool(["/bin/tar", "xzf", "\(output ?? h.output)/slug.tgz", "-C", dir]).status == 0)
        return try AppProcess(
            appDirectory: "\(dir)/app", command: "slipway-php-web", environment: ["GREETING": "from the test"],
            scratch: h.scratch)
    }

    @Test func phpExampleBuildsOfflineAndServesThroughPHPFPMBehindCaddy() throws {
        let h = try SlugcHarness("php")
        try FileManager.default.removeItem(atPath: h.app)
        try FileManager.default.copyItem(atPath: TestPaths.example("php-app"), toPath: h.app)
        let result = try build(h)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> PHP app detected"))
        #expect(
            result.output.contains("-----> Using PHP 8.2.36 (composer.json asks for ^8.2), with php-fpm behind Caddy"))
        #expect((try h.manifest()["process_types"] as? [String: String])?["web"] == "slipway-php-web")
        let entries = try h.slugEntries()
        for path in ["./app/.heroku/php/sbin/php-fpm", "./app/.heroku/php/bin/caddy", "./app/vendor/autoload.php"] {
            #expect(entries.contains(path), "\(path) is in the slug")
        }

        let process = try serve(h)
        defer { process.stop() }
        #expect(
            try process.get() == "Hello from Slipway on PHP!\nfrom the test\nPHP 8.2.36 (fpm-fcgi)\n",
            "\(process.output)")
        let hidden = try runTool(
            [
                "/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                "http://127.0.0.1:\(process.port)/composer.json",
            ])
        #expect(hidden.stdout == "404", "composer.json is not served")

        try h.app(
            "src/Greeting.php",
            try h.scratch.read("app/src/Greeting.php").replacingOccurrences(
                of: "on PHP!", with: "on PHP, again!"))
        let again = try build(h, output: h.scratch.url("out2"))
        #expect(again.status == 0, "\(again.output)")
        #expect(!again.output.contains("Fetching PHP"), "the runtime is reused: \(again.output)")
    }

    @Test func aPHPNobodyServesFailsNamingTheVersionComposerJSONAndTheServedOnes() throws {
        let h = try SlugcHarness("php-version")
        try h.app("composer.json", #"{"require": {"php": "^8.9"}}"#)
        let result = try build(h)
        #expect(result.status == 50)
        #expect(
            result.output.contains(
                " !     PHP ^8.9 (asked for in composer.json) is not served by this server; it has PHP 8.2.36."),
            "\(result.output)")
    }

    @Test func packagesNobodyServesFailUnlessVendorIsCommitted() throws {
        let h = try SlugcHarness("php-packages")
        // A package from a path repository: Composer installs it into vendor/ (a build with it there needs nothing).
        try h.app("index.php", "<?php require 'vendor/autoload.php'; echo Slipway\\Greeter::hello();\n")
        try h.app(
            "packages/greeter/composer.json",
            #"{"name": "slipway/greeter", "version": "1.0.0", "autoload": {"psr-4": {"Slipway\\": "src/"}}}"#)
        try h.app(
            "packages/greeter/src/Greeter.php",
            "<?php namespace Slipway; final class Greeter { static function hello() { return 'hi'; } }\n")
        try h.app(
            "composer.json",
            """
            {"require": {"php": "^8.2", "slipway/greeter": "1.0.0"},
             "repositories": [{"type": "path", "url": "packages/greeter", "options": {"symlink": false}}]}
            """)
        let lock = try runTool(
            ["/usr/bin/composer", "update", "--no-interaction", "--working-dir", h.app],
            environment: [
                "PATH": "/usr/bin:/bin", "HOME": h.scratch.url("home"), "COMPOSER_ALLOW_SUPERUSER": "1",
            ], mergeOutput: true)
        #expect(lock.status == 0, "\(lock.output)")
        try FileManager.default.removeItem(atPath: "\(h.app)/packages")

        let vendored = try build(h)
        #expect(vendored.status == 0, "\(vendored.output)")
        #expect(try h.slugEntries().contains("./app/vendor/slipway/greeter/src/Greeter.php"))

        try FileManager.default.removeItem(atPath: "\(h.app)/vendor")
        let missing = try build(h)
        #expect(missing.status == 50)
        #expect(
            missing.output.contains(" !     Composer could not get the app's packages (the lines above name them)."),
            "\(missing.output)")
        #expect(missing.output.contains(" !     Set COMPOSER_MIRROR_URL"))
    }

    @Test func missingComposerFailsNamingThePackage() throws {
        let h = try SlugcHarness("php-toolchain")
        try h.app("composer.json", "{}\n")
        let bin = try h.scratch.makeDirectory("bin")
        for name in try FileManager.default.contentsOfDirectory(atPath: "/usr/bin") where name != "composer" {
            try FileManager.default.createSymbolicLink(
                atPath: "\(bin)/\(name)", withDestinationPath: "/usr/bin/\(name)")
        }
        let result = try build(h, extra: ["--sandbox", "none"], env: ["PATH": bin, "SLIPWAY_BUILD_USER": ""])
        #expect(result.status == 50)
        #expect(result.output.contains(" !     Install it with: apt-get install composer"), "\(result.output)")
    }
}
