import Foundation
public import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `slugrunner run`: one process of a release in the foreground, like `heroku local` / `heroku run`. The slug is
/// checked and unpacked into a fresh folder (removed afterwards), the process gets the release's environment, the
/// terminal, and its exit status is returned as the run's own.
public struct ForegroundRun {
    /// What to run.
    public struct Options: Sendable {
        /// A spool entry's folder, a `release.json` (with its slug next to it), or an app name (its current release,
        /// as `slugrunner watch` runs it).
        public var target: String
        /// The process type to run; `web` when neither it nor a command is given.
        public var processType: String?
        /// A one-off command instead of a process type: its words are joined with spaces and run by `bash -c`, as
        /// `heroku run` does.
        public var command: [String]
        /// `PORT`; a free port on `address` when nil.
        public var port: UInt16?
        /// Where the free port is looked for.
        public var address: ListenAddress
        /// The stacks this machine provides.
        public var stacks: [String]

        public init(
            target: String, processType: String? = nil, command: [String] = [], port: UInt16? = nil,
            address: ListenAddress = .loopback, stacks: [String] = [ReleaseUnpacker.defaultStack]
        ) {
            self.target = target
            self.processType = processType
            self.command = command
            self.port = port
            self.address = address
            self.stacks = stacks
        }
    }

    public let root: RunnerRoot
    public let options: Options
    /// Where the run's own lines go (stderr), so that stdout is the process's alone.
    let say: (String) -> Void

    public init(root: RunnerRoot, options: Options, say: @escaping (String) -> Void) {
        self.root = root
        self.options = options
        self.say = say
    }

    /// Checks, unpacks and runs; returns the process's exit status (128 + N when killed by signal N).
    public func run() throws -> Int32 {
        let inbox = try SignalWatcher.forRunner([SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD])
        let path = try manifestPath()
        var unpacker = ReleaseUnpacker(stacks: options.stacks)
        // A plain release.json (slugc build's) is the operator's own; anything else must be the door's, signed.
        if (try? Files.read(path)).flatMap({ try? ReleaseManifest.decode($0) }) == nil {
            unpacker.key = try RunnerReleaseKey.loadForRunner(file: nil, root: root.layout)
        }
        let (manifest, slugPath) = try unpacker.verify(manifestAt: path)
        let (dyno, command) = try chooseCommand(manifest)
        let port = try options.port ?? options.address.freePort()

        let scratch = try Self.makeScratchFolder(app: manifest.app)
        defer { try? FileSystem.removeTree(scratch) }
        try unpacker.unpackSlug(slugPath, into: scratch)
        let launch = ProcessLaunch(
            home: "\(scratch)/app", command: command, configVars: manifest.configVars, port: port, dyno: dyno)
        for name in launch.skippedVariables {
            say("slugrunner: config var \(name) left out: its name or value cannot be in an environment")
        }
        let version = manifest.version.map { " v\($0)" } ?? ""
        say("slugrunner: running \(dyno) of \(manifest.app)\(version) on port \(port): \(command)")

        // Ctrl-Z would stop the process with no shell to resume it (this is not a shell's job table): ignore it,
        // as `heroku run` does; the process inherits that.
        signal(SIGTSTP, SIG_IGN)
        let pid = try Spawner.start(launch, stdio: .inherit, grouping: .newGroup)
        let terminal = Terminal.handOver(to: pid)
        defer { terminal?.takeBack() }
        return wait(for: pid, inbox: inbox).code
    }

    /// The release.json the target names.
    func manifestPath() throws -> String {
        let target = options.target
        if Files.isDirectory(target) { return "\(target)/\(Spool.manifestFileName)" }
        if Files.exists(target) { return target }
        if AppName.isValid(target) {
            guard let entry = try Files.readLine(root.current(target)), !entry.isEmpty else {
                throw RunnerError(
                    .notFound,
                    "slugrunner: \(target) has no current release under \(root.path) (is `slugrunner watch` running "
                        + "it?); give a spool entry or a release.json instead")
            }
            return "\(root.spoolDirectory)/cur/\(entry)/\(Spool.manifestFileName)"
        }
        throw RunnerError(
            .notFound, "slugrunner: \(target) is neither a spool entry, a release.json nor an app name; check the path")
    }

    /// The dyno name and the command: the one-off command as `run.1`, else the process type's command.
    func chooseCommand(_ manifest: ReleaseManifest) throws -> (dyno: String, command: String) {
        if !options.command.isEmpty { return ("run.1", options.command.joined(separator: " ")) }
        let type = options.processType ?? ProcessType.web
        guard let command = manifest.processTypes[type] else {
            let known = manifest.processTypes.keys.sorted()
            throw RunnerError(
                .notFound,
                "slugrunner: \(manifest.app) declares no \(type) process type ("
                    + (known.isEmpty ? "it declares none" : "it has \(known.joined(separator: ", "))")
                    + "); name one of them or give a command after --")
        }
        return ("\(type).1", command)
    }

    /// Forwards stop signals to the process group until the process ends; then stops what it left behind.
    private func wait(for pid: pid_t, inbox: SignalWatcher) -> ExitStatus {
        var descriptor = pollfd(fd: inbox.fd, events: Int16(POLLIN), revents: 0)
        while true {
            _ = poll(&descriptor, 1, 500)
            for signal in inbox.drain() where signal != SIGCHLD {
                ProcessGroup.signal(pid, signal)
            }
            if let status = Reaping.reapAllEnded().first(where: { $0.pid == pid })?.status {
                // The leader is gone; anything left in its group (a daemon it started) goes too.
                if ProcessGroup.exists(pid) {
                    ProcessGroup.signal(pid, SIGTERM)
                    for _ in 0..<20 where ProcessGroup.exists(pid) {
                        usleep(100_000)
                        _ = Reaping.reapAllEnded()
                    }
                    ProcessGroup.signal(pid, SIGKILL)
                }
                return status
            }
        }
    }

    /// A fresh folder for the unpacked slug, under `$TMPDIR` (else `/tmp`).
    static func makeScratchFolder(app: String) throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/slugrunner-\(app)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw RunnerError.system("mkdtemp", base, errno: errno) }
        return String(cString: made)
    }
}

/// The controlling terminal, given to a foreground process group as a shell does, so that the process reads
/// the keyboard and Ctrl-C reaches its whole group directly.
struct Terminal {
    private let ownGroup: pid_t

    /// Makes `pgid` the terminal's foreground group when stdin is this process's terminal and it is in the
    /// foreground; nil (nothing changed) otherwise.
    static func handOver(to pgid: pid_t) -> Terminal? {
        guard isatty(0) == 1, tcgetpgrp(0) == getpgrp() else { return nil }
        let terminal = Terminal(ownGroup: getpgrp())
        withTerminalStopBlocked { _ = tcsetpgrp(0, pgid) }
        // The child may have touched the terminal before it was its own and been stopped for it: wake it up.
        ProcessGroup.signal(pgid, SIGCONT)
        return terminal
    }

    /// Gives the terminal back to this process's group.
    func takeBack() {
        withTerminalStopBlocked { _ = tcsetpgrp(0, ownGroup) }
    }

    /// tcsetpgrp from a background group raises SIGTTOU, which would stop us; block it meanwhile.
    private static func withTerminalStopBlocked(_ body: () -> Void) {
        var mask = sigset_t()
        var previous = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGTTOU)
        pthread_sigmask(SIG_BLOCK, &mask, &previous)
        body()
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    private func withTerminalStopBlocked(_ body: () -> Void) { Self.withTerminalStopBlocked(body) }
}
