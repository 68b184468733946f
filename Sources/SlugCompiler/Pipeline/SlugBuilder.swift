import Foundation
import SlipwayGit
import SlipwaySpool

#if canImport(Glibc)
    import Glibc
#endif

/// What a successful build produced.
public struct BuildResult: Sendable {
    /// The manifest, as written to `release.json`.
    public var manifest: ReleaseManifest
    public var slugPath: String
    public var manifestPath: String
    /// The config vars the buildpacks' `bin/release` gave as defaults (before the app's own were merged over them).
    public var buildpackConfigVars: [String: String] = [:]
}

/// The slug compiler: copies the app, runs buildpacks (detect, compile, release), reads the Procfile, packs the slug
/// and writes the release manifest, printing every step and every buildpack line as it happens.
///
/// A failed build prints one summary block, removes its workspace and temporary outputs, and throws a
/// ``BuildError`` whose code gives the exit status. Nothing is written to the output folder unless the build succeeds.
public final class SlugBuilder {
    let options: BuildOptions
    let console: Console
    let signals: SignalWatcher?
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private let deadline: ContinuousClock.Instant
    /// The last lines a buildpack printed, for the failure summary.
    private var recentLines: [String] = []
    private var timings: [String: Double] = [:]
    /// How buildpacks run, decided once the workspace exists.
    private var plan: Sandbox.Plan?
    /// Bytes of buildpack output shown so far (capped at ``BuildOptions/outputLimit``).
    private var outputShown = 0

    /// Extra lines for the failure summary (the push hook adds the build id and how to see the whole log).
    public var failureExtras: [(String, String)] = []
    /// Why the build was interrupted, when the caller knows better than the signal (the push hook: who cancelled it
    /// with `builds:cancel`); asked once, after the interruption.
    public var interruptionReason: (() -> String?)?

    public init(options: BuildOptions, console: Console, signals: SignalWatcher? = nil) {
        self.options = options
        self.console = console
        self.signals = signals
        started = clock.now
        deadline = started + options.timeout
    }

    /// Runs the whole build.
    public func build() throws -> BuildResult {
        do {
            return try runBuild()
        } catch var error as BuildError {
            if case .interrupted = error.code, let reason = interruptionReason?() { error.message = reason }
            FailureReport(
                error: error, elapsed: clock.now - started, lastLines: recentLines, pushWording: options.pushWording,
                extra: failureExtras
            ).print(to: console)
            throw error
        }
    }

    /// Prints which buildpacks would run for the app, without compiling anything.
    public func detectOnly() throws -> [(reference: BuildpackReference, name: String)] {
        let workspace = try prepareWorkspace()
        let cache = "\(workspace.root)/cache"
        mkdir(cache, 0o700)
        try makePlan(workspace, cache: cache)
        let (buildpacks, _) = try selectBuildpacks(workspace)
        return buildpacks.map { ($0.reference, $0.name) }
    }

    // MARK: - Phases

    private func runBuild() throws -> BuildResult {
        try validateAppDirectory()
        let commit = sourceCommit()
        let sourceVersion = options.sourceVersion ?? commit?.sha
        let short = sourceVersion.map { " (\($0.prefix(7)))" } ?? ""
        console.step("Building \(options.appName)\(short) on \(options.stack)")
        let workspace = try prepareWorkspace()

        try prepareCacheDirectory()
        try workspace.writeEnvDirectory(options.configVars)
        try makePlan(workspace, cache: options.cacheDirectory)

        let detectStart = clock.now
        let (buildpacks, _) = try selectBuildpacks(workspace)
        timings["detect"] = seconds(clock.now - detectStart)

        var environment = baseEnvironment(workspace, sourceVersion: sourceVersion)
        let compileStart = clock.now
        for buildpack in buildpacks {
            try compile(buildpack, workspace, environment: environment)
            environment = try applyExport(of: buildpack, to: environment)
        }
        timings["compile"] = seconds(clock.now - compileStart)

        let releaseStart = clock.now
        var release = ReleaseInfo()
        for buildpack in buildpacks {
            let info = try runRelease(buildpack, workspace, environment: environment)
            release.addons += info.addons.filter { !release.addons.contains($0) }
            release.configVars.merge(info.configVars) { _, new in new }
            release.defaultProcessTypes.merge(info.defaultProcessTypes) { _, new in new }
        }
        let processTypes = try discoverProcessTypes(workspace, defaults: release.defaultProcessTypes)
        timings["release"] = seconds(clock.now - releaseStart)

        let packStart = clock.now
        let mtime = options.sourceDateEpoch ?? commit?.time ?? 0
        var result = try pack(
            workspace, mtime: mtime,
            manifest: { slug in
                var configVars = release.configVars
                for key in self.options.configVars.keys { configVars.removeValue(forKey: key) }
                if self.options.includeConfigInManifest { configVars.merge(self.options.configVars) { _, user in user } }
                self.timings["pack"] = self.seconds(self.clock.now - packStart)
                return ReleaseManifest(
                    app: self.options.appName, stack: self.options.stack, sourceVersion: sourceVersion,
                    buildpacks: buildpacks.map { .init(url: $0.reference.description, name: $0.name) },
                    processTypes: processTypes, configVars: configVars, addons: release.addons, slug: slug,
                    createdAt: ISO8601DateFormatter().string(from: Date()), timings: self.timings)
            })
        result.buildpackConfigVars = release.configVars
        return result
    }

    private func validateAppDirectory() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: options.appDirectory, isDirectory: &isDirectory) else {
            throw BuildError(
                .appDirectoryInvalid, "App directory \(options.appDirectory) does not exist.",
                hint: "Pass the folder that holds the app's source.")
        }
        guard isDirectory.boolValue else {
            throw BuildError(
                .appDirectoryInvalid, "App directory \(options.appDirectory) is not a directory.",
                hint: "Pass the folder that holds the app's source.")
        }
    }

    /// Creates the workspace and copies the app into it, applying `.slugignore`.
    private func prepareWorkspace() throws -> Workspace {
        try validateAppDirectory()
        let parent = options.temporaryDirectory ?? ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        let workspace = try Workspace(under: parent)
        let ignoreText = (try? String(contentsOfFile: "\(options.appDirectory)/.slugignore", encoding: .utf8)) ?? ""
        var copier = AppCopier(
            ignore: SlugIgnore(parsing: ignoreText),
            excluding: [workspace.root, options.outputDirectory, options.cacheDirectory])
        do {
            try copier.copy(from: options.appDirectory, to: workspace.buildDirectory)
        } catch {
            throw BuildError(
                .appDirectoryInvalid, "Cannot copy the app: \(error).", hint: "Make every file in the app readable.")
        }
        if copier.ignoredCount > 0 {
            console.step("Deleting \(copier.ignoredCount) \(copier.ignoredCount == 1 ? "entry" : "entries") matching .slugignore patterns")
        }
        for path in copier.skipped { console.error("Warning: skipped \(path): not a file, folder or symlink.") }
        return workspace
    }

    /// The app's git HEAD (or the commit named by `--source-version`), when the app folder is a git checkout.
    private func sourceCommit() -> CommitInfo? {
        guard FileManager.default.fileExists(atPath: "\(options.appDirectory)/.git"),
            let repository = try? Repository.open(at: options.appDirectory)
        else { return nil }
        if let version = options.sourceVersion { return try? repository.commit(version) }
        return try? repository.headCommit()
    }

    /// Decides how buildpacks run (sandbox, user, limits) and hands the build's folders to the build user.
    private func makePlan(_ workspace: Workspace, cache: String) throws {
        let plan = try options.sandbox.plan(
            for: .init(
                build: workspace.buildDirectory, cache: cache, env: workspace.envDirectory,
                home: workspace.homeDirectory, tmp: workspace.tmpDirectory, buildpacks: workspace.buildpacksDirectory))
        do {
            try plan.prepare()
        } catch {
            throw BuildError(
                .outputUnwritable, "Cannot hand the build's folders to the build user: \(error).",
                hint: "Run as root, or set SLIPWAY_BUILD_USER to an empty value to build as this user.")
        }
        self.plan = plan
    }

    private func prepareCacheDirectory() throws {
        do {
            try FileManager.default.createDirectory(atPath: options.cacheDirectory, withIntermediateDirectories: true)
        } catch {
            throw BuildError(
                .outputUnwritable, "Cannot create the cache folder \(options.cacheDirectory).",
                hint: "Pass a writable folder with --cache-dir.")
        }
        guard access(options.cacheDirectory, W_OK) == 0 else {
            throw BuildError(
                .outputUnwritable, "The cache folder \(options.cacheDirectory) is not writable.",
                hint: "Pass a writable folder with --cache-dir.")
        }
    }

    /// Chooses the buildpacks: explicit ones (`-b`, `.buildpacks`, `BUILDPACK_URL`) must each detect the app;
    /// otherwise the first built-in that detects it wins.
    private func selectBuildpacks(_ workspace: Workspace) throws -> ([Buildpack], Bool) {
        let builtins = options.builtinBuildpacks ?? BuiltinBuildpacks.locate()
        let names = BuiltinBuildpacks.detectionOrder
        var explicit = options.buildpacks.map { BuildpackReference($0, builtinNames: names) }
        if explicit.isEmpty, let text = try? String(contentsOfFile: "\(workspace.buildDirectory)/.buildpacks", encoding: .utf8) {
            explicit = BuildpackReference.parseList(text, builtinNames: names)
        }
        if explicit.isEmpty, let url = options.configVars["BUILDPACK_URL"], !url.isEmpty {
            explicit = [BuildpackReference(url, builtinNames: names)]
        }
        let environment = baseEnvironment(workspace, sourceVersion: options.sourceVersion)

        if !explicit.isEmpty {
            var chosen: [Buildpack] = []
            for (index, reference) in explicit.enumerated() {
                if case .git = reference { console.step("Fetching buildpack \(reference)") }
                var buildpack = try Buildpack.fetch(
                    reference, into: "\(workspace.buildpacksDirectory)/\(index)", builtins: builtins)
                try handOver(buildpack)
                guard let name = try detect(buildpack, workspace, environment: environment) else {
                    throw BuildError(
                        .appNotCompatible, "App not compatible with buildpack: \(reference)",
                        hint: "bin/detect of that buildpack did not accept this app; check the app or the buildpack.",
                        buildpack: buildpack.name)
                }
                buildpack.name = name
                chosen.append(buildpack)
            }
            for buildpack in chosen { console.step("\(buildpack.name) app detected") }
            return (chosen, true)
        }

        let candidates = try names.enumerated().map { index, name in
            let buildpack = try Buildpack.fetch(
                .builtin(name), into: "\(workspace.buildpacksDirectory)/\(index)", builtins: builtins)
            try handOver(buildpack)
            return buildpack
        }
        var detected: [Buildpack] = []
        for (candidate, shown) in zip(candidates, try detectAll(candidates, workspace, environment: environment)) {
            guard let shown else { continue }
            var buildpack = candidate
            buildpack.name = shown
            detected.append(buildpack)
        }
        guard let first = detected.first else {
            throw BuildError(
                .noBuildpackDetected, "No default language could be detected for this app.",
                hint: "Add a Procfile, or choose a buildpack with -b (built-in: \(names.joined(separator: ", "))).")
        }
        // The procfile buildpack is the fallback; only real language matches count as ambiguous.
        let languages = detected.filter { $0.reference != .builtin("procfile") }
        if languages.count > 1 {
            console.step("Warning: several default buildpacks can build this app; the first one in the list is used.")
            console.detail("Detected buildpacks: " + languages.map { "\($0.name) (\($0.reference))" }.joined(separator: ", "))
            console.detail("Choose one with -b, or list several in a .buildpacks file to run them all.")
        }
        console.step("\(first.name) app detected")
        return ([first], false)
    }

    /// Gives a fetched buildpack's copy to the build user (it writes its `export` file there).
    private func handOver(_ buildpack: Buildpack) throws {
        guard let plan else { return }
        try plan.prepare(buildpack.directory)
    }

    /// Runs `bin/detect BUILD_DIR`; returns the name it printed when it accepts the app, nil when it does not.
    private func detect(_ buildpack: Buildpack, _ workspace: Workspace, environment: [String: String]) throws -> String? {
        try detectAll([buildpack], workspace, environment: environment)[0]
    }

    /// Runs `bin/detect` of every buildpack side by side (detection only reads the app), and returns what each
    /// said, in order: the name it printed when it accepts the app, nil when it does not.
    private func detectAll(_ buildpacks: [Buildpack], _ workspace: Workspace, environment: [String: String]) throws
        -> [String?]
    {
        var started: [(Buildpack, ChildProcess.Started)] = []
        defer { for (_, child) in started { child.cancel() } }
        for buildpack in buildpacks {
            let child = configured(
                ChildProcess(
                    executable: buildpack.detectPath, arguments: [workspace.buildDirectory], environment: environment,
                    directory: workspace.buildDirectory, stdout: .capture(limit: 64 * 1024)))
            started.append((buildpack, try reportingFailures(buildpack, phase: .detect, timeoutCode: .detectTimedOut) {
                try child.start()
            }))
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
    private func compile(_ buildpack: Buildpack, _ workspace: Workspace, environment: [String: String]) throws {
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
    private func applyExport(of buildpack: Buildpack, to environment: [String: String]) throws -> [String: String] {
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
    private func runRelease(_ buildpack: Buildpack, _ workspace: Workspace, environment: [String: String]) throws
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

    /// Merges the Procfile over the buildpacks' default process types and prints them as Heroku does.
    private func discoverProcessTypes(_ workspace: Workspace, defaults: [String: String]) throws -> [String: String] {
        console.step("Discovering process types")
        var types = defaults
        var declared: [String] = []
        let procfilePath = "\(workspace.buildDirectory)/Procfile"
        var st = stat()
        if lstat(procfilePath, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFREG, let text = try? String(contentsOfFile: procfilePath, encoding: .utf8) else {
                throw BuildError(
                    .procfileInvalid, "The Procfile is not a readable UTF-8 text file.", hint: "Fix the Procfile and build again.")
            }
            let procfile = try Procfile(parsing: text)
            declared = procfile.entries.map(\.name)
            for entry in procfile.entries { types[entry.name] = entry.command }
        }
        let fromDefaults = defaults.keys.filter { !declared.contains($0) }.sorted()
        if !declared.isEmpty { console.detail("Procfile declares types     -> " + declared.joined(separator: ", ")) }
        if !fromDefaults.isEmpty { console.detail("Default types for buildpack -> " + fromDefaults.joined(separator: ", ")) }
        if types.isEmpty { console.detail("No process types declared") }
        if types["web"] == nil {
            console.error("Warning: no 'web' process type: this app will not receive web traffic.")
            console.error("Add a line such as 'web: <command that listens on $PORT>' to the Procfile.")
        }
        return types
    }

    /// Packs the slug and writes the manifest under temporary names, then renames both into place.
    private func pack(
        _ workspace: Workspace, mtime: Int64, manifest makeManifest: (ReleaseManifest.Slug) throws -> ReleaseManifest
    ) throws -> BuildResult {
        let output = options.outputDirectory
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw BuildError(.outputUnwritable, "Cannot create the output folder \(output).", hint: "Pass a writable folder with -o.")
        }
        let token = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let slugName = options.compression.slugFileName
        let slugTemp = "\(output)/.\(slugName).\(token).tmp"
        let manifestTemp = "\(output)/.release.json.\(token).tmp"
        let slugPath = "\(output)/\(slugName)"
        let manifestPath = "\(output)/release.json"
        var renamedSlug = false
        var committed = false
        defer {
            if !committed {
                unlink(slugTemp)
                unlink(manifestTemp)
                if renamedSlug { unlink(slugPath) }
            }
        }

        let limit = Int64(options.maxSlugSizeMB) * 1_048_576
        var packer = SlugPacker(mtime: mtime, compression: options.compression)
        packer.checkpoint = { [self] in
            try signals?.check(phase: .pack)
            if clock.now >= deadline {
                throw BuildError(.packFailed, "The build ran past its time limit while packing the slug.")
            }
        }
        let packed: SlugPacker.Output
        do {
            packed = try packer.pack(workspace.buildDirectory, into: slugTemp)
        } catch let error as BuildError {
            throw error
        } catch {
            throw BuildError(.packFailed, "Could not write the slug: \(error).", hint: freeSpaceHint(output))
        }
        console.step("Compressing... done, \(formatSize(packed.size))")
        if packed.size > limit {
            throw BuildError(
                .slugTooLarge,
                "Compiled slug size: \(formatSize(packed.size)) is too large (max is \(options.maxSlugSizeMB)M).",
                hint: "Remove files from the slug with .slugignore, or raise --max-slug-size.")
        }
        if packed.size > 300 * 1_048_576 {
            console.error("Warning: Your slug size (\(formatSize(packed.size))) exceeds the soft limit (300M), which may affect boot time.")
        }
        let manifest = try makeManifest(
            .init(path: slugName, size: packed.size, sha256: packed.sha256, compression: options.compression.rawValue))
        do {
            try writeDurably(try manifest.encoded(), to: manifestTemp)
            guard rename(slugTemp, slugPath) == 0 else { throw FileTree.posixError("rename", slugPath) }
            renamedSlug = true
            guard rename(manifestTemp, manifestPath) == 0 else { throw FileTree.posixError("rename", manifestPath) }
            fsyncDirectory(output)
        } catch {
            throw BuildError(.packFailed, "Could not write the release: \(error).", hint: freeSpaceHint(output))
        }
        committed = true
        // A slug of the other compression left by an earlier build would no longer match release.json.
        for other in SlugCompression.allCases where other != options.compression {
            unlink("\(output)/\(other.slugFileName)")
        }
        if !options.pushWording {
            // A pusher has no use for the server's paths (and should not learn them).
            console.detail("Slug:     \(slugPath) (sha256 \(packed.sha256.prefix(12)))")
            console.detail("Manifest: \(manifestPath)")
        }
        return BuildResult(manifest: manifest, slugPath: slugPath, manifestPath: manifestPath)
    }

    // MARK: - Helpers

    /// The environment every buildpack starts from: nothing of the caller's but `PATH`.
    private func baseEnvironment(_ workspace: Workspace, sourceVersion: String?) -> [String: String] {
        [
            "STACK": options.stack,
            "SOURCE_VERSION": sourceVersion ?? "",
            "HOME": plan?.inside(workspace.homeDirectory) ?? workspace.homeDirectory,
            "PATH": options.path,
            "TMPDIR": plan?.inside(workspace.tmpDirectory) ?? workspace.tmpDirectory,
            "LANG": "C.UTF-8",
        ]
    }

    /// Shows one line of buildpack output: sanitised (a buildpack never drives the pusher's terminal: only colour
    /// codes pass), and only up to ``BuildOptions/outputLimit`` bytes in all.
    private func streamLine(_ raw: String) {
        let line = TerminalText.sanitize(raw)
        if outputShown <= options.outputLimit {
            outputShown += line.utf8.count + 1
            if outputShown > options.outputLimit {
                console.error(
                    "The buildpack printed more than \(options.outputLimit >> 20) MB; the rest of its output is not shown or logged (the build goes on).")
            } else {
                console.raw(line)
            }
        }
        recentLines.append(line)
        if recentLines.count > 20 { recentLines.removeFirst(recentLines.count - 20) }
    }

    /// Runs a buildpack script, turning spawn failures, timeouts and signals into build errors.
    private func run(_ child: ChildProcess, buildpack: Buildpack, phase: BuildPhase, timeoutCode: BuildError.Code) throws
        -> ChildProcess.Result
    {
        let child = configured(child)
        return try reportingFailures(buildpack, phase: phase, timeoutCode: timeoutCode) { try child.run() }
    }

    /// The child with the build's deadline, the signals that cancel it and the keep-alive lines.
    private func configured(_ child: ChildProcess) -> ChildProcess {
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
    private func reportingFailures<T>(
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
    static func diskWatch(_ plan: Sandbox.Plan, minimum: Int64) -> String? {
        for folder in [plan.outside.build, plan.outside.cache] {
            var info = statvfs()
            guard statvfs(folder, &info) == 0 else { continue }
            let free = Int64(info.f_bavail) * Int64(info.f_frsize)
            if free < minimum {
                return "the disk holding \(folder == plan.outside.build ? "the build" : "the cache") has only \(free >> 20) MB free"
            }
        }
        return nil
    }

    /// What to do when writing the output failed: a pusher learns nothing of the server's folders.
    private func freeSpaceHint(_ output: String) -> String {
        options.pushWording ? "The server may be out of disk space: tell its operator." : "Check free space in \(output)."
    }

    private func seconds(_ duration: Duration) -> Double {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return (value * 1000).rounded() / 1000
    }
}

/// Writes `data` to the new file `path` and flushes it to disk before returning.
func writeDurably(_ data: Data, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileTree.posixError("create", path) }
    defer { close(fd) }
    let ok = data.withUnsafeBytes { raw -> Bool in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += n
        }
        return true
    }
    guard ok, fsync(fd) == 0 else { throw FileTree.posixError("write", path) }
}

/// Flushes a directory's entries (the renames into it) to disk.
func fsyncDirectory(_ path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
}
