import Foundation
import SlipwayTestSupport
import Testing

/// Each language example (``LanguagePushTests/examples``) pushed to a door building with the test runtime store and
/// deployed by `slugrunner watch --engine swarm` on the two-node swarm (``PrivateSwarm``): the slugs are built on
/// this machine and run in the stack image, which has no Go, Ruby, Java or PHP, so each answers only because its slug
/// carries what it needs.
@Suite(.serialized) struct LanguageSwarmTests {
    @Test func eachLanguageExampleAnswersThroughTheRouterOnTheSwarm() throws {
        let examples = LanguagePushTests.examples
        let store = try TestRuntimeStore.url(Array(Set(examples.flatMap(\.languages))).sorted())
        let scratch = try ScratchDirectory("swarm-languages")
        let swarm = try PrivateSwarm(directory: try scratch.makeDirectory("nodes"))
        defer { swarm.stop() }
        let b = try BucketHarness(
            "swarm-languages", weedAddress: swarm.hostAddress, sessionEnvironment: ["SLIPWAY_RUNTIME_STORE": store])
        let h = b.push
        let router = try freeLoopbackPort()
        let log = h.scratch.url("watch.log")
        let watcher = try b.startSwarmRunner(swarm, router: router, log: log)
        defer { watcher.terminate(grace: 30) }

        for (example, _, page) in examples {
            let repo = try makeCommittedCopy(in: h.scratch, "src-\(example)", of: TestPaths.example(example))
            let pushed = try h.push(repo, app: example)
            #expect(pushed.status == 0, "\(example): \(pushed.output)")
            let answered = waitUntil(seconds: 240) {
                (try? runTool(["/usr/bin/curl", "-sf", "--max-time", "5", "http://\(example).localhost:\(router)/"]))?
                    .stdout.hasPrefix(page) ?? false
            }
            #expect(
                answered,
                "\(example) on the swarm: \(PushToRunnerTests.read(log))\n--- app log:\n\(PushToRunnerTests.read("\(h.root)/logs/\(example).log"))"
            )
        }
    }
}
