import CProcessShims
public import Glibc

/// Starting a program: the one `posix_spawn` of the project (and, for a child that must be in its control groups
/// before it runs anything, the one fork: ``joining``). Every child gets an explicit argument array and
/// environment (nothing of the caller's leaks in, and no shell runs), the default signal mask and dispositions, a
/// process group or session of its own (one `kill(-pid)` reaches everything it starts), and no descriptor above its
/// standard streams but those it is handed on purpose.
///
/// (Kept over swift-subprocess: it offers neither a new session with job-control signals reset, nor descriptors
/// handed on as 3, 4, … for a lock that must outlive the caller, nor closefrom, and its async API does not fit the
/// synchronous supervisors built on pidfd and signalfd here.)
public struct Spawn: Sendable {
    /// What a standard stream of the child is.
    public enum Stream: Sendable, Equatable {
        /// The caller's own descriptor of the same number.
        case inherit
        /// `/dev/null` (read for stdin, written otherwise).
        case null
        /// A descriptor of the caller, duplicated onto the stream.
        case descriptor(Int32)
        /// A file opened for appending (created with mode 0644 if missing).
        case appending(String)
    }

    /// Which group the child leads.
    public enum Group: Sendable, Equatable {
        /// None: it stays in the caller's process group (test helpers).
        case callers
        /// A new process group in the caller's session (so it can be given the terminal).
        case newGroup
        /// A new session (`setsid`): no controlling terminal, its own process group.
        case newSession
    }

    /// Why a program could not be started: its path and the `errno` of `posix_spawn`.
    public struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        public var path: String
        public var errno: Int32

        public var description: String { "cannot start \(path): \(String(cString: strerror(errno)))" }
    }

    public var executable: String
    /// The arguments after the program's name (`argv[1…]`); `argv[0]` is ``executable``.
    public var arguments: [String]
    public var environment: [String: String]
    /// The working folder; nil keeps the caller's.
    public var directory: String?
    public var stdin: Stream = .null
    public var stdout: Stream = .inherit
    public var stderr: Stream = .inherit
    /// Further descriptors of the caller the child gets as 3, 4, … (the door hands git the app's lock this way).
    public var extraDescriptors: [Int32] = []
    public var group: Group = .newGroup
    /// Whether SIGTTIN, SIGTTOU and SIGTSTP go back to their defaults. A foreground child sharing the caller's
    /// terminal keeps them as the caller set them (ignored, so Ctrl-Z cannot leave a stopped process behind).
    public var resetJobControlSignals = true
    /// `cgroup.procs` files of control groups the child joins before it runs anything (a dyno's memory and process
    /// limits then hold for everything it starts). Empty: `posix_spawn`; else a fork whose child joins, then execs.
    public var joining: [String] = []

    public init(executable: String, arguments: [String] = [], environment: [String: String], directory: String? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.directory = directory
    }

    /// Starts the program; returns its pid, which is also its process group id. The caller reaps it (``Reaping``).
    /// The child counts as supervised until then: a subreaper's ``ChildProcess`` never takes it for an orphan.
    public func start() throws(Failure) -> Glibc.pid_t {
        try SupervisedChildren.shared.starting { () throws(Failure) in try startChild() }
    }

    private func startChild() throws(Failure) -> Glibc.pid_t {
        if !joining.isEmpty { return try startJoining() }
        // Copies above every target number first, so that dup2 never meets a descriptor already in place.
        let copies = extraDescriptors.map { fcntl($0, F_DUPFD_CLOEXEC, 64) }
        defer { for copy in copies where copy >= 0 { close(copy) } }
        guard !copies.contains(-1) else { throw Failure(path: executable, errno: errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (stream, target) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            switch stream {
            case .inherit: break
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            case .descriptor(let fd): posix_spawn_file_actions_adddup2(&actions, fd, target)
            case .appending(let path):
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            }
        }
        if let directory { slipway_spawn_addchdir(&actions, directory) }
        for (index, copy) in copies.enumerated() { posix_spawn_file_actions_adddup2(&actions, copy, Int32(3 + index)) }
        // Nothing else is inherited, whatever the parent forgot to mark close-on-exec.
        slipway_spawn_addclosefrom(&actions, Int32(3 + copies.count))

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in defaultSignals { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        switch group {
        case .callers:
            break
        case .newSession:
            flags |= slipway_spawn_setsid_flag()
        case .newGroup:
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([executable] + arguments).map { strdup($0) }
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let rc: Int32 = (argv + [nil]).withUnsafeBufferPointer { argvBuffer in
            (envp + [nil]).withUnsafeBufferPointer { envpBuffer in
                guard let argvBase = argvBuffer.baseAddress, let envpBase = envpBuffer.baseAddress else {
                    return EINVAL
                }
                return posix_spawn(
                    &pid, executable, &actions, &attributes, UnsafeMutablePointer(mutating: argvBase),
                    UnsafeMutablePointer(mutating: envpBase))
            }
        }
        guard rc == 0 else { throw Failure(path: executable, errno: rc) }
        return pid
    }

    /// The signals whose dispositions the child gets back at their defaults.
    var defaultSignals: [Int32] {
        [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD]
            + (resetJobControlSignals ? [SIGTTIN, SIGTTOU, SIGTSTP] : [])
    }
}
