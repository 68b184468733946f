import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `slugrunner watch`: the daemon that turns spool entries into running processes.
///
/// One thread runs a poll loop over a signalfd (stop requests, children's exits), the processes' output pipes and a
/// wake-up pipe; checking and unpacking a slug (which reads every byte) runs on a worker thread and posts its result.
/// Each pass of the loop claims new entries, advances deploys (release phase, boot, switch-over), restarts crashed
/// processes, applies formation changes, stops process groups (SIGTERM, grace, SIGKILL) and writes `state.json`.
/// What a deploy does next is each app's ``DeployMachine``'s decision; the watcher tells it what happened and carries
/// out its effects.
public final class Watcher {
    let root: RunnerRoot
    let settings: WatchSettings
    let spool: Spool
    let unpacker: ReleaseUnpacker
    /// Where the runner's own event lines go (stderr).
    let say: (String) -> Void

    let clock = ContinuousClock()
    var apps: [String: AppRuntime] = [:]
    var leaders: [pid_t: Leader] = [:]
    var outputs: [Int32: OutputStream] = [:]
    var stopOrders: [StopOrder] = []
    private var logs: [String: AppLog] = [:]
    var mailbox: Mailbox?
    /// Web dynos' health checks, off the loop; their results wake it through the mailbox.
    lazy var health = HealthProbes { [weak mailbox] in mailbox?.wake() }
    /// What confines dynos (decided at start) and each dyno's copy, sandbox and control group.
    var isolation: DynoIsolation?
    /// Where the door asks for one-off dynos, and the attached ones running, by pid.
    var control: ControlSocket?
    /// The router (Caddy) in front of the web dynos, and the last error it gave (said once).
    var router: Router?
    var routerFailure: String?
    /// The door reads `state.json` and the logs: when this runs as root, they are given to `<root>`'s owner.
    lazy var doorAccess = DoorAccess(rootPath: root.path)
    var attachedRuns: [pid_t: PendingRun] = [:]
    /// Where the dynos run: this machine's processes, or a swarm's tasks (`--engine swarm`).
    lazy var engine: any DynoEngine = LocalDynos(watcher: self)
    var stopping = false
    private var nextScan: ContinuousClock.Instant

    public init(root: RunnerRoot, settings: WatchSettings, say: @escaping (String) -> Void) {
        self.root = root
        self.settings = settings
        self.spool = Spool(directory: root.spoolDirectory)
        self.unpacker = ReleaseUnpacker(stacks: settings.stacks)
        self.say = say
        self.nextScan = clock.now
    }

    /// Runs until SIGTERM or SIGINT, then stops every process group it started and returns (exit 0).
    /// Throws before starting anything if another watcher holds the root or the spool is missing.
    public func run() throws {
        // First, before any thread exists: the signals must be blocked in every thread for the signalfd to get them.
        let inbox = try SignalWatcher.forRunner([SIGTERM, SIGINT, SIGHUP, SIGCHLD])
        let lock = try WatchLock(root: root)
        defer { withExtendedLifetime(lock) {} }
        var feed: BucketFeed?
        if let bucket = settings.bucket {
            try spool.prepare()
            // Its own lines go straight to stderr: `say` belongs to this thread.
            feed = BucketFeed(source: bucket, spool: spool, interval: settings.pollInterval) {
                FileHandle.standardError.write(Data("\(LogLine.timestamp(Date())) \($0)\n".utf8))
            }
        }
        defer { feed?.stop() }
        do {
            _ = try spool.pending()
        } catch let error as SpoolError {
            throw RunnerError(
                .notFound, "\(error.description) (create it with `receive-pack init --root \(root.path)`)")
        }
        let isolation = try DynoIsolation(root: root, mode: settings.sandbox)
        self.isolation = isolation
        // Processes a release leaves behind when their parent exits are re-parented here, so they are reaped.
        ChildProcess.adoptOrphans()
        mailbox = try Mailbox()
        control = try ControlSocket(root: root)
        defer { control = nil }
        if let swarm = settings.swarm { engine = try SwarmDynos(watcher: self, settings: swarm) }
        try startRouter()
        event(nil, "watch", "Watching \(settings.bucket?.location.url ?? spool.newDirectory) (pid \(getpid()))")
        for line in isolation.summary { event(nil, "watch", line) }
        try restore()
        isolation.removeLeftovers(apps: Files.folders(in: root.appsDirectory))
        feed?.start()
        while true {
            waitForActivity(inbox: inbox)
            for signal in inbox.drain() { received(signal) }
            for (pid, status) in Reaping.reapAllEnded() { exited(pid, status) }
            watchMemory()
            isolation.collect()
            for result in mailbox?.take() ?? [] { prepared(result) }
            for result in health.take() { healthChecked(result) }
            if !stopping {
                serveControl()
                if clock.now >= nextScan {
                    scanSpool()
                    reloadSettings()
                    engine.scan(Array(apps.values))
                    nextScan = clock.now + settings.pollInterval
                }
                for app in apps.values {
                    advanceDeployment(app)
                    engine.reconcile(app)
                }
            }
            driveStopOrders()
            cleanUpRetired()
            writeStates()
            updateRoutes()
            logRequests()
            if stopping && leaders.isEmpty && stopOrders.isEmpty { break }
        }
        for stream in Array(outputs.values) {
            readOutput(stream)
            if outputs[stream.fd] != nil { closeOutput(stream) }
        }
        health.shutdown()
        logRequests()
        router?.stop()
        isolation.finish()
        event(nil, "watch", "Stopped")
    }

    // MARK: - The loop

    /// Waits up to a tenth of a second for a signal, a worker's result or process output, and logs the output.
    private func waitForActivity(inbox: SignalWatcher) {
        let streams = Array(outputs.values)
        var fds = [pollfd(fd: inbox.fd, events: Int16(POLLIN), revents: 0)]
        if let mailbox { fds.append(pollfd(fd: mailbox.readFD, events: Int16(POLLIN), revents: 0)) }
        let first = fds.count
        fds += streams.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), 100)
        for (offset, stream) in streams.enumerated() where fds[first + offset].revents != 0 {
            readOutput(stream)
        }
    }

    /// Logs what a process printed; closes the pipe at its end (every process holding it has exited).
    func readOutput(_ stream: OutputStream) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        // A chatty process gets 1 MiB per pass, so it cannot starve the loop.
        for _ in 0..<16 {
            let n = buffer.withUnsafeMutableBytes { read(stream.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                let lines = buffer.withUnsafeBytes { stream.lines.append(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                for line in lines { log(stream.app).write(.app(stream.label, line)) }
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && errno == EAGAIN {
                return
            } else {
                closeOutput(stream)
                return
            }
        }
    }

    /// Logs an unfinished last line and closes the pipe.
    func closeOutput(_ stream: OutputStream) {
        if let last = stream.lines.finish() { log(stream.app).write(.app(stream.label, last)) }
        close(stream.fd)
        outputs[stream.fd] = nil
    }

    private func received(_ signal: Int32) {
        switch signal {
        case SIGTERM, SIGINT:
            if stopping {
                event(nil, "watch", "\(signalName(signal)) again: stopping the remaining processes with SIGKILL")
                for index in stopOrders.indices { stopOrders[index].killAt = clock.now }
            } else {
                beginShutdown(signal)
            }
        case SIGHUP:
            event(nil, "watch", "SIGHUP ignored (stop with SIGTERM or SIGINT)")
        default:
            break  // SIGCHLD: the children are reaped after every wake-up anyway
        }
    }

    /// Stops every process group (SIGTERM now, SIGKILL after the grace period); the loop ends once all are gone.
    private func beginShutdown(_ signal: Int32) {
        stopping = true
        let running = apps.values.reduce(0) { count, app in
            count + app.dynos.filter { $0.pid != nil }.count
                + (app.deployment?.dynos.filter { $0.pid != nil }.count ?? 0)
        }
        event(
            nil, "watch",
            "\(signalName(signal)) received: stopping \(running) process(es) (SIGTERM, then SIGKILL after "
                + "\(Self.seconds(settings.grace)))")
        for app in apps.values {
            handle(.shutdown, app: app)
            engine.shutDown(app)
        }
        stopOneOffs()
    }

    /// A child ended: a crash to restart, the end of a release phase or of a booting release's process (the deploy
    /// decides), or one the watcher stopped.
    private func exited(_ pid: pid_t, _ status: ExitStatus) {
        if router?.reaped(pid) == true {
            event(nil, "router", "Caddy exited with \(status); starting it again")
            return
        }
        guard let leader = leaders.removeValue(forKey: pid), let app = apps[leader.app] else { return }
        // A kill for want of memory is said first (R15), and the dyno's copy and group go once its processes have.
        if let place = isolation?.ended(pid) { reportMemory(of: place) }
        log(app.name, leader.label, "Process of \(leader.release) exited with \(status)")
        // Whatever it started goes with it: a crashed or finished process leaves nothing behind.
        if ProcessGroup.exists(pid) && !stopOrders.contains(where: { $0.pgid == pid }) {
            ProcessGroup.signal(pid, SIGKILL)
        }
        switch leader.kind {
        case .releasePhase:
            guard !leader.stopping else { return }
            handle(.releasePhaseExited(status), app: app)
        case .dyno(let dyno):
            dyno.pid = nil
            guard !leader.stopping else { return }
            if let deployment = app.deployment, deployment.dynos.contains(where: { $0 === dyno }) {
                handle(.dynoExited(dyno: dyno.name, status), app: app)
            } else {
                crashed(dyno, app: app)  // a process of the current release
            }
        case .oneOff(let run):
            run.onExit(status)
        }
    }

    /// Schedules a crashed process's restart with backoff, reporting a crash loop once.
    func crashed(_ dyno: Dyno, app: AppRuntime) {
        let ranFor = dyno.startedClock.map { clock.now - $0 } ?? .zero
        let decision = dyno.crashes.recordExit(after: ranFor, policy: settings.restart)
        log(app.name, dyno.name, "State changed from \(dyno.state.rawValue) to crashed")
        dyno.state = .crashed
        dyno.restartAt = clock.now + decision.delay
        if decision.crashLoopStarted {
            log(
                app.name, dyno.name,
                "Crash loop: exited \(dyno.crashes.consecutiveCrashes) times in a row, each within "
                    + "\(Self.seconds(settings.restart.stableAfter)) of starting; restarting with backoff "
                    + "(next in \(Self.seconds(decision.delay)), at most every "
                    + "\(Self.seconds(settings.restart.maximumDelay)))")
        } else {
            log(app.name, dyno.name, "Restarting in \(Self.seconds(decision.delay))")
        }
    }

    /// Starts the process of `dyno`, on its port when that is still free, else on a new one.
    func start(_ dyno: Dyno, app: AppRuntime) {
        let used = Set(allDynos().filter { $0 !== dyno && $0.pid != nil }.map(\.port))
        if used.contains(dyno.port) || !settings.address.isFree(dyno.port) {
            dyno.port = (try? freePort()) ?? dyno.port
        }
        log(app.name, dyno.name, "Starting process of \(dyno.release.label) with command `\(dyno.command)`")
        do {
            let place = try prepareDyno(app: app, dyno: dyno.name, type: dyno.type, release: dyno.release)
            let launch = ProcessLaunch(
                home: place?.home ?? dyno.release.home, command: dyno.command,
                configVars: dyno.release.manifest.configVars, port: dyno.port, dyno: dyno.name)
            let pid = try spawn(launch, app: app, label: dyno.name, release: dyno.release, dyno: dyno, place: place)
            dyno.pid = pid
            dyno.startedAt = Date()
            dyno.startedClock = clock.now
            dyno.startTicks = ProcessStat.read(pid)?.startTicks
            dyno.restartAt = nil
            dyno.state = .starting
            if dyno.type != ProcessType.web { markUp(dyno, app: app) }
        } catch {
            log(app.name, dyno.name, "\(error)")
            crashed(dyno, app: app)
        }
    }

    func markUp(_ dyno: Dyno, app: AppRuntime) {
        guard dyno.state != .up else { return }
        log(app.name, dyno.name, "State changed from \(dyno.state.rawValue) to up")
        dyno.state = .up
    }

    /// A port free on the listen address and not given to another process.
    func freePort() throws -> UInt16 {
        let used = Set(allDynos().map(\.port))
        for _ in 0..<20 {
            let port = try settings.address.freePort()
            if !used.contains(port) { return port }
        }
        return try settings.address.freePort()
    }

    /// Every dyno the watcher knows, current and deploying.
    func allDynos() -> [Dyno] {
        apps.values.flatMap { $0.dynos + ($0.deployment?.dynos ?? []) }
    }

    // MARK: - Logs

    /// The log of `app`.
    func log(_ app: String) -> AppLog {
        if let log = logs[app] { return log }
        let log = AppLog(path: root.log(app), maxBytes: settings.logMaxBytes, access: doorAccess)
        logs[app] = log
        return log
    }

    /// A runner event about `component` of `app`: into the app's log and on stderr.
    func log(_ app: String, _ component: String, _ text: String) {
        let line = LogLine.runner(component, text)
        log(app).write(line)
        say("\(LogLine.timestamp(line.date)) \(app) slugrunner[\(component)]: \(text)")
    }

    /// A runner event that concerns no app (or an app known only from an entry's name): on stderr only.
    func event(_ app: String?, _ component: String, _ text: String) {
        if let app, AppName.isValid(app) {
            log(app, component, text)
        } else {
            say("\(LogLine.timestamp(Date())) slugrunner[\(component)]: \(text)")
        }
    }

    /// `30s`, `1.5s`, `0.05s`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        guard milliseconds % 1000 != 0 else { return "\(milliseconds / 1000)s" }
        var text = String(format: "%.3f", Double(milliseconds) / 1000)
        while text.hasSuffix("0") { text.removeLast() }
        return text + "s"
    }
}
