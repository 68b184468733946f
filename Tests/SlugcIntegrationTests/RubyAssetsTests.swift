import Foundation
import SlipwayTestSupport
import Testing

/// The Ruby buildpack's `rake assets:precompile`, run with no network on a real asset pipeline: the fixture app
/// `Fixtures/ruby-assets-app` (Sprockets, the library Rails' pipeline compiles with, its gems in vendor/cache).
extension RubyBuildpackTests {
    static let assetsApp = "\(TestPaths.repositoryRoot)/Tests/SlugcIntegrationTests/Fixtures/ruby-assets-app"

    func copyAssetsApp(_ h: SlugcHarness) throws {
        try FileManager.default.removeItem(atPath: h.app)
        try FileManager.default.copyItem(atPath: Self.assetsApp, toPath: h.app)
    }

    /// The slug's compiled assets named `name` (application.css…): their fingerprinted paths in the slug.
    func compiled(_ entries: [String], _ name: String) -> [String] {
        let prefix = "./app/public/assets/\((name as NSString).deletingPathExtension)-"
        let suffix = ".\((name as NSString).pathExtension)"
        return entries.filter { entry in
            guard entry.hasPrefix(prefix), entry.hasSuffix(suffix) else { return false }
            let digest = entry.dropFirst(prefix.count).dropLast(suffix.count)
            return digest.count == 64 && digest.allSatisfy(\.isHexDigit)
        }
    }

    /// A file of the slug, read with tar.
    func slugFile(_ slug: String, _ entry: String) throws -> String {
        try runTool(["/bin/tar", "xzOf", slug, entry]).stdout
    }

    @Test func assetsPrecompileIntoTheSlugFingerprintedAndRecompileAfterAChange() throws {
        let h = try SlugcHarness("ruby-assets")
        try copyAssetsApp(h)
        // What Bootsnap leaves in a Rails app that boots during the build: keyed on the build folder's paths.
        try h.app("tmp/cache/bootsnap/compile-cache-iseq/00/0123", "stale")
        let result = try build(h)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("-----> Precompiling assets (rake assets:precompile)"), "\(result.output)")
        let entries = try h.slugEntries()
        let css = compiled(entries, "application.css")
        let js = compiled(entries, "application.js")
        #expect(css.count == 1 && js.count == 1, "\(entries.filter { $0.contains("public/") })")
        // Compiled: each file with what it requires, as Sprockets bundles them.
        let slug = "\(h.output)/slug.tgz"
        let style = try slugFile(slug, try #require(css.first))
        #expect(style.contains("max-width: 40em") && style.contains("color: #336699"), "\(style)")
        let script = try slugFile(slug, try #require(js.first))
        #expect(script.contains("function greeting()") && script.contains("document.title"), "\(script)")
        #expect(entries.contains { $0.hasPrefix("./app/public/assets/.sprockets-manifest-") })
        // Sprockets' cache goes to the build cache, Bootsnap's away: neither is in the slug.
        #expect(
            !entries.contains { $0.hasPrefix("./app/tmp/cache/assets") || $0.hasPrefix("./app/tmp/cache/bootsnap") })

        // A one-line change compiles afresh (with the last build's Sprockets cache): a new fingerprint, new content.
        try h.app("app/assets/stylesheets/base.css", "body { margin: 0 auto; max-width: 60em; }\n")
        let again = try build(h, output: h.scratch.url("out2"))
        #expect(again.status == 0, "\(again.output)")
        let entries2 = try h.slugEntries(h.scratch.url("out2/slug.tgz"))
        let css2 = try #require(compiled(entries2, "application.css").first)
        #expect(css2 != css.first)
        let style2 = try slugFile(h.scratch.url("out2/slug.tgz"), css2)
        #expect(style2.contains("max-width: 60em") && !style2.contains("40em"), "\(style2)")
        #expect(compiled(entries2, "application.js") == js, "an unchanged asset keeps its fingerprint")
    }

    @Test func aFailingPrecompileOrRakefileFailsTheBuildAndCommittedAssetsSkipIt() throws {
        let h = try SlugcHarness("ruby-assets-fail")
        try copyAssetsApp(h)
        try h.app("app/assets/stylesheets/application.css", "/*\n *= require missing\n */\n")
        let failed = try build(h)
        #expect(failed.status == 50)
        #expect(failed.output.contains(" !     rake assets:precompile failed."), "\(failed.output)")
        // Sprockets' own error, under the step.
        #expect(failed.output.contains("couldn't find file 'missing'"), "\(failed.output)")
        #expect(h.outputIsEmpty)

        // A Rails app (railties in its lockfile; here a spec nothing depends on, which Bundler does not install) whose
        // Rakefile cannot load in production fails, naming the check.
        let lock = try String(contentsOfFile: "\(h.app)/Gemfile.lock", encoding: .utf8)
        try h.app("Gemfile.lock", lock.replacingOccurrences(of: "    rake (", with: "    railties (6.1.7)\n    rake ("))
        try h.app("Rakefile", "raise \"no database during the build\"\n")
        let unloadable = try build(h)
        #expect(unloadable.status == 50)
        #expect(
            unloadable.output.contains(
                " !     Rake could not load the app's tasks, so its assets cannot be precompiled."),
            "\(unloadable.output)")
        #expect(unloadable.output.contains("no database during the build"), "\(unloadable.output)")

        // Assets the app compiled itself (a manifest in public/assets) are used as they are, as Heroku does: Rake is
        // not even started (the Rakefile still raises).
        try h.app("public/assets/.sprockets-manifest-0123.json", "{\"files\":{},\"assets\":{}}\n")
        let committed = try build(h)
        #expect(committed.status == 0, "\(committed.output)")
        #expect(
            committed.output.contains(
                "-----> Using the compiled assets the app commits (public/assets has a manifest)"),
            "\(committed.output)")
        #expect(!committed.output.contains("Precompiling assets"))
    }
}
