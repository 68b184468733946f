public import Foundation

/// A web process started from an unpacked slug the Heroku way: `HOME` is the app folder, `.profile.d/*.sh` are
/// sourced in order, then the command runs under bash. It runs in a session of its own, so ``stop()`` ends every
/// process it started (npm's `sh -c` does not hand over to node, so killing one pid is not enough).
public final class AppProcess: @unchecked Sendable {
    public let port: UInt16
    private let run: StreamingProcess
    private let pidFile: String

    /// Starts `command` in `appDirectory` with `PORT` set to a free loopback port and `environment` added.
    public init(
        appDirectory: String, command: String, environment extra: [String: String] = [:], scratch: ScratchDirectory
    ) throws {
        port = try freeLoopbackPort()
        pidFile = scratch.url("app-\(port).pid")
        let script = """
            echo $$ > "$SLIPWAY_TEST_PIDFILE"
            cd "$HOME"
            for f in .profile.d/*.sh; do [ -e "$f" ] && . "$f"; done
            exec bash -c "$SLIPWAY_TEST_COMMAND"
            """
        var env = [
            "HOME": appDirectory, "PORT": "\(port)",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "SLIPWAY_TEST_PIDFILE": pidFile, "SLIPWAY_TEST_COMMAND": command, "LANG": "C.UTF-8",
        ]
        env.merge(extra) { _, new in new }
        run = try StreamingProcess(
            ["/usr/bin/setsid", "/bin/bash", "-c", script], environment: env, directory: appDirectory)
    }

    /// Everything the process printed.
    public var output: String { run.text }

    /// GETs `path` on the app's port, retrying until it answers or `timeout` passes; nil if it never answered.
    public func get(_ path: String = "/", timeout: TimeInterval = 60) throws -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let result = try runTool(
                ["/usr/bin/curl", "-sf", "--max-time", "5", "http://127.0.0.1:\(port)\(path)"], timeout: 10)
            if result.status == 0 { return result.stdout }
            usleep(200_000)
        }
        return nil
    }

    /// Stops every process of the app's session: SIGTERM, then SIGKILL after a grace period.
    public func stop() {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let leader = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        else {
            run.send(SIGKILL)
            return
        }
        kill(-leader, SIGTERM)
        for _ in 0..<50 where kill(-leader, 0) == 0 { usleep(100_000) }
        kill(-leader, SIGKILL)
        run.wait(timeout: 10)
    }

    deinit { stop() }
}
