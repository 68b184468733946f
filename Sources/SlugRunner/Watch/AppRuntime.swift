import Foundation
import SlipwaySpool

#if canImport(Glibc)
    import Glibc
#endif

/// One process slot of a release (`web.1`) and the process that fills it, if any.
final class Dyno {
    /// What `slugrunner ps` shows.
    enum State: String {
        case starting, up, crashed
    }

    let type: String
    let index: Int
    let release: UnpackedRelease
    let command: String
    /// `PORT`: kept across restarts while it is free, so a proxy in front keeps working.
    var port: UInt16
    /// The running process (also its process group), nil while it waits to restart.
    var pid: pid_t?
    var state = State.starting
    var startedAt: Date?
    var startedClock: ContinuousClock.Instant?
    var startTicks: UInt64?
    var restarts = 0
    var crashes = CrashTracker()
    var restartAt: ContinuousClock.Instant?
    /// The health check's failures in a row (after three, the dyno is restarted).
    var healthFailures = 0
    /// When the health check runs next.
    var nextHealthCheck: ContinuousClock.Instant?
    /// The memory its control group used at the last sample, rounded down to MiB (for `ps`).
    var memoryBytes: Int?
    /// The last health check's answer, so that a slow boot logs each answer once.
    var healthDetail: String?

    init(type: String, index: Int, release: UnpackedRelease, command: String, port: UInt16) {
        self.type = type
        self.index = index
        self.release = release
        self.command = command
        self.port = port
    }

    /// `web.1`.
    var name: String { "\(type).\(index)" }
}

/// The processes of a release on its way in (its phase and deadline are the ``DeployMachine``'s).
final class Deployment {
    let release: UnpackedRelease
    /// The release command's process (also its process group), once started and until the release boots.
    var releasePhase: pid_t?
    /// The release's processes, once it boots.
    var dynos: [Dyno] = []

    init(release: UnpackedRelease) {
        self.release = release
    }
}

/// Everything the watcher knows about one app.
final class AppRuntime {
    let name: String
    /// The deploy decisions: the current release and the one on its way in.
    var machine: DeployMachine
    /// The processes of the current release.
    var dynos: [Dyno] = []
    /// The processes of the release on its way in.
    var deployment: Deployment?
    /// What the door wants of the app's dynos (`dynos.json`: formation, memory, restarts, domains, health check).
    var wanted = DynoSettings()
    /// `dynos.json`'s bytes when last read, to notice a change.
    var wantedData: Data?
    var lastDeploy: AppStatus.Deploy?
    /// Warnings already logged for the current release (so a scale to an undeclared type is said once).
    var warnings: Set<String> = []
    /// Replaced or failed releases, whose files go once none of their processes is left.
    var retiring: [UnpackedRelease] = []
    /// The status last written to `state.json`.
    var writtenStatus: AppStatus?

    init(name: String, machine: DeployMachine) {
        self.name = name
        self.machine = machine
    }

    /// The release that serves.
    var current: UnpackedRelease? { machine.current }

    /// How many processes of each type run.
    var formation: Formation {
        get { machine.formation }
        set { machine.formation = newValue }
    }
}

/// A process the watcher started and has not reaped yet.
struct Leader {
    enum Kind {
        case dyno(Dyno)
        case releasePhase
        /// A one-off dyno (`run.N`).
        case oneOff(OneOffDyno)
    }

    let app: String
    let label: String
    let kind: Kind
    /// The spool entry of the release it runs.
    let entry: String
    /// `v3`: the release, for log lines (old and new releases overlap during a deploy, with the same dyno names).
    let release: String
    /// Set once the watcher asked it to stop, so its exit is not taken for a crash.
    var stopping = false
}

/// A process group being stopped: SIGTERM was sent; SIGKILL follows at `killAt`.
struct StopOrder {
    let pgid: pid_t
    let app: String
    let label: String
    let entry: String
    let release: String
    var killAt: ContinuousClock.Instant
    var killed = false
}

/// The output pipe of one process, cut into log lines.
final class OutputStream {
    let fd: Int32
    let app: String
    let label: String
    var lines = OutputLines()

    init(fd: Int32, app: String, label: String) {
        self.fd = fd
        self.app = app
        self.label = label
    }
}

/// Results of the work done off the main loop (checking and unpacking slugs), and a pipe that wakes the loop.
final class Mailbox: @unchecked Sendable {
    /// How preparing an entry ended.
    enum Outcome: Sendable {
        case ready(UnpackedRelease)
        case refused(String)
    }

    struct Result: Sendable {
        let app: String
        let entry: String
        let outcome: Outcome
    }

    /// Readable when results are waiting.
    let readFD: Int32
    private let writeFD: Int32
    private let lock = NSLock()
    private var results: [Result] = []

    init() throws {
        let pipe = try Spawner.outputPipe()
        readFD = pipe.readEnd
        writeFD = pipe.writeEnd
        // A full pipe already wakes the loop: the worker must never block on it.
        _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// Called from a worker thread.
    func post(_ result: Result) {
        lock.withLock { results.append(result) }
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Wakes the loop without a result (another worker has something for it).
    func wake() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// The results posted since the last call.
    func take() -> [Result] {
        var sink = [UInt8](repeating: 0, count: 64)
        while sink.withUnsafeMutableBytes({ read(readFD, $0.baseAddress, $0.count) }) > 0 {}
        return lock.withLock {
            defer { results.removeAll() }
            return results
        }
    }
}
