public import Foundation
import SlipwayDoorRecords
import SlipwayGit
import SlipwaySpool
public import SlipwaySystem
import SlugCompiler

#if canImport(Glibc)
    import Glibc
#endif

/// The git hooks of an app's repository: `pre-receive` builds the pushed deploy branch and stages the release,
/// `post-receive` publishes it once git has updated the ref. Every human line goes to stderr (``Console``); stdout
/// belongs to git's protocol.
public struct ReceiveHooks {
    public var console: Console
    public var signals: SignalWatcher?
    public var environment: [String: String]

    public init(
        console: Console, signals: SignalWatcher?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.console = console
        self.signals = signals
        self.environment = environment
    }

    // MARK: - pre-receive

    /// Runs the pre-receive hook on git's standard input; returns the exit status (non-zero refuses the push).
    public func preReceive(input: String) -> Int32 {
        do {
            try runPreReceive(input: input)
            return 0
        } catch let error as DoorError where error.isFailure {
            console.blank()
            for line in error.lines { console.error(line) }
            return 1
        } catch is BuildError {
            return 1  // the builder printed its summary
        } catch {
            console.error("Push rejected: \(error)")
            return 1
        }
    }

    private func runPreReceive(input: String) throws {
        let repository = try Repository.openFromEnvironment()
        let settings = try PushSettings.resolve(environment: environment, repository: { repository })
        console.redact(settings.root.path)
        try AppName.validate(settings.app)
        let updates = try RefUpdate.parse(input)
        let deploy = settings.deployUpdate(in: updates)
        try checkOtherRefs(updates.filter { $0 != deploy }, in: repository)
        guard let deploy else { return }
        let branch = deploy.branch ?? "main"
        if deploy.isDelete {
            throw DoorError(
                .pushRefused,
                lines:
                    "Push rejected: deleting the deploy branch \(TerminalText.printable(branch, limit: 100)) is not allowed.",
                "The app is deployed from it; push another commit to it instead.")
        }

        let app = settings.root.app(settings.app)
        Sweeper.sweep(root: settings.root)
        let holder = AppLock.Holder(user: settings.user, commit: deploy.new)
        var lock: AppLock?
        if settings.lockHeld {
            AppLock.describe(app, holder)
        } else {
            lock = try AppLock.acquire(
                app, as: holder, limit: AppLock.waitLimit(environment), say: { console.step($0) },
                shouldStop: { signals?.poll() != nil })
            // In another git server no door ran recovery for this push: finish what a killed push left. git runs
            // there without Slipway's lock, so only its old lock files are known to be stale.
            try recover(app, root: settings.root, repository: .foreign(repository.path))
        }
        defer { withExtendedLifetime(lock) {} }
        let slot = try BuildSlot.acquire(
            root: settings.root, limit: environment["SLIPWAY_MAX_BUILDS"].flatMap(Int.init) ?? 0,
            wait: AppLock.waitLimit(environment),
            say: { console.step($0) }, shouldStop: { signals?.poll() != nil })
        defer { withExtendedLifetime(slot) {} }

        // If the branch moved while this push waited, git will refuse the ref update: say so now.
        let current = try? repository.commit("refs/heads/\(branch)").sha
        if current != (deploy.isCreate ? nil : deploy.old) {
            throw DoorError(
                .pushRefused, lines: "Push rejected: the deploy branch moved while you waited; fetch and push again.")
        }

        let log = try BuildLog(app: app)
        console.observe(log.append)
        let (work, ownerFD) = try Sweeper.claimWorkFolder(root: settings.root, id: log.id)
        defer {
            try? FileSystem.removeTree(work)
            close(ownerFD)
        }
        let clock = ContinuousClock()
        let started = clock.now
        var record = try BuildRecord.start(app, id: log.id, commit: deploy.new, user: settings.user)
        record.report(root: settings.root, app: app.name)
        do {
            try build(deploy, of: settings, in: repository, work: work, log: log)
            record.finish(.succeeded, elapsed: seconds(clock.now - started), app: app)
            record.report(root: settings.root, app: app.name)
        } catch {
            let interrupted = signals?.poll() != nil
            record.finish(interrupted ? .cancelled : .failed, elapsed: seconds(clock.now - started), app: app)
            record.report(root: settings.root, app: app.name, error: error)
            throw error
        }
    }

    /// Checks what the push stores without building it (other branches, tags) against the pushed tree's limits
    /// (`SLIPWAY_MAX_TREE_*`), so that no branch holds more than the deploy branch may; a ref that names no tree
    /// (a tag of a blob) is bounded by the push's size (`SLIPWAY_MAX_PUSH_MB`) only.
    private func checkOtherRefs(_ updates: [RefUpdate], in repository: Repository) throws {
        let limits = ExportLimits.fromEnvironment(environment)
        var checked: Set<String> = []
        for update in updates where !update.isDelete && checked.insert(update.new).inserted {
            let shown = TerminalText.printable(update.branch ?? update.ref, limit: 100)
            do {
                try repository.checkTree(of: update.new, limits: limits)
            } catch let error as GitError where error.kind == .limitExceeded {
                throw DoorError(
                    .pushRefused,
                    lines: "Push rejected: \(shown): \(TerminalText.printable(error.message, limit: 400)).")
            } catch {
                continue  // not a commit or a tree
            }
        }
        for update in updates {
            if let branch = update.branch, !update.isDelete {
                console.step("Pushed to non-deploy branch \(TerminalText.printable(branch, limit: 100)), not building.")
            }
        }
    }

    /// Exports the pushed tree, builds it (or its build dir) and stages the release for post-receive.
    private func build(
        _ deploy: RefUpdate, of settings: PushSettings, in repository: Repository, work: String, log: BuildLog
    ) throws {
        let app = settings.root.app(settings.app)
        let source = "\(work)/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        let commit = try repository.commit(deploy.new)
        let report: ExportReport
        do {
            report = try repository.exportTree(of: deploy.new, to: source, limits: .fromEnvironment(environment))
        } catch let error as GitError where error.kind == .limitExceeded || error.kind == .unsafeTreeEntry {
            throw DoorError(.pushRefused, lines: "Push rejected: \(TerminalText.printable(error.message, limit: 400)).")
        } catch {
            throw DoorError(.pushRefused, lines: "Push rejected: the pushed tree cannot be extracted: \(error)")
        }
        for path in report.skippedSubmodules {
            console.error(
                "Warning: submodule \(TerminalText.printable(path, limit: 100)) is skipped; submodules are not fetched. Vendor its files instead."
            )
        }
        for path in report.lfsPointers.prefix(5) {
            console.error(
                "Warning: \(TerminalText.printable(path, limit: 100)) is a Git LFS pointer; LFS objects are not fetched."
            )
        }

        let registered = try? AppRegistry(root: settings.root).settings(settings.app)
        var appDirectory = source
        if let buildDir = registered?.buildDir {
            appDirectory = try Self.buildDirectory(buildDir, in: source, commit: deploy.new, app: settings.app)
            console.step("Building the build dir \(TerminalText.printable(buildDir, limit: 100))")
        }
        var options = BuildOptions(
            appDirectory: appDirectory, cacheDirectory: app.cache, outputDirectory: "\(work)/out", appName: settings.app
        )
        options.sourceVersion = deploy.new
        options.sourceDateEpoch = commit.time
        options.configVars = try AppConfig.load(app)
        options.buildpacks = registered?.buildpacks ?? []
        // The app names its buildpacks (buildpacks:set, .buildpacks, BUILDPACK_URL): folders only where the operator
        // offers them.
        options.appBuildpackFolders = (environment["SLIPWAY_BUILDPACK_FOLDERS"] ?? "").split(separator: ":").map(
            String.init)
        options.includeConfigInManifest = true
        options.pushWording = true
        options.temporaryDirectory = work
        options.keepAliveInterval = .seconds(20)
        options.path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        do {
            try options.apply(environment: environment)
        } catch {
            throw DoorError(
                .configuration,
                lines: "Push rejected: the server's build settings are wrong (\(error)); tell its operator.")
        }
        // One runtime cache for every app's builds (docs/languages.md), unless the operator names another.
        if options.runtimeCacheDirectory == nil { options.runtimeCacheDirectory = "\(settings.root.path)/runtimes" }
        // Buildpacks see nothing of the server's root: other apps' repositories, config vars, keys.
        options.sandbox.hidden = [settings.root.path]
        let builder = SlugBuilder(options: options, console: console, signals: signals)
        builder.failureExtras = [("build id", log.id), ("full log", "builds:output \(settings.app) \(log.id)")]
        let cancelled = {
            BuildRecord.canceller(app, id: log.id).map {
                "The build was cancelled by \(TerminalText.printable($0, limit: 100)) (builds:cancel)."
            }
        }
        builder.interruptionReason = cancelled
        let result = try builder.build()
        // A cancel that arrived after the last buildpack still stops the push before anything is staged.
        if signals?.poll() != nil {
            throw DoorError(
                .cancelled, lines: "Push rejected: \(cancelled() ?? "The build was interrupted.") Nothing was released."
            )
        }

        // A repository whose HEAD names a branch that was never pushed (master, when the app deploys main) would
        // clone empty: point it at the deploy branch, which exists once git accepts this push.
        if (try? repository.commit("HEAD")) == nil, let branch = deploy.branch {
            try? repository.setHead("refs/heads/\(branch)")
        }
        try Publisher.store(slug: result.slugPath, sha256: result.manifest.slug.sha256, app: app)
        if let uploaded = try Publisher.uploadSlug(root: settings.root, app: app, sha256: result.manifest.slug.sha256) {
            console.step(uploaded)
        }
        let staged = StagedRelease(
            buildID: log.id, manifest: result.manifest, user: settings.user,
            buildpackConfigVars: result.buildpackConfigVars, branch: deploy.branch)
        try StateFiles.writeAtomically(
            try JSONEncoder().encode(staged), to: StagedRelease.path(app, commit: deploy.new))
        Failpoint.afterStaging.trigger(environment)
    }

    /// The folder to build for an app with a build dir: `<source>/<buildDir>`, which must be a real folder of the
    /// pushed tree; no component may be a symlink, so the build never reaches outside the exported tree.
    static func buildDirectory(_ buildDir: String, in source: String, commit: String, app: String) throws -> String {
        var path = source
        for component in buildDir.split(separator: "/") {
            path += "/\(component)"
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                throw DoorError(
                    .pushRefused,
                    lines:
                        "Push rejected: the build dir \(TerminalText.printable(buildDir, limit: 100)) is not a folder in \(commit.prefix(7)).",
                    "Push a commit that has it, or change it: apps:set \(app) build-dir=<folder> (empty for the whole repository)."
                )
            }
        }
        return path
    }

    private func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Runs ``ReleaseRecovery`` and says what it released.
    private func recover(_ app: AppPaths, root: SlipwayRoot, repository: StaleGitLocks.Scope) throws {
        let outcome = try ReleaseRecovery.recover(app: app, root: root, repository: repository)
        for version in outcome.released {
            console.step("Released v\(version), which a killed push had left unreleased")
        }
    }

    // MARK: - post-receive

    /// Runs the post-receive hook: publishes the release staged for the deploy branch's new commit. Behind
    /// `receive-pack shell` it does not open the repository (no libgit2), which keeps it quick.
    public func postReceive(input: String) -> Int32 {
        do {
            let settings = try PushSettings.resolve(
                environment: environment, repository: { try Repository.openFromEnvironment() })
            console.redact(settings.root.path)
            try AppName.validate(settings.app)
            guard let deploy = settings.deployUpdate(in: try RefUpdate.parse(input)), !deploy.isDelete else { return 0 }
            let app = settings.root.app(settings.app)
            let stagedPath = StagedRelease.path(app, commit: deploy.new)
            guard let data = FileManager.default.contents(atPath: stagedPath) else {
                console.error("No build was staged for \(deploy.new.prefix(7)); nothing was released.")
                return 1
            }
            let staged = try JSONDecoder().decode(StagedRelease.self, from: data)
            // Under `receive-pack shell` the door holds the app's lock from pre-receive to here, so the config is the
            // one the build used. A hook in another git server took the lock in pre-receive only: take it again, and
            // release with the config as it is now, so a config change made in between is not lost.
            var manifest = staged.manifest
            var lock: AppLock?
            if !settings.lockHeld {
                lock = try AppLock.acquire(
                    app, as: AppLock.Holder(user: staged.user, commit: deploy.new),
                    limit: AppLock.waitLimit(environment), say: { console.step($0) },
                    shouldStop: { signals?.poll() != nil })
                if let defaults = staged.buildpackConfigVars {
                    manifest.configVars = defaults.merging(try AppConfig.load(app)) { _, own in own }
                }
            }
            defer { withExtendedLifetime(lock) {} }
            Failpoint.beforePublish.trigger(environment)
            let entry = try Publisher(root: settings.root).publish(
                app: app, manifest: manifest, description: "Deploy \(deploy.new.prefix(7))", user: staged.user,
                buildpackConfigVars: staged.buildpackConfigVars, buildID: staged.buildID)
            unlink(stagedPath)
            BuildRecord.noteRelease(entry.version, app: app, id: staged.buildID)
            console.step("Launching... done, v\(entry.version)")
            console.detail("Released v\(entry.version)")
            return 0
        } catch let error as DoorError where error.isFailure {
            for line in error.lines { console.error(line) }
            return 1
        } catch {
            console.error("Could not publish the release: \(error)")
            return 1
        }
    }
}
