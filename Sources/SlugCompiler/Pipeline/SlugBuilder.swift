import Foundation
import SlipwayGit
public import SlipwaySpool
public import SlipwaySystem

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
/// It prepares the workspace and the sandbox and keeps the timings; the parts are ``BuildpackSelection`` (which
/// buildpacks run), ``PhaseRunner`` (running their scripts) and ``ReleaseWriter`` (process types, slug, manifest).
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
    private var timings: [String: Double] = [:]
    /// Runs the buildpacks' scripts, once the workspace and its sandbox exist.
    private var runner: PhaseRunner?

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
                error: error, elapsed: clock.now - started, lastLines: runner?.recentLines ?? [],
                pushWording: options.pushWording,
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
        let runner = try makeRunner(workspace, cache: cache)
        let buildpacks = try selection(runner).select(
            in: workspace, environment: baseEnvironment(workspace, sourceVersion: options.sourceVersion))
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
        let runner = try makeRunner(workspace, cache: options.cacheDirectory)

        let detectStart = clock.now
        let buildpacks = try selection(runner).select(
            in: workspace, environment: baseEnvironment(workspace, sourceVersion: options.sourceVersion))
        timings["detect"] = seconds(clock.now - detectStart)

        var environment = baseEnvironment(workspace, sourceVersion: sourceVersion)
        let compileStart = clock.now
        for buildpack in buildpacks {
            try runner.compile(buildpack, workspace, environment: environment)
            environment = try runner.applyExport(of: buildpack, to: environment)
        }
        timings["compile"] = seconds(clock.now - compileStart)

        let releaseStart = clock.now
        var release = ReleaseInfo()
        for buildpack in buildpacks {
            let info = try runner.runRelease(buildpack, workspace, environment: environment)
            release.addons += info.addons.filter { !release.addons.contains($0) }
            release.configVars.merge(info.configVars) { _, new in new }
            release.defaultProcessTypes.merge(info.defaultProcessTypes) { _, new in new }
        }
        let writer = ReleaseWriter(options: options, console: console, signals: signals, deadline: deadline)
        let processTypes = try writer.discoverProcessTypes(workspace, defaults: release.defaultProcessTypes)
        timings["release"] = seconds(clock.now - releaseStart)

        let packStart = clock.now
        let mtime = options.sourceDateEpoch ?? commit?.time ?? 0
        // Links from the app into its cache are packed as the folders they name, where buildpacks see the cache.
        let cacheLinks = CacheLinks(
            inside: runner.plan?.inside.cache ?? options.cacheDirectory, outside: options.cacheDirectory)
        var result = try writer.pack(
            workspace, mtime: mtime, cacheLinks: cacheLinks,
            manifest: { slug in
                var configVars = release.configVars
                for key in self.options.configVars.keys { configVars.removeValue(forKey: key) }
                if self.options.includeConfigInManifest {
                    configVars.merge(self.options.configVars) { _, user in user }
                }
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
            console.step(
                "Deleting \(copier.ignoredCount) \(copier.ignoredCount == 1 ? "entry" : "entries") matching .slugignore patterns"
            )
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

    /// Decides how buildpacks run (sandbox, user, limits), hands the build's folders to the build user, and makes
    /// the runner of the buildpacks' scripts.
    private func makeRunner(_ workspace: Workspace, cache: String) throws -> PhaseRunner {
        let plan = try options.sandbox.plan(
            for: .init(
                build: workspace.buildDirectory, cache: cache, env: workspace.envDirectory,
                home: workspace.homeDirectory, tmp: workspace.tmpDirectory, buildpacks: workspace.buildpacksDirectory,
                runtimes: try RuntimeStoreSettings.prepareCache(options), runtimeStore: options.localRuntimeStore))
        do {
            try plan.prepare()
        } catch {
            throw BuildError(
                .outputUnwritable, "Cannot hand the build's folders to the build user: \(error).",
                hint: "Run as root, or set SLIPWAY_BUILD_USER to an empty value to build as this user.")
        }
        let runner = PhaseRunner(
            options: options, console: console, signals: signals, plan: plan, started: started, deadline: deadline)
        self.runner = runner
        return runner
    }

    private func selection(_ runner: PhaseRunner) -> BuildpackSelection {
        BuildpackSelection(options: options, console: console, runner: runner)
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

    /// The environment every buildpack starts from: nothing of the caller's but `PATH`.
    private func baseEnvironment(_ workspace: Workspace, sourceVersion: String?) -> [String: String] {
        [
            "STACK": options.stack,
            "SOURCE_VERSION": sourceVersion ?? "",
            "HOME": runner?.plan?.inside(workspace.homeDirectory) ?? workspace.homeDirectory,
            "PATH": options.path,
            "TMPDIR": runner?.plan?.inside(workspace.tmpDirectory) ?? workspace.tmpDirectory,
            "LANG": "C.UTF-8",
        ].merging(RuntimeStoreSettings.environment(options, plan: runner?.plan)) { base, _ in base }
    }

    private func seconds(_ duration: Duration) -> Double {
        let value = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return (value * 1000).rounded() / 1000
    }
}
