import Foundation
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Deploys through the router lose no request: pushes, config changes and a rollback, one after the other, while a
/// client sends requests without pause (docs/runner.md, "Dynos: isolated, limited, routed"). The app and the client
/// are the router benchmark's (scripts/lib/versioned-server.py, scripts/load-client).
@Suite(.serialized) struct ZeroDowntimeTests {
    @Test func tenDeploysInARowLoseNoRequest() throws {
        let h = try PushHarness("zero-downtime")
        let repo = try h.makeApp(files: [
            "Procfile": "web: python3 server.py\n",
            "server.py": try String(
                contentsOfFile: "\(TestPaths.repositoryRoot)/scripts/lib/versioned-server.py", encoding: .utf8),
            "version.txt": "version-0\n",
        ])
        let router = try freeLoopbackPort()
        let log = h.scratch.url("watch.log")
        let watcher = try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", h.root, "--grace", "10", "--interval", "0.2",
                "--router", "127.0.0.1:\(router)",
            ],
            stdout: .file(log), stderr: .file(log))
        defer { watcher.terminate(grace: 30) }

        let first = try h.push(repo)
        #expect(first.status == 0, "\(first.output)")
        try #require(Self.serves("version-0 -", router: router), "\(PushToRunnerTests.read(log))")

        let results = h.scratch.url("load.json")
        let client = try TestProcess(
            [
                "/usr/bin/python3", "\(TestPaths.repositoryRoot)/scripts/load-client", "--router",
                "127.0.0.1:\(router)", "--host", "myapp.localhost", "--no-resend",
            ],
            stdout: .file(results), stderr: .file(h.scratch.url("load.err")))
        defer { client.terminate() }

        // Six pushes, three config changes, one rollback: each waits until the router serves the new release.
        var expected: [String] = []
        for deploy in 1...6 {
            try h.commit(repo, "version.txt", "version-\(deploy)\n")
            let push = try h.push(repo)
            #expect(push.status == 0, "\(push.output)")
            expected.append("version-\(deploy) -")
            try #require(Self.serves(expected.last ?? "", router: router), "\(PushToRunnerTests.read(log))")
        }
        for mark in ["a", "b", "c"] {
            let set = try h.ssh("config:set myapp MARK=\(mark)")
            #expect(set.status == 0, "\(set.output)")
            try #require(Self.serves("version-6 \(mark)", router: router), "\(PushToRunnerTests.read(log))")
        }
        let rollback = try h.ssh("rollback myapp v1")
        #expect(rollback.status == 0, "\(rollback.output)")
        try #require(Self.serves("version-0 -", router: router), "\(PushToRunnerTests.read(log))")

        client.signal(SIGTERM)
        #expect(client.wait(timeout: 60) == 0)
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results)))
                as? [String: Any], "\(PushToRunnerTests.read(results))")
        let requests = report["requests"] as? Int ?? 0
        #expect(requests > 100, "the client kept sending: \(report)")
        #expect(report["failed"] as? Int == 0, "no request failed: \(report)")
        // Each replaced release got SIGTERM in its sandbox and finished on its own (the sandbox did not kill it).
        let appLog = PushToRunnerTests.read("\(h.root)/logs/myapp.log")
        #expect(appLog.contains("slugrunner[web.1]: Process of v1 exited with status 0"), "\(appLog)")
        #expect(!appLog.contains("exited with SIGTERM"), "\(appLog)")
    }

    /// Waits until the router answers `body` for myapp.
    static func serves(_ body: String, router: UInt16) -> Bool {
        waitUntil(seconds: 120) {
            let result = try? runTool(
                [
                    "/usr/bin/curl", "-s", "--max-time", "5", "-H", "Host: myapp.localhost",
                    "http://127.0.0.1:\(router)/",
                ], timeout: 10)
            return result?.stdout == body + "\n"
        }
    }
}
