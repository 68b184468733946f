import Foundation
import SlipwayDrains
import SlipwayLogs
import SlipwayMetrics
import SlipwayObjectStore
import SlipwayPlatformEvents
public import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `slugrunner watch`: the daemon that turns spool entries into running dynos.
///
/// One thread runs a poll loop over a signalfd (stop requests, children's exits) and a wake-up pipe (the processes'
/// output is read and logged on a thread of its own, ``OutputPump``, so that no dyno's output can slow it); checking and unpacking a slug (which reads every byte) runs on a worker thread and posts its result.
/// Each pass of the loop claims new entries, advances deploys, has the engine keep each app's dynos as its formation
/// says, and writes the routes and `state.json`. What a deploy does next is each app's ``DeployMachine``'s decision;
/// the watcher tells it what happened and carries out its effects, through the ``DynoEngine`` where dynos are
/// concerned. The processes it starts on this machine (the local engine's dynos, one-off dynos) are
/// ``LocalProcesses``': the loop hands them what it reaps.
public final class Watcher {
    let root: RunnerRoot
    let settings: WatchSettings
    let spool: Spool
    /// Checks and unpacks releases; it gets the door's key when the watcher starts.
    var unpacker: ReleaseUnpacker
    /// The apps' logs and the runner's own event lines.
    let logs: RunnerLogs
    /// The process groups started on this machine.
    let processes: LocalProcesses

    let clock = ContinuousClock()
    var apps: [String: AppRuntime] = [:]
    var mailbox: Mailbox?
    /// One-off dynos asked for at the door.
    lazy var oneOffs = OneOffDynos(watcher: self, processes: processes)
    /// The router (Caddy) in front of the web dynos, and the last error it gave (said once).
    var router: Router?
    var routerFailure: String?
    /// Per app, why its own certificate could not be used, as last said in its log.
    var certificateFailures: [String: String] = [:]
    /// Where the dynos run: this machine's processes, or a swarm's tasks (`--engine swarm`).
    lazy var engine: any DynoEngine = LocalEngine(watcher: self, processes: processes)
    var stopping = false
    /// The apps' figures, the Prometheus endpoint and autoscaling (``SlipwayMetrics``); nil with `--metrics off`.
    var metrics: MetricsRecorder?
    var autoscalers: [String: Autoscaler] = [:]
    /// The door's build and release events, written into the apps' logs as `slugrunner[api]` lines.
    lazy var platformEvents = PlatformEventReader(
        store: FolderEventStore(spoolDirectory: root.spoolDirectory),
        cursor: { [root] in "\(root.app($0))/platform-events" })
    private var nextScan: ContinuousClock.Instant

    public init(root: RunnerRoot, settings: WatchSettings, say: @escaping (String) -> Void) {
        self.root = root
        self.settings = settings
        self.spool = Spool(directory: root.spoolDirectory)
        self.unpacker = ReleaseUnpacker(stacks: settings.stacks)
        self.logs = RunnerLogs(
            root: root, maxBytes: settings.logMaxBytes,
            drains: DrainRegistry(
                layout: root.layout, settings: settings.drains, operatorURLs: settings.operatorDrains),
            say: say)
        self.processes = LocalProcesses(settings: settings, logs: logs)
        self.nextScan = clock.now
    }

    /// Runs until SIGTERM or SIGINT, then stops every process group it started and returns (exit 0).
    /// Throws before starting anything if another watcher holds the root or the spool is missing.
    public func run() throws {
        // First, before any thread exists: the signals must be blocked in every thread for the signalfd to get them.
        let inbox = try SignalWatcher.forRunner([SIGTERM, SIGINT, SIGHUP, SIGCHLD])
        let lock = try WatchLock(root: root)
        defer { withExtendedLifetime(lock) {} }
        let key = try RunnerReleaseKey.loadForRunner(file: settings.releaseKey, root: root.layout)
        unpacker.key = key
        var feed: BucketFeed?
        if let bucket = settings.bucket {
            try spool.prepare()
            // Its own lines go straight to stderr: `say` belongs to this thread.
            feed = BucketFeed(source: bucket, spool: spool, key: key, interval: settings.pollInterval) {
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
        let isolation = try DynoIsolation(
            root: root,
            choices: .init(
                sandbox: settings.sandbox, network: settings.dynoNetwork, disk: settings.dynoDisk,
                diskReserveMB: settings.diskReserveMB, appUsers: settings.swarm != nil))
        processes.isolation = isolation
        // A start that fails from here on leaves no spare network or disk behind, nor the dynos' shared mount.
        var running = false
        defer { if !running { isolation.finish(seconds: 0) } }
        // Processes a release leaves behind when their parent exits are re-parented here, so they are reaped.
        ChildProcess.adoptOrphans()
        mailbox = try Mailbox()
        oneOffs.control = try ControlSocket(root: root)
        defer { oneOffs.control = nil }
        if let swarm = settings.swarm { engine = try SwarmEngine(watcher: self, settings: swarm) }
        try startRouter()
        try startMetrics()
        defer { stopMetrics() }
        event(nil, "watch", "Watching \(settings.bucket?.location.url ?? spool.newDirectory) (pid \(getpid()))")
        for line in isolation.summary { event(nil, "watch", line) }
        try restore()
        isolation.removeLeftovers()
        feed?.start()
        let changes = ChangeWatch(root: root, spool: spool)
        running = true
        while true {
            waitForActivity(inbox: inbox, changes: changes.fd)
            if changes.changed() {
                nextScan = clock.now
                feed?.lookNow()
            }
            for signal in inbox.drain() { received(signal) }
            for (pid, status) in Reaping.reapAllEnded() { reaped(pid, status) }
            processes.watch(spares: !booting)
            for result in mailbox?.take() ?? [] { prepared(result) }
            engine.collect()
            if !stopping {
                oneOffs.serve()
                if clock.now >= nextScan {
                    scanSpool()
                    reloadSettings()
                    engine.scan(Array(apps.values))
                    sampleMemory()
                    changes.watch(apps: apps.keys)
                    nextScan = clock.now + settings.pollInterval
                }
                for app in apps.values {
                    advanceDeployment(app)
                    engine.reconcile(app)
                }
            }
            processes.driveStopOrders()
            cleanUpRetired()
            writeStates()
            updateRoutes()
            logRequests()
            recordMetrics()
            if stopping && processes.isEmpty { break }
        }
        processes.closeOutputs()
        engine.finish()
        logRequests()
        router?.stop()
        isolation.finish()
        event(nil, "watch", "Stopped")
        logs.drains.stopAll()
    }

    // MARK: - The loop

    /// Whether a release's web dynos are booting: the loop then looks every 3 ms, and makes no spare network or disk
    /// (each costs a few milliseconds of `ip` or `mkfs.ext4` the booting dyno's readiness check would wait for).
    var booting: Bool {
        apps.values.contains { if case .booting = $0.machine.state { true } else { false } }
    }

    /// Waits up to a tenth of a second (3 ms while a release boots) for a signal, a worker's result or a change in the
    /// spool or an app's folder (`changes`).
    private func waitForActivity(inbox: SignalWatcher, changes: Int32) {
        var fds = [pollfd(fd: inbox.fd, events: Int16(POLLIN), revents: 0)]
        fds.append(pollfd(fd: changes, events: Int16(POLLIN), revents: 0))
        if let mailbox { fds.append(pollfd(fd: mailbox.readFD, events: Int16(POLLIN), revents: 0)) }
        // A booting release's web dynos are checked every pass (a connect on loopback): look often while one boots,
        // so that it is served within a few milliseconds of listening.
        _ = poll(&fds, nfds_t(fds.count), booting ? 3 : 100)
    }

    private func received(_ signal: Int32) {
        switch signal {
        case SIGTERM, SIGINT:
            if stopping {
                event(nil, "watch", "\(signalName(signal)) again: stopping the remaining processes with SIGKILL")
                processes.killNow()
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
        let running = apps.values.reduce(0) { $0 + engine.processes(of: $1).filter { $0.pid != nil }.count }
        event(
            nil, "watch",
            "\(signalName(signal)) received: stopping \(running) process(es) (SIGTERM, then SIGKILL after "
                + "\(settings.grace.spoken))")
        for app in apps.values {
            handle(.shutdown, app: app)
            engine.shutDown(app)
        }
        oneOffs.stopAll()
    }

    /// A child ended: the router's Caddy (started again), or a process of ``LocalProcesses``, whose owner is told.
    private func reaped(_ pid: pid_t, _ status: ExitStatus) {
        if router?.reaped(pid) == true {
            event(nil, "router", "Caddy exited with \(status); starting it again")
            return
        }
        processes.reaped(pid, status)
    }

    // MARK: - Logs

    /// The log of `app`.
    func log(_ app: String) -> AppLog { logs.log(app) }

    /// A runner event about `component` of `app`: into the app's log and on stderr.
    func log(_ app: String, _ component: String, _ text: String) { logs.log(app, component, text) }

    /// A runner event that concerns no app (or an app known only from an entry's name): on stderr only.
    func event(_ app: String?, _ component: String, _ text: String) { logs.event(app, component, text) }
}
