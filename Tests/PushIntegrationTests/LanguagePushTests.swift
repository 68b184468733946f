import Foundation
import SlipwayTestSupport
import Testing

/// Each language example pushed over SSH to a door whose builds take runtimes from the test runtime store
/// (`SLIPWAY_RUNTIME_STORE`, the server's setting), answering through the router of `slugrunner watch` on the local
/// engine.
@Suite(.serialized) struct LanguagePushTests {
    /// The examples and what their page says.
    static let examples: [(example: String, languages: [String], page: String)] = [
        ("go-app", ["go"], "Hello from Slipway! (Go)\n"),
        ("ruby-app", ["ruby"], "Hello from Slipway! (Ruby 3.1.2)\n"),
    ]

    @Test(arguments: examples.indices) func theExampleAnswersThroughTheRouter(_ index: Int) throws {
        let (example, languages, page) = Self.examples[index]
        let store = try TestRuntimeStore.url(languages)
        let h = try PushHarness("push-\(example)", sessionEnvironment: ["SLIPWAY_RUNTIME_STORE": store])
        let repo = try makeCommittedCopy(in: h.scratch, "src", of: TestPaths.example(example))
        let log = h.scratch.url("watch.log")
        let router = try freeLoopbackPort()
        let watcher = try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", h.root, "--grace", "5", "--interval", "0.2",
                "--router", "127.0.0.1:\(router)",
            ],
            stdout: .file(log), stderr: .file(log))
        defer { watcher.terminate(grace: 30) }

        let pushed = try h.push(repo)
        #expect(pushed.status == 0, "\(pushed.output)")
        #expect(pushed.output.contains("Released v1"), "\(pushed.output)")
        #expect(
            waitUntil(seconds: 180) {
                (try? runTool(["/usr/bin/curl", "-sf", "--max-time", "5", "http://myapp.localhost:\(router)/"]))?
                    .stdout == page
            }, "\(PushToRunnerTests.read(log))\n--- app log:\n\(PushToRunnerTests.read("\(h.root)/logs/myapp.log"))")
        #expect(FileManager.default.fileExists(atPath: "\(h.root)/runtimes"), "the door's shared runtime cache")
    }
}
