import Foundation
import SlipwayTestSupport
import Testing

/// Each language example pushed over SSH to a door whose builds take runtimes from the test runtime store
/// (`SLIPWAY_RUNTIME_STORE`, the server's setting), answering through the router of `slugrunner watch` on the local
/// engine.
@Suite(.serialized) struct LanguagePushTests {
    /// The examples and what their page starts with (a JVM's page goes on with the heap the dyno gave it).
    static let examples: [(example: String, languages: [String], page: String)] = [
        ("go-app", ["go"], "Hello from Slipway! (Go)\n"),
        ("ruby-app", ["ruby"], "Hello from Slipway! (Ruby 3.1.2)\n"),
        ("java-app", ["java"], "Hello from Slipway on Java!\nJava 17.0.15, max heap "),
        ("clojure-app", ["java"], "Hello from Slipway on Clojure!\nClojure 1.11.1 on Java 17.0.15, max heap "),
        ("php-app", ["php"], "Hello from Slipway on PHP!\nPHP 8.2.36 (fpm-fcgi)\n"),
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
        var answer = ""
        #expect(
            waitUntil(seconds: 180) {
                answer =
                    (try? runTool(["/usr/bin/curl", "-sf", "--max-time", "5", "http://myapp.localhost:\(router)/"]))?
                    .stdout ?? ""
                return answer.hasPrefix(page)
            }, "\(PushToRunnerTests.read(log))\n--- app log:\n\(PushToRunnerTests.read("\(h.root)/logs/myapp.log"))")
        // A JVM's heap is fitted to the dyno's memory (512 MB, limited when the runner is root): -Xmx307m, which the
        // JVM reports rounded up to its own granularity (308 MB).
        if getuid() == 0, let heap = answer.split(separator: " ").drop(while: { $0 != "heap" }).dropFirst().first {
            #expect((Int(heap) ?? .max) <= 512 * 3 / 5 + 8, "\(answer)")
        }
        #expect(FileManager.default.fileExists(atPath: "\(h.root)/runtimes"), "the door's shared runtime cache")
    }
}
