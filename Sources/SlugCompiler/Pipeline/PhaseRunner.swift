import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Runs buildpack scripts for one build: `bin/detect`, `bin/compile`, the `export` file and `bin/release`, each in
/// the build's sandbox, with its deadline, the signals that cancel it and the keep-alive lines, and turns what can go
/// wrong with a process (a spawn failure, a timeout, a signal, a full disk) into a ``BuildError``.
///
/// It also shows what buildpacks print, sanitised and capped, and keeps their last lines for the failure summary.
final class PhaseRunner {
    let options: BuildOptions
    let console: Console
    let signals: SignalWatcher?
    /// How buildpacks run (sandbox, user, limits); nil until the workspace exists.
    let plan: BuildSandbox.Plan?
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private let deadline: ContinuousClock.Instant
    /// The last lines a buildpack printed, for the failure summary.
    private(set) var recentLines: [String] = []
    /// Bytes of buildpack output shown so far (capped at ``BuildOptions/outputLimit``).
    private var outputShown = 0

    init(
        options: BuildOptions, console: Console, signals: SignalWatcher?, plan: BuildSandbox.Plan?,
        started: ContinuousClock.Instant, deadline: ContinuousClock.Instant
    ) {
        self.options = options
        self.console = console
        self.signals = signals
        self.plan = plan
        self.started = started
        self.deadline = deadline
    }

    /// Runs `bin/detect` of every buildpack side by side (detection only reads the app), and returns what each
    /// said, in order: the name it printed when it accepts the app, nil when it does not.
    func detectAll(_ buildpacks: [Buildpack], _ workspace: Workspace, environment: [String: String]) throws
        -> [String?]
    {
        var started: [(Buildpack, ChildProcess.Started)] = []
        defer { for (_, child) in started { child.cancel() } }
        for buildpack in buildpacks {
            let child = configured(
                ChildProcess(
                    executable: buildpack.detectPath, arguments: [workspace.buildDirectory], environment: environment,
                    directory: workspace.buildDirectory, stdout: .capture(limit: 64 * 1024)))
            started.append(
                (
                    buildpack,
                    try reportingFailures(buildpack, phase: .detect, timeoutCode: .detectTimedOut) {
                        try child.start()
                    }
                ))
        }
        var names: [String?] = []
        while !started.isEmpty {
            let (buildpack, child) = started.removeFirst()
            let result = try reportingFailures(buildpack, phase: .detect, timeoutCode: .detectTimedOut) {
                try child.wait()
            }
            guard result.status.succeeded else {
                names.append(nil)
                continue
            }
            let firstLine = String(decoding: result.stdout, as: UTF8.self).split(whereSeparator: \.isNewline)
                .first.map { $0.trimmingSpaces() }
            names.append((firstLine?.isEmpty == false ? firstLine : nil) ?? buildpack.name)
        }
        return names
    }

    /// Runs `bin/compile BUILD_DIR CACHE_DIR ENV_DIR`, streaming every line it prints.
    func compile(_ buildpack: Buildpack, _ workspace: Workspace, environment: [String: String]) throws {
        recentLines.removeAll()
        let child = ChildProcess(
            executable: buildpack.compilePath,
            arguments: [workspace.buildDirectory, options.cacheDirectory, workspace.envDirectory],
            environment: environment, directory: workspace.buildDirectory, stdout: .lines(streamLine))
        let result = try run(child, buildpack: buildpack, phase: .compile, timeoutCode: .compileTimedOut)
        guard result.status.succeeded else {
            throw BuildError(
                .compileFailed, "Failed to compile \(buildpack.name) app.", buildpack: buildpack.name,
                processStatus: result.status.code)
        }
    }

    /// Sources the buildpack's `export` file, if it wrote one, into the environment of the buildpacks after it.
    func applyExport(of buildpack: Buildpack, to environment: [String: String]) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: buildpack.exportPath) else { return environment }
        let child = ChildProcess(
            executable: "/bin/bash",
            arguments: ["-c", ". \"$1\" >/dev/null 2>&1 && env -0", "export", buildpack.exportPath],
            environment: environment, stdout: .capture(limit: 4 * 1024 * 1024), stderr: .lines(streamLine))
        let result = try run(child, buildpack: buildpack, phase: .compile, timeoutCode: .compileTimedOut)
        guard result.status.succeeded else {
            throw BuildError(
                .compileFailed, "The export file of \(buildpack.name) failed to load (exit \(result.status.code)).",
                hint: "Fix the buildpack's export file.", buildpack: buildpack.name, processStatus: result.status.code)
        }
        var exported: [String: String] = [:]
        for entry in result.stdout.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let eq = text.firstIndex(of: "=") else { continue }
            let key = String(text[..<eq])
            if ["PWD", "OLDPWD", "SHLVL", "_"].contains(key) { continue }
            exported[key] = String(text[text.index(after: eq)...])
        }
        return exported
    }

    /// Runs `bin/release BUILD_DIR` (optional) and parses its YAML.
    func runRelease(_ buildpack: Buildpack, _ workspace: Workspace, environment: [String: String]) throws
        -> ReleaseInfo
    {
        guard access(buildpack.releasePath, X_OK) == 0 else { return ReleaseInfo() }
        recentLines.removeAll()
        let child = ChildProcess(
            executable: buildpack.releasePath, arguments: [workspace.buildDirectory], environment: environment,
            directory: workspace.buildDirectory, stdout: .capture(limit: 1024 * 1024), stderr: .lines(streamLine))
        let result = try run(child, buildpack: buildpack, phase: .release, timeoutCode: .releaseTimedOut)
        guard result.status.succeeded else {
            throw BuildError(
                .releaseFailed, "bin/release of \(buildpack.name) failed.", buildpack: buildpack.name,
                processStatus: result.status.code)
        }
        return try ReleaseInfo(yaml: String(decoding: result.stdout, as: UTF8.self), buildpack: buildpack.name)
    }

    /// Shows one line of buildpack output: sanitised (a buildpack never drives the pusher's terminal: only colour
    /// codes pass), and only up to ``BuildOptions/outputLimit`` bytes in all.
    func streamLine(_ raw: String) {
        let line = TerminalText.sanitize(raw)
        if outputShown <= options.outputLimit {
            outputShown += line.utf8.count + 1
            if outputShown > options.outputLimit {
                console.error(
                    "The buildpack printed more than \(options.outputLimit >> 20) MB; the rest of its output is not shown or logged (the build goes on)."
                )
            } else {
                console.raw(line)
            }
        }
        recentLines.append(line)
        if recentLines.count > 20 { recentLines.removeFirst(recentLines.count - 20) }
    }

    /// Runs a buildpack script, turning spawn failures, timeouts and signals into build errors.
    func run(_ child: ChildProcess, buildpack: Buildpack, phase: BuildPhase, timeoutCode: BuildError.Code) throws
        -> ChildProcess.Result
    {
        let child = configured(child)
        return try reportingFailures(buildpack, phase: phase, timeoutCode: timeoutCode) { try child.run() }
    }

    /// The child with the build's deadline, the signals that cancel it and the keep-alive lines.
    func configured(_ child: ChildProcess) -> ChildProcess {
        var child = child
        child.deadline = deadline
        child.signals = signals
        if let plan {
            (child.executable, child.arguments) = plan.wrap(
                plan.inside(child.executable), child.arguments.map { plan.inside($0) })
            child.watchdog = { [options] in Self.diskWatch(plan, minimum: options.minimumFreeSpace) }
        }
        if let interval = options.keepAliveInterval {
            child.idleInterval = interval
            child.onIdle = { [console, clock, started] in
                console.detail("... still working (\(formatDuration(clock.now - started)) so far)")
            }
        }
        return child
    }

    /// Runs `body`, turning spawn failures, timeouts and signals into build errors.
    func reportingFailures<T>(
        _ buildpack: Buildpack, phase: BuildPhase, timeoutCode: BuildError.Code, _ body: () throws -> T
    ) throws -> T {
        do {
            return try body()
        } catch ChildProcessError.timedOut {
            throw BuildError(
                timeoutCode,
                "The build timed out after \(formatDuration(options.timeout)) in \(phase.rawValue) (\(buildpack.name)); every process it started was stopped.",
                hint: "Make the build faster, or raise --timeout.", buildpack: buildpack.name)
        } catch ChildProcessError.interrupted(let signal) {
            throw BuildError(
                .interrupted(signal: signal), "The build was interrupted (\(signalName(signal))).", phase: phase,
                buildpack: buildpack.name)
        } catch ChildProcessError.stopped(let reason) {
            throw BuildError(
                .buildStopped, "The build was stopped in \(phase.rawValue) (\(buildpack.name)): \(reason).",
                hint: "Make the build use less disk space, or free some on the server.", phase: phase,
                buildpack: buildpack.name)
        } catch ChildProcessError.spawnFailed(let path, let code) {
            throw BuildError(
                .buildpackInvalid,
                "Cannot run \((path as NSString).lastPathComponent) of buildpack \(buildpack.reference): \(String(cString: strerror(code))).",
                hint: "Check its #! line and that it is executable.", phase: phase, buildpack: buildpack.name)
        }
    }

    /// Why the build must stop now, if the disk holding its folders or its cache is nearly full.
    static func diskWatch(_ plan: BuildSandbox.Plan, minimum: Int64) -> String? {
        for folder in [plan.outside.build, plan.outside.cache] {
            var info = statvfs()
            guard statvfs(folder, &info) == 0 else { continue }
            let free = Int64(info.f_bavail) * Int64(info.f_frsize)
            if free < minimum {
                return
                    "the disk holding \(folder == plan.outside.build ? "the build" : "the cache") has only \(free >> 20) MB free"
            }
        }
        return nil
    }
}
