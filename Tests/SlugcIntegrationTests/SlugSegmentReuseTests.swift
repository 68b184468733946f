import Foundation
import SlipwayTestSupport
import Testing

/// The second `slugc build` of a language example splices the compressed runtime the first build recorded in the
/// build cache, and its slug unpacks to the same files as a build of the same app with an empty cache.
@Suite(.serialized) struct SlugSegmentReuseTests {
    /// `slugc build` of the Ruby example with no network and the test store (as RubyBuildpackTests builds it).
    func build(_ h: SlugcHarness, output: String) throws -> ToolResult {
        let url = try TestRuntimeStore.url(["ruby"])
        let argv = ["/usr/bin/unshare", "-rn"] + h.buildArguments(["--runtime-store", url], output: output)
        return try runTool(
            argv, environment: h.environment(["SLIPWAY_BUILD_USER": ""]), mergeOutput: true, timeout: 900)
    }

    @Test func theRebuildOfTheRubyExampleReusesItsCompressedRubyAndUnpacksTheSame() throws {
        let h = try SlugcHarness("segments-ruby")
        try FileManager.default.removeItem(atPath: h.app)
        try FileManager.default.copyItem(atPath: TestPaths.example("ruby-app"), toPath: h.app)
        let first = try build(h, output: h.scratch.url("out1"))
        #expect(first.status == 0, "\(first.output)")
        #expect(!first.output.contains("Reused the compressed"), "\(first.output)")

        try h.app("config.ru", try String(contentsOfFile: "\(h.app)/config.ru", encoding: .utf8) + "# one line\n")
        let second = try build(h, output: h.scratch.url("out2"))
        #expect(second.status == 0, "\(second.output)")
        #expect(
            second.output.contains("       Reused the compressed app/.heroku/ruby of the last build"),
            "\(second.output)")

        // The same app built with an empty cache: the same files, modes and links.
        let fresh = try SlugcHarness("segments-ruby-fresh")
        try FileManager.default.removeItem(atPath: fresh.app)
        try FileManager.default.copyItem(atPath: h.app, toPath: fresh.app)
        let third = try build(fresh, output: fresh.output)
        #expect(third.status == 0, "\(third.output)")
        #expect(!third.output.contains("Reused the compressed"))
        let reused = h.scratch.url("out2/slug.tgz")
        #expect(try runTool(["/bin/gzip", "-t", reused]).status == 0)
        let reusedListing = try slugListing(reused)
        #expect(reusedListing.contains("./app/.heroku/ruby/bin/ruby "))
        #expect(reusedListing == (try slugListing("\(fresh.output)/slug.tgz")))
        for (name, slug) in [("a", reused), ("b", "\(fresh.output)/slug.tgz")] {
            try h.scratch.makeDirectory(name)
            #expect(try runTool(["/bin/tar", "-xzf", slug, "-C", h.scratch.url(name)]).status == 0)
        }
        let diff = try runTool(["/usr/bin/diff", "-r", "--no-dereference", h.scratch.url("a"), h.scratch.url("b")])
        #expect(diff.status == 0, "\(diff.output)")
    }
}
