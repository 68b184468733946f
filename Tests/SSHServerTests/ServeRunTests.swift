import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `run` through the built-in SSH server: the session's stdio are pipes from `receive-pack serve`, which the door
/// hands to the runner's real ``ControlSocket`` like OpenSSH's; the dyno's status becomes the session's.
@Suite struct ServeRunTests {
    @Test func runIsAttachedAndItsStatusIsTheSessions() throws {
        let h = try ServerHarness("serve-run")
        let created = try runTool([
            TestPaths.product("receive-pack"), "apps", "create", "myapp", "--owner", "alice", "--root", h.root,
        ])
        #expect(created.status == 0, "\(created.output)")
        let runner = try OneOffTestRunner(root: h.root)
        defer { runner.stop() }

        let result = try runTool(
            sshArguments(key: h.key("alice"), port: h.port) + [
                "git@127.0.0.1", "run myapp -- 'read line; echo \"got $line\"; echo err >&2; exit 7'",
            ],
            stdin: "hello\n", timeout: 60)
        #expect(result.status == 7, "\(result.output)")
        #expect(result.stdout == "got hello\n")
        #expect(
            result.stderr.contains("err\n") && result.stderr.contains("on myapp... up, run.1\n"), "\(result.stderr)")

        // The client goes away: the server stops the door, and the runner the dyno.
        let session = try StreamingProcess(
            sshArguments(key: h.key("alice"), port: h.port) + ["git@127.0.0.1", "run myapp -- sleep 300"])
        #expect(waitUntil(seconds: 30) { runner.records.count == 2 })
        session.send(SIGKILL)
        _ = session.wait(timeout: 30)
        #expect(waitUntil(seconds: 30) { runner.records.last?.killedForClosedDoor == true })
    }
}
