import Foundation
import SlipwayTestSupport
import Testing

@testable import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// What a run leaves behind: nothing (a buildpack's background job dies with its phase), or, for a program run to
/// start a daemon (`redis-server` with `daemonize yes`), the daemon, even when it has not left the group yet.
@Suite struct ChildProcessDaemonTests {
    /// Runs a shell that starts `sleep` in the background (still in the run's group) and exits; returns its pid.
    private func runLeavingABackgroundJob(startsDaemon: Bool) throws -> pid_t {
        let scratch = try ScratchDirectory("child-daemon")
        var child = ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "sleep 60 >/dev/null 2>&1 & echo $! > \(scratch.path)/pid"],
            environment: ["PATH": "/usr/bin:/bin"], stdout: .capture(limit: 1024))
        child.startsDaemon = startsDaemon
        #expect(try child.run().status.succeeded)
        let text = try String(contentsOfFile: "\(scratch.path)/pid", encoding: .utf8)
        return try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// Whether `pid` runs (a zombie waiting for its parent to reap it does not).
    private func runs(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return !stat[close...].dropFirst(2).hasPrefix("Z")
    }

    @Test func aBackgroundJobDiesWithItsRun() throws {
        let pid = try runLeavingABackgroundJob(startsDaemon: false)
        #expect(waitUntil(seconds: 10) { !runs(pid) })
    }

    @Test func aDaemonItWasRunToStartKeepsRunning() throws {
        let pid = try runLeavingABackgroundJob(startsDaemon: true)
        defer { kill(pid, SIGKILL) }
        #expect(runs(pid), "the daemon was killed with the program that started it")
    }
}
