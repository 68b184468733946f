import CProcessShims
import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Starts release processes with `posix_spawn`: an explicit environment and working folder, the default signal mask
/// and dispositions, no inherited descriptors beyond 0–2, and a process group of its own so that one
/// `kill(-pgid)` reaches every process the command starts.
enum Spawner {
    /// Where the child's standard streams go.
    enum Stdio {
        /// The caller's stdin, stdout and stderr (a foreground `slugrunner run`).
        case inherit
        /// stdin from `/dev/null`, stdout and stderr both into the write end of a pipe (the watcher logs them).
        case pipe(write: Int32)
    }

    /// Which group the child leads.
    enum Grouping {
        /// A new session (`setsid`): no controlling terminal, its own process group. For supervised processes.
        case newSession
        /// A new process group in the caller's session, so it can be given the terminal. For `slugrunner run`.
        case newGroup
    }

    /// Starts `launch`; returns the child's pid, which is also its process group id.
    static func start(_ launch: ProcessLaunch, stdio: Stdio, grouping: Grouping) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if case .pipe(let write) = stdio {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, write, 1)
            posix_spawn_file_actions_adddup2(&actions, write, 2)
        }
        slipway_spawn_addclosefrom(&actions, 3)
        slipway_spawn_addchdir(&actions, launch.directory)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        // A foreground run keeps the job-control stops as the caller set them (ignored: Ctrl-Z cannot leave the
        // terminal with a stopped process nobody resumes); supervised processes get them back.
        let stops = grouping == .newSession ? [SIGTTIN, SIGTTOU, SIGTSTP] : []
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD] + stops {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        switch grouping {
        case .newSession:
            flags |= slipway_spawn_setsid_flag()
        case .newGroup:
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = launch.arguments.map { strdup($0) }
        let envp = launch.environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") }
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
                    &pid, launch.arguments[0], &actions, &attributes, UnsafeMutablePointer(mutating: argvBase),
                    UnsafeMutablePointer(mutating: envpBase))
            }
        }
        guard rc == 0 else {
            throw RunnerError(
                .spawn,
                "slugrunner: cannot start \(launch.arguments[0]) in \(launch.directory): "
                    + String(cString: strerror(rc)))
        }
        return pid
    }

    /// A close-on-exec pipe whose read end does not block: (read, write).
    static func outputPipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard slipway_pipe_cloexec(&fds) == 0 else { throw RunnerError.system("pipe2", "(output pipe)", errno: errno) }
        _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
        return (fds[0], fds[1])
    }

    /// Reaps every child that has ended, without waiting; returns each pid with how it ended.
    static func reapExited() -> [(pid: pid_t, status: ExitStatus)] {
        var reaped: [(pid_t, ExitStatus)] = []
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid > 0 {
                reaped.append((pid, ExitStatus(waitStatus: status)))
            } else if pid < 0 && errno == EINTR {
                continue
            } else {
                return reaped
            }
        }
    }
}

/// Signals to whole process groups.
enum ProcessGroup {
    /// Sends `signal` to every process in group `pgid`; a group that is gone is fine.
    static func signal(_ pgid: pid_t, _ signal: Int32) {
        guard pgid > 1 else { return }
        kill(-pgid, signal)
    }

    /// Whether any process (zombies included) is left in group `pgid`.
    static func exists(_ pgid: pid_t) -> Bool {
        guard pgid > 1 else { return false }
        return kill(-pgid, 0) == 0 || errno == EPERM
    }
}
