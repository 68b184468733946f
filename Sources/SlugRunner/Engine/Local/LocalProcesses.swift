import Foundation
import SlipwayDynos
import SlipwayLogs
import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The process groups the runner started on this machine, each in its place (copy, sandbox, control group): the
/// local engine's dynos and release phases, and the one-off dynos of either engine.
///
/// It spawns them with their output logged (by the ``OutputPump``, on a thread of its own), takes in
/// what the watcher reaps (telling each process's owner through its `onExit`), stops groups (SIGTERM, the grace
/// period, SIGKILL) and watches their memory (R14, R15). Used from the watcher's thread only.
final class LocalProcesses {
    /// A process it started and has not reaped yet.
    struct Leader {
        let app: String
        let label: String
        /// The spool entry of the release it runs.
        let entry: String
        /// `v3`: the release, for log lines (old and new releases overlap during a deploy, with the same dyno names).
        let release: String
        /// Set for a one-off dyno (`run.N`).
        let oneOff: OneOffDyno?
        /// Called when it is reaped, with whether the runner had asked it to stop (so its exit is not a crash).
        let onExit: (ExitStatus, _ stopped: Bool) -> Void
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

    let settings: WatchSettings
    let logs: RunnerLogs
    let clock = ContinuousClock()
    /// What confines dynos (decided when the watcher starts); nil before.
    var isolation: DynoIsolation?
    /// The ports a new process must not take (the local engine's dynos', kept across their restarts).
    var reservedPorts: () -> Set<UInt16> = { [] }
    /// Told of each memory error (app, dyno, `R14` or `R15`), for the metrics.
    var memoryErrorSeen: (String, String, String) -> Void = { _, _, _ in }
    private(set) var leaders: [pid_t: Leader] = [:]
    /// Reads the processes' output into their apps' logs; made at the first process with its output logged.
    private var pump: OutputPump?
    private var stopOrders: [StopOrder] = []

    init(settings: WatchSettings, logs: RunnerLogs) {
        self.settings = settings
        self.logs = logs
    }

    /// Whether none is left running or stopping (the watcher may end).
    var isEmpty: Bool { leaders.isEmpty && stopOrders.isEmpty }

    /// The spool entries whose releases still have a process running or stopping.
    var runningEntries: Set<String> { Set(leaders.values.map(\.entry) + stopOrders.map(\.entry)) }

    // MARK: - Starting

    /// The place of a new start of `dyno` (its copy, sandbox and control group); nil before the watcher runs.
    func prepare(app: String, dyno: String, type: String, release: UnpackedRelease) throws -> DynoPlace? {
        try isolation?.prepare(app: app, dyno: dyno, type: type, release: release)
    }

    /// Spawns `launch` in a session of its own with its output logged (or on the given descriptors), confined in
    /// `place` when given; registers it as a leader. A place whose process cannot start is removed.
    func spawn(
        _ launch: ProcessLaunch, app: String, label: String, release: UnpackedRelease, place: DynoPlace?,
        oneOff: OneOffDyno? = nil, stdio: Spawner.Stdio? = nil, onExit: @escaping (ExitStatus, Bool) -> Void
    ) throws -> pid_t {
        for name in launch.skippedVariables {
            logs.log(app, label, "Config var \(name) left out: its name or value cannot be in an environment")
        }
        let pid: pid_t
        do {
            if let stdio {
                pid = try Spawner.start(launch, stdio: stdio, grouping: .newSession, place: place)
            } else {
                let pump = try outputPump()
                let pipe = try Spawner.outputPipe()
                defer { close(pipe.writeEnd) }
                do {
                    pid = try Spawner.start(
                        launch, stdio: .pipe(write: pipe.writeEnd), grouping: .newSession, place: place)
                } catch {
                    close(pipe.readEnd)
                    throw error
                }
                pump.add(pipe.readEnd, label: label, log: logs.log(app))
            }
        } catch {
            if let place { isolation?.discard(place) }
            throw error
        }
        if let place { isolation?.started(place, pid: pid) }
        leaders[pid] = Leader(
            app: app, label: label, entry: release.entry, release: release.label, oneOff: oneOff, onExit: onExit)
        return pid
    }

    /// Whether each dyno listens in a network of its own (so any port is its own, and its address proves who answers).
    var ownNetwork: Bool { isolation?.network != nil }

    /// The `PORT` of a dyno (or one-off or release process) about to start: `current` when it may keep it. In a
    /// network of its own every port is free, so it keeps its port or gets one of the usual range; on the host's
    /// network, a port free on the listen address and given to no other process, or an error saying none is (never
    /// port 0, which would leave the dyno listening where nobody looks).
    func port(keeping current: UInt16? = nil, usedBy others: Set<UInt16> = []) throws -> UInt16 {
        if ownNetwork { return current.flatMap { $0 == 0 ? nil : $0 } ?? UInt16.random(in: 10_000...60_999) }
        let used = others.union(reservedPorts())
        if let current, current != 0, !used.contains(current), settings.address.isFree(current) { return current }
        for _ in 0..<20 {
            if let port = try? settings.address.freePort(), port != 0, !used.contains(port) { return port }
        }
        throw RunnerError(
            .system,
            "slugrunner: no free port on \(settings.address) for the process: every port of the machine's ephemeral "
                + "range is taken (stop what holds them, or run dynos in networks of their own with "
                + "--dyno-network private)")
    }

    /// Whether the web process `pid` (its tree) itself holds the socket that listens on `port`: on the host's
    /// network a bare connection proves nothing, since any process may have bound a dyno's port while it restarted.
    func listensItself(_ pid: pid_t, on port: UInt16) -> Bool {
        ownNetwork || ListeningSockets.tree(of: pid, holdsAnyOf: ListeningSockets.inodes(listeningOn: port))
    }

    // MARK: - Output

    private func outputPump() throws -> OutputPump {
        if let pump { return pump }
        let made = try OutputPump(rate: settings.logRate)
        pump = made
        return made
    }

    /// Logs what is left in every pipe and closes them (the watcher stops).
    func closeOutputs() {
        pump?.finish()
        pump = nil
    }

    // MARK: - Exits

    /// A child the watcher reaped: if it is one of these, what it left goes and its owner is told. Returns whether it
    /// was.
    @discardableResult
    func reaped(_ pid: pid_t, _ status: ExitStatus) -> Bool {
        guard let leader = leaders.removeValue(forKey: pid) else { return false }
        // A kill for want of memory is said first (R15), and the dyno's copy and group go once its processes have.
        if let place = isolation?.ended(pid) {
            for event in place.watch?.check() ?? [] { report(event, of: place) }
        }
        logs.log(leader.app, leader.label, "Process of \(leader.release) exited with \(status)")
        // Whatever it started goes with it: a crashed or finished process leaves nothing behind.
        if ProcessGroup.exists(pid) && !stopOrders.contains(where: { $0.pgid == pid }) {
            ProcessGroup.signal(pid, SIGKILL)
        }
        leader.onExit(status, leader.stopping)
        return true
    }

    /// Each pass: logs the running dynos' memory errors (a dyno the kernel killed a process of, R15, is stopped whole
    /// with SIGKILL, so that it restarts as a crash) and disk errors (a dyno whose disk is full, or that holds the
    /// most when the host's disk is under its reserve, is stopped the same way), and removes the places whose
    /// processes are all gone (and, with `spares`, keeps spare networks and disks ready).
    func watch(spares: Bool = true) {
        for (place, event) in isolation?.memoryEvents() ?? [] { report(event, of: place) }
        for (place, event) in isolation?.diskEvents() ?? [] {
            for line in event.lines { logs.log(place.app, place.dyno, line) }
            if let pid = place.pid, leaders[pid] != nil {
                ProcessGroup.signal(pid, SIGKILL)
                isolation?.ended(pid)
            }
        }
        isolation?.collect(spares: spares)
    }

    private func report(_ event: MemoryWatch.Event, of place: DynoPlace) {
        if case .killed = event {
            memoryErrorSeen(place.app, place.dyno, "R15")
        } else {
            memoryErrorSeen(place.app, place.dyno, "R14")
        }
        for line in MemoryWatch.lines(event, limitBytes: Int64(place.memoryMB) << 20) {
            logs.log(place.app, place.dyno, line)
        }
        if case .killed = event, let pid = place.pid, leaders[pid] != nil { ProcessGroup.signal(pid, SIGKILL) }
    }

    /// The memory the process group `pid` uses now, in bytes; nil without a control group.
    func memoryBytes(ofGroup pid: pid_t) -> Int64? {
        isolation?.memoryBytes(pid)
    }

    // MARK: - Stopping

    /// SIGTERM to the group's processes but the sandbox's (and SIGCONT, so a stopped process gets it); SIGKILL to the
    /// whole group follows after the grace period.
    func stopGroup(_ pgid: pid_t, app: String, label: String, release: UnpackedRelease) {
        guard !stopOrders.contains(where: { $0.pgid == pgid }) else { return }
        leaders[pgid]?.stopping = true
        guard ProcessGroup.exists(pgid) else { return }
        logs.log(app, label, "Stopping all processes of \(release.label) with SIGTERM")
        // The sandbox's own processes are spared: the app gets its grace period, and the sandbox ends with it.
        let sandbox = Set([isolation?.sandbox.bubblewrap].compactMap { $0 })
        ProcessGroup.signal(pgid, SIGTERM, sparing: sandbox)
        ProcessGroup.signal(pgid, SIGCONT)
        stopOrders.append(
            StopOrder(
                pgid: pgid, app: app, label: label, entry: release.entry, release: release.label,
                killAt: clock.now + settings.grace))
    }

    /// Forgets the groups that are gone; SIGKILLs the ones past their grace period, and gives up on a group that
    /// survives SIGKILL for another grace period (a process stuck in the kernel, or one that changed its user).
    func driveStopOrders() {
        stopOrders.removeAll { order in
            guard ProcessGroup.exists(order.pgid) else { return true }
            guard order.killed && clock.now >= order.killAt + settings.grace else { return false }
            logs.log(
                order.app, order.label,
                "Process group \(order.pgid) of \(order.release) survived SIGKILL; giving up on it")
            return true
        }
        for index in stopOrders.indices where !stopOrders[index].killed && clock.now >= stopOrders[index].killAt {
            let order = stopOrders[index]
            logs.log(
                order.app, order.label,
                "Error R12 (Exit timeout): processes of \(order.release) still running "
                    + "\(settings.grace.spoken) after SIGTERM; stopping them with SIGKILL")
            ProcessGroup.signal(order.pgid, SIGKILL)
            stopOrders[index].killed = true
        }
    }

    /// Stops the process groups a previous watcher recorded in the apps' `state.json` and left running (it was
    /// killed, so it could not stop them): a process counts as left over only if its pid still has the recorded
    /// start time. Returns once they are gone, SIGKILLing what is left after the grace period.
    func stopLeftovers(root: RunnerRoot) {
        var groups: [(app: String, dyno: String, pgid: pid_t)] = []
        for name in Files.folders(in: root.appsDirectory) where AppName.isValid(name) {
            guard let status = try? AppStatus.load(from: root.state(name)) else { continue }
            for process in status.processes {
                guard let pid = process.pid, let ticks = process.startTicks, ProcessStat.read(pid)?.startTicks == ticks
                else {
                    continue
                }
                groups.append((name, process.dyno, pid))
            }
        }
        guard !groups.isEmpty else { return }
        for group in groups {
            logs.log(group.app, group.dyno, "Left running by a previous watcher (pid \(group.pgid)): stopping it")
            ProcessGroup.signal(group.pgid, SIGTERM)
            ProcessGroup.signal(group.pgid, SIGCONT)
        }
        let deadline = clock.now + settings.grace
        while clock.now < deadline && groups.contains(where: { ProcessGroup.exists($0.pgid) }) {
            usleep(100_000)
        }
        for group in groups where ProcessGroup.exists(group.pgid) { ProcessGroup.signal(group.pgid, SIGKILL) }
    }

    /// Every group being stopped gets SIGKILL at the next pass (SIGTERM came again).
    func killNow() {
        for index in stopOrders.indices { stopOrders[index].killAt = clock.now }
    }
}
