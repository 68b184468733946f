import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// A one-off dyno (`run.N`): who to tell when it ends.
final class OneOffDyno {
    let name: String
    let release: UnpackedRelease
    /// Called on the watcher's thread with the exit status of its first process.
    let onExit: (ExitStatus) -> Void

    init(name: String, release: UnpackedRelease, onExit: @escaping (ExitStatus) -> Void) {
        self.name = name
        self.release = release
        self.onExit = onExit
    }
}

/// One-off dynos asked for at the door (`run myapp -- bash`) through the control socket: each starts on the SSH
/// session's descriptors (or into the app's log, `--detach`), and an attached one stops when its session ends.
/// They run on this machine whatever the engine, in the same sandbox, user and limits as the local engine's dynos.
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

    /// Starts a one-off dyno for every request waiting on the control socket, and stops the attached ones whose
    /// door has gone.
    func serve() {
        guard let control else { return }
        for run in control.accept() { start(run, control: control) }
        for (pid, run) in attachedRuns where run.isClosed {
            attachedRuns[pid] = nil
            stop(pid, app: run.request.app)
        }
    }

    private func start(_ run: PendingRun, control: ControlSocket) {
        let request = run.request
        guard AppName.isValid(request.app), let app = watcher.apps[request.app], app.current != nil else {
            control.failed(run, "\(request.app) has no release running on this runner: push it first")
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
                app: app.name, name: name, command: request.command, output: output, environment: terminal
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
        return (1...).lazy.map { "run.\($0)" }.first { !used.contains($0) } ?? "run.1"
    }

    /// Starts `command` as the one-off dyno `name` (``nextName(_:)``) of `app`'s current release, in the same
    /// sandbox, user and limits as its other dynos (its type's memory is `run`'s), with the release's config vars.
    /// `environment` goes over the config vars (`COLUMNS` and `LINES` of the session's terminal).
    /// Returns its pid (its process group: ``stop(_:app:)`` ends it early). `onExit` gets its exit status on the
    /// watcher's thread; its copy and group are removed then.
    func launch(
        app name: String, name dyno: String, command: String, output: Output,
        environment: [String: String] = [:], onExit: @escaping (ExitStatus) -> Void
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
        let run = OneOffDyno(name: dyno, release: release, onExit: onExit)
        return try processes.spawn(
            launch, app: name, label: dyno, release: release, place: place, oneOff: run, stdio: stdio
        ) { status, _ in run.onExit(status) }
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
