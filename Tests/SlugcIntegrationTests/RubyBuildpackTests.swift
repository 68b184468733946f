import Foundation
import SlipwayTestSupport
import Testing

/// The Ruby buildpack, building with Debian's Ruby from the test runtime store with no network: the example app (its
/// gems in vendor/cache), a second build after a one-line change, and the failures a user can meet.
@Suite(.serialized) struct RubyBuildpackTests {
    /// `slugc build` with no network (`unshare -rn`: a user namespace, where root cannot hand the build to another
    /// user, so buildpacks run as this user, still in the sandbox) and the test store.
    func build(_ h: SlugcHarness, output: String? = nil, extra: [String] = []) throws -> ToolResult {
        let url = try TestRuntimeStore.url(["ruby"])
        let argv =
            ["/usr/bin/unshare", "-rn"] + h.buildArguments(["--runtime-store", url] + extra, output: output)
        return try runTool(
            argv, environment: h.environment(["SLIPWAY_BUILD_USER": ""]), mergeOutput: true, timeout: 900)
    }

    func copyExample(_ h: SlugcHarness) throws {
        try FileManager.default.removeItem(atPath: h.app)
        try FileManager.default.copyItem(atPath: TestPaths.example("ruby-app"), toPath: h.app)
    }

    @Test func theExampleBuildsOfflineCarriesItsRubyAndServes() throws {
        let h = try SlugcHarness("ruby")
        try copyExample(h)
        let result = try build(h)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> Ruby app detected"))
        #expect(result.output.contains("-----> Using Ruby 3.1.2 (.ruby-version asks for 3.1)"))
        #expect(result.output.contains("Installing gems from vendor/cache"))
        let manifest = try h.manifest()
        #expect(
            (manifest["process_types"] as? [String: String])?["web"]
                == "bundle exec rackup config.ru -p ${PORT:-5000} -o 0.0.0.0 -E ${RACK_ENV:-production}")
        let entries = try h.slugEntries()
        #expect(entries.contains("./app/.heroku/ruby/bin/ruby"))
        #expect(entries.contains("./app/.profile.d/ruby-runtime.sh"))
        #expect(entries.contains { $0.hasPrefix("./app/vendor/bundle/ruby/3.1.0/gems/rack-2.2.22/") })

        let dir = try h.scratch.makeDirectory("run")
        #expect(try runTool(["/bin/tar", "xzf", "\(h.output)/slug.tgz", "-C", dir]).status == 0)
        // The slug's Ruby is the one on PATH once the profile is sourced.
        let which = try runTool(
            [
                "/bin/bash", "-c",
                "cd \"$HOME\"; for f in .profile.d/*.sh; do . \"$f\"; done; command -v ruby ruby3.1",
            ],
            environment: ["HOME": "\(dir)/app", "PATH": "/usr/bin:/bin"])
        // ruby3.1 too: the commands RubyGems installs (rackup) start with #!/usr/bin/env ruby3.1.
        #expect(
            which.stdout == "\(dir)/app/.heroku/ruby/bin/ruby\n\(dir)/app/.heroku/ruby/bin/ruby3.1\n",
            "\(which.output)")
        let web = try #require((manifest["process_types"] as? [String: String])?["web"])
        let process = try AppProcess(
            appDirectory: "\(dir)/app", command: web, environment: ["GREETING": "from the test"], scratch: h.scratch)
        defer { process.stop() }
        #expect(try process.get() == "Hello from Slipway! (Ruby 3.1.2)\nfrom the test\n", "\(process.output)")

        try h.app(
            "config.ru",
            try String(contentsOfFile: "\(h.app)/config.ru", encoding: .utf8)
                .replacingOccurrences(of: "Hello from", with: "Hello again from"))
        let again = try build(h, output: h.scratch.url("out2"))
        #expect(again.status == 0, "\(again.output)")
        // Nothing Bundler reads changed: the last build's gems and settings, without starting Bundler.
        #expect(
            again.output.contains(
                "-----> Using the gems of the last build (Gemfile, Gemfile.lock and vendor/cache unchanged)"),
            "\(again.output)")
        #expect(!again.output.contains("Installing gems from vendor/cache"), "\(again.output)")
        // And the slug serves with them.
        let dir2 = try h.scratch.makeDirectory("run2")
        #expect(try runTool(["/bin/tar", "xzf", h.scratch.url("out2/slug.tgz"), "-C", dir2]).status == 0)
        let rerun = try AppProcess(appDirectory: "\(dir2)/app", command: web, environment: [:], scratch: h.scratch)
        defer { rerun.stop() }
        #expect(try rerun.get() == "Hello again from Slipway! (Ruby 3.1.2)\n", "\(rerun.output)")
        #expect(!again.output.contains("Fetching Ruby"), "the runtime archive is fetched once")
    }

    @Test func aRubyNobodyServesFailsNamingTheVersionAndWhere() throws {
        let h = try SlugcHarness("ruby-version")
        try copyExample(h)
        try h.app(".ruby-version", "ruby-2.7.8\n")
        let result = try build(h)
        #expect(result.status == 50)
        #expect(
            result.output.contains(
                " !     Ruby 2.7.8 (asked for in .ruby-version) is not served by this server; it has Ruby 3.1.2."),
            "\(result.output)")
    }

    @Test func missingGemsOrLockfileFailNamingTheFix() throws {
        let h = try SlugcHarness("ruby-deps")
        try copyExample(h)
        try FileManager.default.removeItem(atPath: "\(h.app)/vendor")
        let offline = try build(h)
        #expect(offline.status == 50)
        #expect(offline.output.contains(" !     Bundler could not get the app's gems."), "\(offline.output)")
        #expect(offline.output.contains("'bundle cache'") && offline.output.contains("BUNDLE_MIRROR__ALL"))

        try FileManager.default.removeItem(atPath: "\(h.app)/Gemfile.lock")
        let unlocked = try build(h)
        #expect(unlocked.status == 50)
        #expect(unlocked.output.contains("This app has a Gemfile but no Gemfile.lock"), "\(unlocked.output)")
    }
}
