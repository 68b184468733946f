import Foundation
import SlipwayDynos
import SlipwayRunnerKit
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Starts release processes (through the system layer's ``Spawn``): an explicit environment and working folder, the
/// default signal mask and dispositions, no inherited descriptors beyond 0–2, and a process group of its own so that
/// one `kill(-pgid)` reaches every process the command starts.
enum Spawner {
    /// Where the child's standard streams go.
    enum Stdio {
        /// The caller's stdin, stdout and stderr (a foreground `slugrunner run`).
        case inherit
        /// stdin from `/dev/null`, stdout and stderr both into the write end of a pipe (the watcher logs them).
        case pipe(write: Int32)
        /// The given descriptors as stdin, stdout and stderr (a one-off dyno attached to an SSH session).
        case descriptors(stdin: Int32, stdout: Int32, stderr: Int32)
    }

    /// Which group the child leads.
    enum Grouping {
        /// A new session (`setsid`): no controlling terminal, its own process group. For supervised processes.
        case newSession
        /// A new process group in the caller's session, so it can be given the terminal. For `slugrunner run`.
        case newGroup
    }

    /// Starts `launch`; returns the child's pid, which is also its process group id. With `place`, the process is
    /// a dyno's: confined by its sandbox, in its control group from before it runs anything.
    static func start(_ launch: ProcessLaunch, stdio: Stdio, grouping: Grouping, place: DynoPlace? = nil) throws
        -> pid_t
    {
        var spawn = Spawn(
            executable: launch.arguments[0], arguments: Array(launch.arguments.dropFirst()),
            environment: launch.environment, directory: launch.directory)
        if let place {
            (spawn.executable, spawn.arguments) = place.sandbox.wrap(
                launch.arguments[0], Array(launch.arguments.dropFirst()))
            // In bubblewrap the folder exists only inside (`--chdir`).
            if place.sandbox.bubblewrap != nil { spawn.directory = nil }
            spawn.joining = place.joining
        }
        switch stdio {
        case .inherit:
            spawn.stdin = .inherit
        case .pipe(let write):
            spawn.stdout = .descriptor(write)
            spawn.stderr = .descriptor(write)
        case .descriptors(let stdin, let stdout, let stderr):
            spawn.stdin = .descriptor(stdin)
            spawn.stdout = .descriptor(stdout)
            spawn.stderr = .descriptor(stderr)
        }
        // A foreground run keeps the job-control stops as the caller set them (ignored: Ctrl-Z cannot leave the
        // terminal with a stopped process nobody resumes); supervised processes get them back.
        spawn.group = grouping == .newSession ? .newSession : .newGroup
        spawn.resetJobControlSignals = grouping == .newSession
        do {
            return try spawn.start()
        } catch {
            throw RunnerError(
                .spawn,
                "slugrunner: cannot start \(launch.arguments[0]) in \(launch.directory): "
                    + String(cString: strerror(error.errno)))
        }
    }

    /// A close-on-exec pipe whose read end does not block, for a dyno's output.
    static func outputPipe() throws -> PipeEnds {
        do { return try PipeEnds(nonBlockingRead: true) } catch {
            throw RunnerError.system("pipe2", "(output pipe)", errno: error.errno)
        }
    }
}
