import Foundation
import SlipwayAppWebhooks
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// What every door (SSH's `receive-pack shell`, the HTTP door's `receive-pack http-backend`) does for a git request,
/// by one piece of code: check the user's access (creating the app on its first push), prepare the bare repository
/// and its hooks, take the app's lock for a push and finish what a killed push left, and run git with an environment
/// built here, supervised until it and its hooks are done.
struct GitDoor {
    var root: SlipwayRoot
    var user: String
    /// Human lines (stderr): app creation, lock waits, recovered releases.
    var console: Console
    var signals: SignalWatcher?
    var environment: [String: String]

    /// Authorizes `request`, prepares the repository and, for a push, holds the app's lock (with recovery before and
    /// after) around `body`, which runs git and returns its status.
    func serve(_ request: GitRequest, locking: Bool, _ body: (AppPaths, AppLock?) throws -> Int32) throws -> Int32 {
        let app = try authorize(request)
        let hooks = try Hooks.locate(environment: environment)
        let deployBranch = (try? AppRegistry(root: root).settings(app.name))?.flatMap(\.deployBranch)
        try Hooks.prepareRepository(app: app, root: root, hooksDirectory: hooks, deployBranch: deployBranch)
        guard request.service == .receivePack, locking else { return try body(app, nil) }
        // The hooks queue webhook events; their deliverer starts once git is done (the door waits for hooks' children).
        defer { DelivererLauncher.start(layout: root.layout, environment: environment) }
        let lock = try AppLock.acquire(
            app, as: AppLock.Holder(user: user, commit: nil), limit: AppLock.waitLimit(environment),
            say: { console.raw("slipway: \($0)") }, shouldStop: { signals?.poll() != nil })
        return try withExtendedLifetime(lock) {
            // Before the push: finish what a killed push left. After it: release what git accepted if its
            // post-receive was killed. Both under the lock, which git and the hooks share (it outlives this
            // process if it is killed).
            try recover(app)
            let status = try body(app, lock)
            try recover(app)
            return status
        }
    }

    /// Runs ``ReleaseRecovery`` for `app` and tells the pusher about a release it made.
    private func recover(_ app: AppPaths) throws {
        let outcome = try ReleaseRecovery.recover(app: app, root: root)
        for version in outcome.released {
            console.raw("-----> Launching... done, v\(version)")
        }
    }

    /// Checks the user's access; the first push to a missing app creates it, owned by the pusher. A denied app and a
    /// missing one get the same message, so the door does not reveal which apps exist.
    func authorize(_ request: GitRequest) throws -> AppPaths {
        let registry = AppRegistry(root: root)
        if let settings = try registry.settings(request.app) {
            guard registry.canAccess(user: user, app: settings) else {
                throw AppRegistry.noAccess(user: user, app: request.app)
            }
            return root.app(request.app)
        }
        guard request.service == .receivePack else { throw AppRegistry.noAccess(user: user, app: request.app) }
        do {
            _ = try registry.create(request.app, owner: user)
            console.raw("slipway: created app \(request.app), owned by \(user)")
        } catch {
            // Another first push created it at the same moment: fall back to the access check.
            guard let settings = try registry.settings(request.app), registry.canAccess(user: user, app: settings)
            else {
                throw AppRegistry.noAccess(user: user, app: request.app)
            }
        }
        return root.app(request.app)
    }

    /// The environment of git and the hooks: nothing of the client's (no GIT_*, LD_PRELOAD, …), only what the hooks
    /// need and the server's own settings (``ServerSetup/passedVariables``).
    func gitEnvironment(app: AppPaths, lock: AppLock?) -> [String: String] {
        var env: [String: String] = [
            "PATH": environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "HOME": environment["HOME"] ?? root.path,
            "LANG": "C.UTF-8",
            "SLIPWAY_ROOT": root.path,
            "SLIPWAY_APP": app.name,
            "SLIPWAY_USER": user,
            // The hooks exec this instead of asking git config where receive-pack is.
            "SLIPWAY_RECEIVE_PACK": currentExecutable(),
        ]
        if lock != nil { env["SLIPWAY_LOCK_HELD"] = "1" }
        // The most one push may send (git's receive.maxInputSize), whatever it updates: branches and tags that are
        // never built, and their history, included.
        env["GIT_CONFIG_COUNT"] = "1"
        env["GIT_CONFIG_KEY_0"] = "receive.maxInputSize"
        env["GIT_CONFIG_VALUE_0"] = "\(Int64(Self.maximumPushMB(environment)) << 20)"
        for key in ServerSetup.passedVariables {
            if let value = environment[key] { env[key] = value }
        }
        return env
    }

    /// The most one push may send, in MB: `SLIPWAY_MAX_PUSH_MB`, default 4096 (the pushed tree's own default).
    static func maximumPushMB(_ environment: [String: String]) -> Int {
        environment["SLIPWAY_MAX_PUSH_MB"].flatMap(Int.init).flatMap { $0 > 0 ? $0 : nil } ?? 4096
    }

    /// The path of git on the door's PATH.
    var gitPath: String { which("git", path: environment["PATH"]) ?? "/usr/bin/git" }

    /// Runs `git <arguments>` for `app` on the caller's stdin with `env`, passing on what it prints (``GitOutput``:
    /// server paths hidden, `stdout` says how git's stdout is read), and supervises it until it and its hooks are
    /// done.
    func runGit(
        _ arguments: [String], app: AppPaths, environment env: [String: String], lock: AppLock?,
        stdout: GitOutput.Stdout
    ) throws -> Int32 {
        // git gets SIGTERM if this process dies (killed, or its session crashed), and its hooks get it when git
        // dies, so a push whose door is gone stops its build and frees the app's lock instead of running on.
        let setpriv = "/usr/bin/setpriv"
        // Orphaned descendants (the hook, once git is gone) are re-parented to this process, so it can wait for them.
        ChildProcess.adoptOrphans()
        // git names files by their absolute paths in its errors, so what it and its hooks say reaches the pusher
        // through this process, which hides the server's folders.
        var output = try GitOutput(redactions: .door(repository: app.repository, root: root.path), stdout: stdout)
        let pid: pid_t
        do {
            defer { output.closeWriteEnds() }
            pid = try ChildProcess.spawn(
                executable: setpriv, arguments: ["--pdeathsig", "TERM", "--", gitPath] + arguments,
                environment: env, stdin: 0, stdout: output.stdoutWriteEnd, stderr: output.stderrWriteEnd,
                inherit: lock.map { [$0.fd] } ?? [])
        } catch {
            output.closeReadEnds()
            throw error
        }
        return supervise(pid, output: &output)
    }

    /// Whether the client hung up: stdout (the SSH channel, or the pipe to the HTTP door) reports an error or a
    /// hang-up.
    static func stdoutClosed() -> Bool {
        var fds = [pollfd(fd: 1, events: 0, revents: 0)]
        return poll(&fds, 1, 0) > 0 && fds[0].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0
    }

    /// Waits for git, passing on what it prints; on a hang-up or a signal, stops git and its hooks, then waits for
    /// every descendant.
    private func supervise(_ pid: pid_t, output: inout GitOutput) -> Int32 {
        defer { output.finish() }
        // Readable once git has exited, so the push ends at once rather than at the next poll timeout.
        var exitFD = ProcessGroup.exitDescriptor(pid)
        defer { if exitFD >= 0 { close(exitFD) } }
        var status: Int32 = 0
        var stopping = false
        var stopDeadline = Date.distantFuture
        while true {
            switch Reaping.reapAny() {
            case .noChildren:
                return status
            case .ended(let reaped, let ended):
                if reaped == pid {
                    status = ended.code
                    if exitFD >= 0 {
                        close(exitFD)
                        exitFD = -1
                    }
                }
                continue
            case .running:
                break
            }
            if !stopping {
                var fds = [pollfd(fd: 1, events: 0, revents: 0)]
                if let signals { fds.append(pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0)) }
                if exitFD >= 0 { fds.append(pollfd(fd: exitFD, events: Int16(POLLIN), revents: 0)) }
                let outputFDs = output.pollDescriptors
                fds += outputFDs
                _ = poll(&fds, nfds_t(fds.count), 100)
                output.pass(ready: Array(fds.suffix(outputFDs.count)))
                let hungUp = fds[0].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0
                if hungUp || signals?.poll() != nil {
                    stopping = true
                    stopDeadline = Date().addingTimeInterval(30)
                    ProcessGroup.signal(pid, SIGTERM)
                    status = hungUp ? 1 : 128 + (signals?.received ?? SIGTERM)
                }
            } else {
                if Date() > stopDeadline { ProcessGroup.signal(pid, SIGKILL) }
                var fds = output.pollDescriptors
                _ = poll(&fds, nfds_t(fds.count), 50)
                output.pass(ready: fds)
            }
        }
    }
}

/// The absolute path of `program` on `path`.
func which(_ program: String, path: String?) -> String? {
    for dir in (path ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(dir)/\(program)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}
