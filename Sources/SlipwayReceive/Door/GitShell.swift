public import Foundation
public import SlipwayDoorRecords
import SlipwaySpool
public import SlipwaySystem

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
        return Array(
            UnsafeBufferPointer(
                start: UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self), count: strlen(value)))
    }

    /// Serves one SSH command; returns the exit status for the client.
    public func run(originalCommand: String?) -> Int32 {
        // Whatever goes wrong, the client learns nothing of the server's folders.
        console.redact(root.path)
        guard let originalCommand, !originalCommand.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\n" }) else {
            // An interactive login.
            console.raw(
                "slipway: hi \(TerminalText.printable(user)), there is no shell here: git push and git clone work, "
                    + "and ssh <host> help lists the other commands")
            return 1
        }
        if !SSHCommand.isGitCommand(originalCommand) { return serveCommand(originalCommand) }
        do {
            let request = try SSHCommand.parse(originalCommand)
            let door = GitDoor(root: root, user: user, console: console, signals: signals, environment: environment)
            return try door.serve(request, locking: true) { app, lock in
                let subcommand = request.service == .receivePack ? "receive-pack" : "upload-pack"
                // upload-pack's stdout is the pack the client asked for (raw, without side-band, for old clients):
                // it goes to the client as it is.
                return try door.runGit(
                    [subcommand, app.repository], app: app, environment: door.gitEnvironment(app: app, lock: lock),
                    lock: lock, stdout: request.service == .receivePack ? .pktLines : .direct)
            }
        } catch let error as DoorError {
            for line in error.lines { console.raw("slipway: \(line)") }
            return 1
        } catch {
            console.raw("slipway: the push failed on the server: \(error)")
            return 1
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
            root: root, actor: .user(user), output: output, console: console, signals: signals, environment: environment
        )
        // A user who gives up waiting (Ctrl-C, a dropped connection) must not have the change made later anyway.
        context.connectionClosed = { GitDoor.stdoutClosed() }
        return ManagementCommands.run(words, context: context)
    }
}
