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

/// Dynos' isolation and limits as the watcher uses them: each start's place, memory errors, one-off dynos.
extension Watcher {
    /// Where a one-off dyno's output goes.
    enum OneOffOutput {
        /// Attached: stdin, stdout and stderr are these descriptors (an SSH session's, passed over the control
        /// socket); the watcher keeps no copy of them after the start.
        case descriptors(stdin: Int32, stdout: Int32, stderr: Int32)
        /// Detached (`run --detach`): stdin from /dev/null, the output into the app's log.
        case log
    }

    /// The place of a new start of `dyno` (its copy, sandbox and control group); nil before the watcher runs.
    func prepareDyno(app: AppRuntime, dyno: String, type: String, release: UnpackedRelease) throws -> DynoPlace? {
        try isolation?.prepare(app: app.name, dyno: dyno, type: type, release: release)
    }

    /// Spawns `launch` in a session of its own with its output logged (or on the given descriptors), confined in
    /// `place` when given; registers it as a leader. A place whose process cannot start is removed.
    func spawn(
        _ launch: ProcessLaunch, app: AppRuntime, label: String, release: UnpackedRelease, dyno: Dyno?,
        place: DynoPlace?, kind: Leader.Kind? = nil, stdio: Spawner.Stdio? = nil
    ) throws -> pid_t {
        for name in launch.skippedVariables {
            log(app.name, label, "Config var \(name) left out: its name or value cannot be in an environment")
        }
        let pid: pid_t
        do {
            if let stdio {
                pid = try Spawner.start(launch, stdio: stdio, grouping: .newSession, place: place)
            } else {
                let pipe = try Spawner.outputPipe()
                defer { close(pipe.writeEnd) }
                do {
                    pid = try Spawner.start(
                        launch, stdio: .pipe(write: pipe.writeEnd), grouping: .newSession, place: place)
                } catch {
                    close(pipe.readEnd)
                    throw error
                }
                outputs[pipe.readEnd] = OutputStream(fd: pipe.readEnd, app: app.name, label: label)
            }
        } catch {
            if let place { isolation?.discard(place) }
            throw error
        }
        if let place { isolation?.started(place, pid: pid) }
        leaders[pid] = Leader(
            app: app.name, label: label, kind: kind ?? dyno.map { .dyno($0) } ?? .releasePhase, entry: release.entry,
            release: release.label)
        return pid
    }

    /// The memory `dyno` uses now, in bytes (for `ps`); nil when it does not run or has no control group.
    func memoryBytes(of dyno: Dyno) -> Int64? {
        dyno.pid.flatMap { isolation?.memoryBytes($0) }
    }

    /// The memory the process group `pid` (a dyno, a one-off dyno, the release phase) uses now, in bytes.
    func memoryBytes(ofGroup pid: pid_t) -> Int64? {
        isolation?.memoryBytes(pid)
    }

    /// Logs the running dynos' memory errors; a dyno the kernel killed a process of (R15) is stopped whole with
    /// SIGKILL, so that it restarts as a crash.
    func watchMemory() {
        for (place, event) in isolation?.memoryEvents() ?? [] { report(event, of: place) }
    }

    /// Logs the memory errors of `place` since the last look (its first process just ended).
    func reportMemory(of place: DynoPlace) {
        for event in place.watch?.check() ?? [] { report(event, of: place) }
    }

    private func report(_ event: MemoryWatch.Event, of place: DynoPlace) {
        guard apps[place.app] != nil else { return }
        for line in MemoryWatch.lines(event, limitBytes: Int64(place.memoryMB) << 20) {
            log(place.app, place.dyno, line)
        }
        if case .killed = event, let pid = place.pid, leaders[pid] != nil { ProcessGroup.signal(pid, SIGKILL) }
    }

    /// `run.N` with the smallest N no running one-off dyno of `app` has.
    func nextOneOffName(_ app: String) -> String {
        let used = Set(leaders.values.filter { $0.app == app }.map(\.label))
        return (1...).lazy.map { "run.\($0)" }.first { !used.contains($0) } ?? "run.1"
    }

    /// Starts `command` as the one-off dyno `name` (``nextOneOffName(_:)``) of `app`'s current release, in the same
    /// sandbox, user and limits as its other dynos (its type's memory is `run`'s), with the release's config vars.
    /// `environment` goes over the config vars (`COLUMNS` and `LINES` of the session's terminal).
    /// Returns its pid (its process group: ``stopOneOff(_:app:)`` ends it early). `onExit` gets its exit status on the
    /// watcher's thread; the watcher then removes its copy and group.
    func launchOneOff(
        app name: String, name dyno: String, command: String, output: OneOffOutput,
        environment: [String: String] = [:], onExit: @escaping (ExitStatus) -> Void
    ) throws -> pid_t {
        let app = runtime(name)
        guard let release = app.current else {
            throw RunnerError(.notFound, "slugrunner: \(name) has no release running; push one first")
        }
        let place = try prepareDyno(app: app, dyno: dyno, type: "run", release: release)
        let launch = ProcessLaunch(
            home: place?.home ?? release.home, command: command,
            configVars: release.manifest.configVars.merging(environment) { _, terminal in terminal },
            port: (try? freePort()) ?? 0, dyno: dyno)
        log(name, dyno, "Starting process of \(release.label) with command `\(command)`")
        let stdio: Spawner.Stdio? =
            switch output {
            case .descriptors(let stdin, let stdout, let stderr):
                .descriptors(stdin: stdin, stdout: stdout, stderr: stderr)
            case .log: nil
            }
        return try spawn(
            launch, app: app, label: dyno, release: release, dyno: nil, place: place,
            kind: .oneOff(OneOffDyno(name: dyno, release: release, onExit: onExit)), stdio: stdio)
    }

    /// Stops the one-off dyno `pid` of `app` (its SSH session ended): SIGTERM, SIGKILL after the grace period.
    func stopOneOff(_ pid: pid_t, app: String) {
        guard let leader = leaders[pid], case .oneOff(let run) = leader.kind, let runtime = apps[app] else { return }
        stopGroup(pid, app: runtime, label: run.name, release: run.release)
    }

    /// Stops every one-off dyno (the watcher stops).
    func stopOneOffs() {
        for (pid, leader) in leaders {
            if case .oneOff = leader.kind { stopOneOff(pid, app: leader.app) }
        }
    }
}
