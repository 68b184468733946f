import Foundation
import SlipwaySystem
import SlipwayTestSupport
import Testing

@testable import SlugCompiler

@Suite struct KeepAliveTests {
    @Test func aSilentBuildpackGetsKeepAliveLines() throws {
        let scratch = try ScratchDirectory("keepalive")
        try scratch.write("app/Procfile", "web: x\n")
        let spy = try SpyBuildpack(in: scratch, name: "quiet", compile: "echo start; sleep 3; echo end")
        var options = BuildOptions(
            appDirectory: scratch.url("app"), cacheDirectory: scratch.url("cache"), outputDirectory: scratch.url("out"),
            appName: "quiet")
        options.buildpacks = [spy.path]
        options.keepAliveInterval = .seconds(1)
        options.temporaryDirectory = try scratch.makeDirectory("tmp")
        let console = Console(.buffer)
        _ = try SlugBuilder(options: options, console: console).build()
        let text = console.captured
        let start = try #require(text.range(of: "start\n"))
        let end = try #require(text.range(of: "end\n"))
        let between = text[start.upperBound..<end.lowerBound]
        #expect(between.contains("... still working"), "\(text)")
    }
}
