import CProcessShims
import Foundation
import SlipwaySystem
import SlugCompiler

#if canImport(Glibc)
    import Glibc
#endif

/// The SSH door: what runs for every SSH connection (OpenSSH's forced command `receive-pack shell`, or the built-in
/// server). It accepts `git push` and `git clone` of an app the user may access, and the management commands of
/// ``ManagementCommands`` (`config:set myapp KEY=VALUE`, `releases myapp`, …), and nothing else.
///
/// A command whose first word starts with `git-` goes to the strict git parser (``SSHCommand``); anything else is
/// split into words with a shell's quoting rules (``CommandWords``, no shell is run) and looked up in the table.
///
/// Flow, as gitlab-shell's: the command (`SSH_ORIGINAL_COMMAND`) → parse → authorize (creating the app on its first
/// push) → prepare the bare repository → run the real `git receive-pack`/`git upload-pack` on the caller's stdio.
/// While git runs, the door watches the connection: if the pusher hangs up, it stops git and the build (SIGTERM to
/// their process group) and waits for every descendant, so no build, lock or half-published release outlives the
/// push.
public struct GitShell {
    public var root: SlipwayRoot
    public var user: String
    /// Human lines: stderr. Stdout belongs to git's protocol.
    public var console: Console
    /// The result of a management command (a listing, a value): stdout. Git commands never write here themselves.
    public var output: Console
    public var signals: SignalWatcher?
    public var environment: [String: String]

    public init(
        root: SlipwayRoot, user: String, console: Console, output: Console = Console(.fileDescriptor(1), colors: false),
        signals: SignalWatcher?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.root = root
        self.user = user
        self.console = console
        self.output = output
        self.signals = signals
        self.environment = environment
    }

    /// Serves one SSH command given as raw bytes (`SSH_ORIGINAL_COMMAND` as the kernel holds it); a command that is
    /// not UTF-8 is refused, since no app name, key or value could hold it.
    public func run(originalCommandBytes bytes: [UInt8]?) -> Int32 {
        guard let bytes else { return run(originalCommand: nil) }
        guard let command = String(validating: bytes, as: UTF8.self) else {
            console.raw("slipway: the command is not valid UTF-8: send names and values as UTF-8 text")
            return 1
        }
        return run(originalCommand: command)
    }

    /// `$SSH_ORIGINAL_COMMAND`'s bytes, nil when it is not set (an interactive login).
    public static func originalCommandFromEnvironment() -> [UInt8]? {
        guard let value = getenv("SSH_ORIGINAL_COMMAND") else { return nil }
        return Array(UnsafeBufferPointer(start: UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self), count: strlen(value)))
    }

    /// Serves one SSH command; returns the exit status for the client.
    public func run(originalCommand: String?) -> Int32 {
        // Whatever goes wrong, the client learns nothing of the server's folders.
        console.redact(root.path)
        guard let originalCommand, !originalCommand.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\n" }) else {
            // An interactive login.
            console.raw(
                "slipway: hi \(DoorError.printable(user)), there is no shell here: git push and git clone work, "
                    + "and ssh <host> help lists the other commands")
            return 1
        }
        if !SSHCommand.isGitCommand(originalCommand) { return serveCommand(originalCommand) }
        do {
            let request = try SSHCommand.parse(originalCommand)
            let app = try authorize(request)
            let hooks = try Hooks.locate(environment: environment)
            let deployBranch = (try? AppRegistry(root: root).settings(app.name))?.flatMap(\.deployBranch)
            try Hooks.prepareRepository(app: app, root: root, hooksDirectory: hooks, deployBranch: deployBranch)
            guard request.service == .receivePack else { return try runGit(request.service, app: app, lock: nil) }
            let lock = try AppLock.acquire(
                app, as: AppLock.Holder(user: user, commit: nil), limit: AppLock.waitLimit(environment),
                say: { console.raw("slipway: \($0)") }, shouldStop: { signals?.poll() != nil })
            return try withExtendedLifetime(lock) {
                // Before the push: finish what a killed push left. After it: release what git accepted if its
                // post-receive was killed. Both under the lock, which git and the hooks share (it outlives this
                // process if it is killed).
                try recover(app)
                let status = try runGit(request.service, app: app, lock: lock)
                try recover(app)
                return status
            }
        } catch let error as DoorError {
            console.raw(error.message)
            return 1
        } catch let error as PushError {
            for line in error.lines { console.raw("slipway: \(line)") }
            return 1
        } catch {
            console.raw("slipway: the push failed on the server: \(error)")
            return 1
        }
    }

    /// Runs ``ReleaseRecovery`` for `app` and tells the pusher about a release it made.
    private func recover(_ app: AppPaths) throws {
        let outcome = try ReleaseRecovery.recover(app: app, root: root)
        for version in outcome.released {
            console.raw("-----> Launching... done, v\(version)")
        }
    }

    /// Runs a management command as this user (access-checked for each app).
    private func serveCommand(_ command: String) -> Int32 {
        let words: [String]
        do {
            words = try CommandWords.split(command)
        } catch let error as DoorError {
            console.raw(error.message)
            return 1
        } catch {
            console.raw("slipway: \(error)")
            return 1
        }
        var context = CommandContext(
            root: root, actor: .user(user), output: output, console: console, signals: signals, environment: environment)
        // A user who gives up waiting (Ctrl-C, a dropped connection) must not have the change made later anyway.
        context.connectionClosed = { Self.stdoutClosed() }
        return ManagementCommands.run(words, context: context)
    }

    /// Checks the user's access; the first push to a missing app creates it, owned by the pusher. A denied app and a
    /// missing one get the same message, so the door does not reveal which apps exist.
    private func authorize(_ request: GitRequest) throws -> AppPaths {
        let registry = AppRegistry(root: root)
        if let settings = try registry.settings(request.app) {
            guard registry.canAccess(user: user, app: settings) else { throw AppRegistry.noAccess(user: user, app: request.app) }
            return root.app(request.app)
        }
        guard request.service == .receivePack else { throw AppRegistry.noAccess(user: user, app: request.app) }
        do {
            _ = try registry.create(request.app, owner: user)
            console.raw("slipway: created app \(request.app), owned by \(user)")
        } catch {
            // Another first push created it at the same moment: fall back to the access check.
            guard let settings = try registry.settings(request.app), registry.canAccess(user: user, app: settings) else {
                throw AppRegistry.noAccess(user: user, app: request.app)
            }
        }
        return root.app(request.app)
    }

    /// Runs git on the repository with the caller's stdio and supervises it until it and its hooks are done.
    private func runGit(_ service: GitService, app: AppPaths, lock: AppLock?) throws -> Int32 {
        let gitPath = which("git", path: environment["PATH"]) ?? "/usr/bin/git"
        // git gets SIGTERM if this process dies (killed, or its session crashed), and its hooks get it when git
        // dies, so a push whose door is gone stops its build and frees the app's lock instead of running on.
        let setpriv = "/usr/bin/setpriv"
        // Nothing of the client's environment reaches git or the hooks (no GIT_*, LD_PRELOAD, …): only what the
        // hooks need.
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
        for key in ServerSetup.passedVariables {
            if let value = environment[key] { env[key] = value }
        }
        let subcommand = service == .receivePack ? "receive-pack" : "upload-pack"
        // Orphaned descendants (the hook, once git is gone) are re-parented to this process, so it can wait for them.
        _ = slipway_set_child_subreaper()
        // git names files by their absolute paths in its errors, so what it and its hooks say reaches the pusher
        // through this process, which hides the server's folders. upload-pack's stdout is the pack the client asked
        // for (raw, without side-band, for old clients) and goes to it directly.
        var output = try GitOutput(
            redactions: .door(repository: app.repository, root: root.path), filterStdout: service == .receivePack)
        let pid: pid_t
        do {
            defer { output.closeWriteEnds() }
            pid = try ChildProcess.spawn(
                executable: setpriv, arguments: ["--pdeathsig", "TERM", "--", gitPath, subcommand, app.repository],
                environment: env, stdin: 0, stdout: output.stdoutWriteEnd, stderr: output.stderrWriteEnd,
                inherit: lock.map { [$0.fd] } ?? [])
        } catch {
            output.closeReadEnds()
            throw error
        }
        return supervise(pid, output: &output)
    }

    /// Whether the client hung up: stdout, the SSH channel, reports an error or a hang-up.
    static func stdoutClosed() -> Bool {
        var fds = [pollfd(fd: 1, events: 0, revents: 0)]
        return poll(&fds, 1, 0) > 0 && fds[0].revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0
    }

    /// Waits for git, passing on what it prints; on a hang-up or a signal, stops git and its hooks, then waits for
    /// every descendant.
    private func supervise(_ pid: pid_t, output: inout GitOutput) -> Int32 {
        defer { output.finish() }
        // Readable once git has exited, so the push ends at once rather than at the next poll timeout.
        var exitFD = slipway_pidfd_open(pid)
        defer { if exitFD >= 0 { close(exitFD) } }
        var status: Int32 = 0
        var stopping = false
        var stopDeadline = Date.distantFuture
        while true {
            var raw: Int32 = 0
            let reaped = waitpid(-1, &raw, WNOHANG)
            if reaped == pid {
                status = decode(raw)
                if exitFD >= 0 {
                    close(exitFD)
                    exitFD = -1
                }
            }
            if reaped < 0 && errno == ECHILD { break }
            if reaped > 0 { continue }
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
                    kill(-pid, SIGTERM)
                    status = hungUp ? 1 : 128 + (signals?.received ?? SIGTERM)
                }
            } else {
                if Date() > stopDeadline { kill(-pid, SIGKILL) }
                var fds = output.pollDescriptors
                _ = poll(&fds, nfds_t(fds.count), 50)
                output.pass(ready: fds)
            }
        }
        return status
    }

    private func decode(_ raw: Int32) -> Int32 { ExitStatus(waitStatus: raw).code }
}

/// The absolute path of `program` on `path`.
func which(_ program: String, path: String?) -> String? {
    for dir in (path ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(dir)/\(program)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}
