import Foundation
import SlipwayDynos
import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// A one-off dyno (`run.N`): what it runs, since when, and who to tell when it ends.
final class OneOffDyno {
    let name: String
    let release: UnpackedRelease
    let command: String
    /// Whether its output goes to the app's log (`run --detach`) rather than to a session.
    let detached: Bool
    let startedAt = Date()
    let startedInstant = ContinuousClock.now
    /// Its process's start time, to tell it from a later process with the same pid.
    var startTicks: UInt64?
    /// Called on the watcher's thread with the exit status of its first process.
    let onExit: (ExitStatus) -> Void

    init(
        name: String, release: UnpackedRelease, command: String, detached: Bool,
        onExit: @escaping (ExitStatus) -> Void
    ) {
        self.name = name
        self.release = release
        self.command = command
        self.detached = detached
        self.onExit = onExit
    }
}

/// One-off dynos asked for at the door (`run myapp -- bash`) through the control socket: each starts on the SSH
/// session's descriptors (or into the app's log, `--detach`), and an attached one stops when its session ends.
/// They run on this machine whatever the engine, in the same sandbox, user and limits as the local engine's dynos.
/// `ps` lists them; `ps:stop` stops one; an app has at most `--max-detached-runs` detached ones at once, and each is
/// stopped after `--one-off-lifetime` (24 hours, as Heroku does).
final class OneOffDynos {
    /// Where a one-off dyno's output goes.
    enum Output {
        /// Attached: stdin, stdout and stderr are these descriptors (an SSH session's, passed over the control
        /// socket); the watcher keeps no copy of them after the start.
        case descriptors(stdin: Int32, stdout: Int32, stderr: Int32)
        /// Detached (`run --detach`): stdin from /dev/null, the output into the app's log.
        case log
    }

    unowned let watcher: Watcher
    let processes: LocalProcesses
    /// Where the door asks for one-off dynos; nil until the watcher runs.
    var control: ControlSocket?
    /// The attached ones running, by pid.
    private var attachedRuns: [pid_t: PendingRun] = [:]

    init(watcher: Watcher, processes: LocalProcesses) {
        self.watcher = watcher
        self.processes = processes
    }

    /// Starts a one-off dyno for every request waiting on the control socket (or stops the one a `ps:stop` names),
    /// stops the attached ones whose door has gone, and the ones past their lifetime.
    func serve() {
        guard let control else { return }
        for run in control.accept() {
            if run.request.stop != nil { stop(run, control: control) } else { start(run, control: control) }
        }
        for (pid, run) in attachedRuns where run.isClosed {
            attachedRuns[pid] = nil
            stop(pid, app: run.request.app)
        }
        let lifetime = watcher.settings.oneOffLifetime
        for (pid, leader) in processes.leaders where !leader.stopping {
            guard let dyno = leader.oneOff, ContinuousClock.now - dyno.startedInstant >= lifetime else { continue }
            watcher.log(
                leader.app, dyno.name,
                "One-off dynos run at most \(formatAge(seconds: Int(lifetime.components.seconds))) (slugrunner "
                    + "watch --one-off-lifetime): stopping it")
            stop(pid, app: leader.app)
        }
    }

    /// `ps:stop <app> run.N`.
    private func stop(_ run: PendingRun, control: ControlSocket) {
        let request = run.request
        let name = request.stop ?? ""
        let match = processes.leaders.first { $0.value.app == request.app && $0.value.oneOff?.name == name }
        guard let pid = match?.key else {
            control.failed(run, "\(request.app) has no one-off dyno \(name) running: ps \(request.app) lists them")
            return
        }
        watcher.log(request.app, name, "Stop asked for by \(request.user ?? "operator")")
        stop(pid, app: request.app)
        control.stopping(run, dyno: name)
    }

    /// The one-off dynos of `app` running or stopping, for `ps`.
    func processes(of app: String) -> [AppStatus.Process] {
        processes.leaders.compactMap { pid, leader in
            guard leader.app == app, let dyno = leader.oneOff else { return nil }
            return AppStatus.Process(
                dyno: dyno.name, type: "run", state: leader.stopping ? "stopping" : "up", port: 0, pid: pid,
                release: dyno.release.version, startedAt: AppStatus.isoTime(dyno.startedAt), uptime: nil,
                restarts: 0, crashLoop: false, command: dyno.command, startTicks: dyno.startTicks,
                memoryBytes: processes.memoryBytes(ofGroup: pid).map(Int.init))
        }
    }

    private func start(_ run: PendingRun, control: ControlSocket) {
        let request = run.request
        guard AppName.isValid(request.app), let app = watcher.apps[request.app], app.current != nil else {
            control.failed(run, "\(request.app) has no release running on this runner: push it first")
            return
        }
        let limit = watcher.settings.maxDetachedRuns
        if request.detach
            && processes.leaders.values.filter({ $0.app == app.name && $0.oneOff?.detached == true }).count >= limit
        {
            control.failed(
                run,
                "\(app.name) already has \(limit) detached one-off dynos running, the most this server allows: "
                    + "stop one with ps:stop \(app.name) run.N, or wait for one to end")
            return
        }
        let name = nextName(app.name)
        let output: Output =
            request.detach
            ? .log : .descriptors(stdin: run.stdin, stdout: run.stdout, stderr: run.stderr)
        do {
            var terminal: [String: String] = [:]
            if let columns = request.columns { terminal["COLUMNS"] = String(columns) }
            if let lines = request.lines { terminal["LINES"] = String(lines) }
            let pid = try launch(
                app: app.name, name: name, command: request.command, output: output, environment: terminal,
                detached: request.detach
            ) {
                [weak self] status in
                guard let self else { return }
                self.attachedRuns = self.attachedRuns.filter { $0.value !== run }
                if !request.detach { self.control?.finished(run, status: status) }
            }
            // The session ends when the dyno (which has its own copies) is done, not when the runner lets go.
            run.closeSessionDescriptors()
            control.started(run, dyno: name)
            if !request.detach { attachedRuns[pid] = run }
        } catch {
            run.closeSessionDescriptors()
            control.failed(run, "\(error)")
        }
    }

    /// `run.N` with the smallest N no running one-off dyno of `app` has.
    func nextName(_ app: String) -> String {
        let used = Set(processes.leaders.values.filter { $0.app == app }.map(\.label))
        return (1...).lazy.map { DynoName.oneOff($0).description }.first { !used.contains($0) } ?? "run.1"
    }

    /// Starts `command` as the one-off dyno `name` (``nextName(_:)``) of `app`'s current release, in the same
    /// sandbox, user and limits as its other dynos (its type's memory is `run`'s), with the release's config vars.
    /// `environment` goes over the config vars (`COLUMNS` and `LINES` of the session's terminal).
    /// Returns its pid (its process group: ``stop(_:app:)`` ends it early). `onExit` gets its exit status on the
    /// watcher's thread; its copy and group are removed then.
    func launch(
        app name: String, name dyno: String, command: String, output: Output,
        environment: [String: String] = [:], detached: Bool = false, onExit: @escaping (ExitStatus) -> Void
    ) throws -> pid_t {
        let app = watcher.runtime(name)
        guard let release = app.current else {
            throw RunnerError(.notFound, "slugrunner: \(name) has no release running; push one first")
        }
        let place = try processes.prepare(app: name, dyno: dyno, type: "run", release: release)
        let launch = ProcessLaunch(
            home: place?.home ?? release.home, command: command,
            configVars: release.manifest.configVars.merging(environment) { _, terminal in terminal },
            port: try processes.port(), dyno: dyno)
        watcher.log(name, dyno, "Starting process of \(release.label) with command `\(command)`")
        let stdio: Spawner.Stdio? =
            switch output {
            case .descriptors(let stdin, let stdout, let stderr):
                .descriptors(stdin: stdin, stdout: stdout, stderr: stderr)
            case .log: nil
            }
        let run = OneOffDyno(name: dyno, release: release, command: command, detached: detached, onExit: onExit)
        let pid = try processes.spawn(
            launch, app: name, label: dyno, release: release, place: place, oneOff: run, stdio: stdio
        ) { status, _ in run.onExit(status) }
        run.startTicks = ProcessStat.read(pid)?.startTicks
        return pid
    }

    /// Stops the one-off dyno `pid` of `app` (its SSH session ended): SIGTERM, SIGKILL after the grace period.
    func stop(_ pid: pid_t, app: String) {
        guard let run = processes.leaders[pid]?.oneOff, watcher.apps[app] != nil else { return }
        processes.stopGroup(pid, app: app, label: run.name, release: run.release)
    }

    /// Stops every one-off dyno (the watcher stops).
    func stopAll() {
        for (pid, leader) in processes.leaders where leader.oneOff != nil { stop(pid, app: leader.app) }
    }
}
