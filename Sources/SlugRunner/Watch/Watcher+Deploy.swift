import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Spool entries to running releases: claim, select, check and unpack, release phase, boot, switch-over.
extension Watcher {
    // MARK: - Start-up

    /// Brings back what a previous watcher ran: stops processes it left behind (if it was killed), removes
    /// half-unpacked releases, and starts each app's current release. Entries claimed but not deployed are
    /// picked up by the first spool scan, with the ones that arrived meanwhile.
    func restore() throws {
        stopLeftovers()
        for name in Files.folders(in: root.appsDirectory) where AppName.isValid(name) {
            let app = runtime(name)
            let entry = try? Files.readLine(root.current(name))
            for folder in Files.folders(in: root.releases(name)) where folder != entry {
                Files.removeTree("\(root.releases(name))/\(folder)")
            }
            guard let entry, !entry.isEmpty else { continue }
            let directory = "\(root.releases(name))/\(entry)"
            if Files.isDirectory(directory), let release = try? UnpackedRelease.load(entry: entry, directory: directory)
            {
                app.current = release
                log(name, "watch", "Restarting \(release.label) (\(entry)) with \(app.formation.summary)")
            } else {
                log(name, "watch", "The files of \(entry) are gone; deploying it again from the spool")
            }
        }
    }

    /// Stops the process groups a previous watcher recorded in `state.json` and left running (it was killed, so
    /// it could not stop them): a process counts as left over only if its pid still has the recorded start time.
    private func stopLeftovers() {
        var groups: [(app: String, dyno: String, pgid: pid_t)] = []
        for name in Files.folders(in: root.appsDirectory) where AppName.isValid(name) {
            guard let status = try? AppStatus.load(from: root.state(name)) else { continue }
            for process in status.processes {
                guard let pid = process.pid, let ticks = process.startTicks, ProcFS.startTicks(pid) == ticks else {
                    continue
                }
                groups.append((name, process.dyno, pid))
            }
        }
        guard !groups.isEmpty else { return }
        for group in groups {
            log(group.app, group.dyno, "Left running by a previous watcher (pid \(group.pgid)): stopping it")
            ProcessGroup.signal(group.pgid, SIGTERM)
            ProcessGroup.signal(group.pgid, SIGCONT)
        }
        let deadline = clock.now + settings.grace
        while clock.now < deadline && groups.contains(where: { ProcessGroup.exists($0.pgid) }) {
            usleep(100_000)
        }
        for group in groups where ProcessGroup.exists(group.pgid) { ProcessGroup.signal(group.pgid, SIGKILL) }
    }

    /// The runtime of `name`, created (with its formation) on first use.
    func runtime(_ name: String) -> AppRuntime {
        if let app = apps[name] { return app }
        let app = AppRuntime(name: name)
        app.formationData = try? Files.read(root.formation(name))
        app.formation = (try? Formation.load(from: root.formation(name))) ?? .default
        apps[name] = app
        return app
    }

    // MARK: - The spool

    /// Claims every new entry, then for each idle app picks the entry to deploy and skips the outdated ones.
    func scanSpool() {
        do {
            for name in try spool.pending() {
                do {
                    _ = try spool.claim(name)
                } catch let error as SpoolError where error.code == .notPending {
                    continue  // another runner took it
                } catch {
                    event(Self.appHint(name), "watch", "\(error)")
                }
            }
        } catch {
            event(nil, "watch", "\(error)")
            return
        }
        let busy = Set(
            apps.values.flatMap { app in
                [app.current?.entry, app.preparing, app.deployment?.release.entry].compactMap { $0 }
                    + app.retiring.map(\.entry)
            })
        var candidates: [String: [ReleaseSelection.Candidate]] = [:]
        for entry in (try? spool.claimed()) ?? [] where !busy.contains(entry) {
            guard let (app, version) = quickRead(entry) else { continue }
            candidates[app, default: []].append(.init(entry: entry, version: version))
        }
        for (name, list) in candidates.sorted(by: { $0.key < $1.key }) {
            let app = runtime(name)
            guard !app.isBusy else { continue }
            let selection = ReleaseSelection(candidates: list, currentVersion: app.current?.version ?? 0)
            for skipped in selection.skip {
                log(
                    name, "deploy",
                    "Skipping \(skipped.entry): v\(skipped.version) is not newer than the running "
                        + "v\(app.current?.version ?? 0)")
                try? spool.remove(claimed: skipped.entry)
            }
            if let chosen = selection.deploy { startPreparing(app, entry: chosen.entry, version: chosen.version) }
        }
    }

    /// The app and version of a claimed entry, from its `release.json` alone (the slug is checked later); an entry
    /// whose manifest is unusable is set aside into `rejected/`.
    private func quickRead(_ entry: String) -> (app: String, version: Int)? {
        let path = "\(spool.currentDirectory)/\(entry)/\(Spool.manifestFileName)"
        let reason: String
        do {
            guard let data = try Files.read(path) else { throw RunnerError(.notFound, "release.json is missing") }
            let manifest = try ReleaseManifest.decode(data)
            if !AppName.isValid(manifest.app) {
                reason = "the app name '\(manifest.app)' is not valid"
            } else if let version = manifest.version {
                return (manifest.app, version)
            } else {
                reason = "release.json has no version"
            }
        } catch {
            reason = "release.json is unusable: \(error)"
        }
        reject(entry, app: Self.appHint(entry), reason: reason)
        return nil
    }

    /// Moves a claimed entry into `spool/rejected/` and says why.
    func reject(_ entry: String, app: String?, reason: String) {
        let aside = (try? spool.setAside(entry, into: "rejected")) ?? "(could not be moved: remove it by hand)"
        event(app, "deploy", "Refused \(entry): \(reason); moved to \(aside), it will not run")
    }

    /// The app named in an entry's name (`<ms>.<app>.v<N>`), for messages about entries that cannot be read.
    static func appHint(_ entry: String) -> String? {
        let parts = entry.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 3 && AppName.isValid(String(parts[1])) ? String(parts[1]) : nil
    }

    /// Checks and unpacks `entry` on a worker thread; the result comes back through the mailbox.
    private func startPreparing(_ app: AppRuntime, entry: String, version: Int) {
        guard let mailbox else { return }
        app.preparing = entry
        log(app.name, "deploy", "Received v\(version) (\(entry)): checking and unpacking the slug")
        let unpacker = self.unpacker
        let manifestPath = "\(spool.currentDirectory)/\(entry)/\(Spool.manifestFileName)"
        let target = "\(root.releases(app.name))/\(entry)"
        let name = app.name
        Thread.detachNewThread {
            let outcome: Mailbox.Outcome
            do {
                let (manifest, slugPath) = try unpacker.verify(manifestAt: manifestPath)
                Files.removeTree(target)
                try unpacker.unpack(slugPath: slugPath, manifest: manifest, into: target)
                outcome = .ready(UnpackedRelease(entry: entry, manifest: manifest, directory: target))
            } catch {
                outcome = .refused("\(error)")
            }
            mailbox.post(Mailbox.Result(app: name, entry: entry, outcome: outcome))
        }
    }

    /// A worker finished with an entry.
    func prepared(_ result: Mailbox.Result) {
        guard let app = apps[result.app], app.preparing == result.entry else { return }
        app.preparing = nil
        guard !stopping else { return }  // the entry stays in cur/; the next watcher deploys it
        switch result.outcome {
        case .ready(let release):
            deploy(release, app: app)
        case .refused(let reason):
            reject(result.entry, app: app.name, reason: reason)
            app.lastDeploy = Self.deployStatus(
                version: Self.version(of: result.entry), entry: result.entry, status: "rejected", message: reason)
        }
    }

    // MARK: - Deploying

    /// Runs the release phase if the release declares one, else starts its processes.
    private func deploy(_ release: UnpackedRelease, app: AppRuntime) {
        let manifest = release.manifest
        let what = [manifest.description, manifest.user.map { "by \($0)" }].compactMap { $0 }.joined(separator: " ")
        log(app.name, "deploy", "Deploying \(release.label)" + (what.isEmpty ? "" : " (\(what))"))
        app.lastDeploy = Self.deployStatus(
            version: release.version, entry: release.entry, status: "deploying", message: "")
        guard let command = manifest.processTypes[ProcessType.release] else {
            let deployment = Deployment(release: release, phase: .booting([]), deadline: clock.now)
            app.deployment = deployment
            boot(deployment, app: app)
            return
        }
        log(app.name, "deploy", "Running release command: \(command)")
        let deployment = Deployment(
            release: release, phase: .releasePhase(pid: 0), deadline: clock.now + settings.releaseTimeout)
        app.deployment = deployment
        do {
            let launch = ProcessLaunch(
                home: release.home, command: command, configVars: manifest.configVars, port: try freePort(),
                dyno: "release.1")
            let pid = try spawn(launch, app: app, label: "release.1", release: release, dyno: nil)
            deployment.phase = .releasePhase(pid: pid)
        } catch {
            fail(app, "the release command could not start: \(error)")
        }
    }

    /// The release phase ended: start the processes, or fail the deploy.
    func releasePhaseEnded(_ app: AppRuntime, status: ExitStatus) {
        guard let deployment = app.deployment, case .releasePhase = deployment.phase else { return }
        guard status == .exited(0) else {
            fail(app, "the release command failed (\(status))")
            return
        }
        log(app.name, "deploy", "Release command succeeded")
        boot(deployment, app: app)
    }

    /// Starts the release's processes; the switch-over waits until every `web` accepts connections.
    private func boot(_ deployment: Deployment, app: AppRuntime) {
        let release = deployment.release
        let declared = release.manifest.processTypes
        if app.formation.count(of: ProcessType.web) > 0 && declared[ProcessType.web] == nil {
            fail(
                app,
                "\(release.label) declares no web process type (scale web=0 to run releases without one: "
                    + "`slugrunner scale \(app.name) web=0`)")
            return
        }
        var dynos: [Dyno] = []
        for (type, command) in declared.sorted(by: { $0.key < $1.key }) where type != ProcessType.release {
            guard ProcessType.isValid(type) else { continue }
            let count = app.formation.count(of: type)
            guard count > 0 else { continue }
            for index in 1...count {
                let port = (try? freePort()) ?? 0
                dynos.append(Dyno(type: type, index: index, release: release, command: command, port: port))
            }
        }
        deployment.phase = .booting(dynos)
        deployment.deadline = clock.now + settings.bootTimeout
        for dyno in dynos { start(dyno, app: app) }
        let web = dynos.filter { $0.type == ProcessType.web }
        if !web.isEmpty {
            log(
                app.name, "deploy",
                "Waiting up to \(Self.seconds(settings.bootTimeout)) for \(web.map(\.name).joined(separator: ", ")) "
                    + "to accept connections")
        }
        advanceDeployment(app)
    }

    /// Checks the deploy's deadline and, while booting, whether every `web` process accepts connections.
    func advanceDeployment(_ app: AppRuntime) {
        guard let deployment = app.deployment else { return }
        switch deployment.phase {
        case .releasePhase:
            if clock.now >= deployment.deadline {
                fail(app, "the release command ran longer than \(Self.seconds(settings.releaseTimeout))")
            }
        case .booting(let dynos):
            for dyno in dynos where dyno.type == ProcessType.web && dyno.state == .starting && dyno.pid != nil {
                if settings.address.acceptsConnections(on: dyno.port) { markUp(dyno, app: app) }
            }
            let web = dynos.filter { $0.type == ProcessType.web }
            if web.allSatisfy({ $0.state == .up && $0.pid != nil }) {
                switchOver(app, to: deployment)
            } else if clock.now >= deployment.deadline {
                let late = web.filter { $0.state != .up }
                    .map { "\($0.name) (port \($0.port))" }.joined(separator: ", ")
                fail(
                    app,
                    "\(late) did not accept connections on \(settings.address) within "
                        + "\(Self.seconds(settings.bootTimeout))")
            }
        }
    }

    /// The new release is up: it becomes current, and the previous release's processes are stopped.
    private func switchOver(_ app: AppRuntime, to deployment: Deployment) {
        let release = deployment.release
        let previous = app.current
        do {
            try Files.writeAtomically(Data("\(release.entry)\n".utf8), to: root.current(app.name))
        } catch {
            log(app.name, "deploy", "Cannot record \(release.entry) as current (\(error)); a restart will redeploy it")
        }
        for dyno in app.dynos { stop(dyno, app: app) }
        app.dynos = deployment.dynos
        app.current = release
        app.deployment = nil
        app.warnings = []
        if let previous { app.retiring.append(previous) }
        let replaced = previous.map { ", stopping \($0.label)" } ?? ""
        log(app.name, "deploy", "Deployed \(release.label)\(replaced)")
        app.lastDeploy = Self.deployStatus(
            version: release.version, entry: release.entry, status: "succeeded",
            message: previous.map { "replaced \($0.label)" } ?? "first release")
    }

    /// The deploy failed: its processes are stopped, its entry moves to `spool/failed/`, the previous release keeps
    /// running.
    func fail(_ app: AppRuntime, _ reason: String) {
        guard let deployment = app.deployment else { return }
        let release = deployment.release
        stopAll(of: deployment, app: app)
        app.deployment = nil
        app.retiring.append(release)
        let aside = (try? spool.setAside(release.entry, into: "failed")).map { "; moved to \($0)" } ?? ""
        let keeps = app.current.map { "\($0.label) keeps running" } ?? "nothing runs"
        log(app.name, "deploy", "\(release.label) failed: \(reason); \(keeps)\(aside)")
        app.lastDeploy = Self.deployStatus(
            version: release.version, entry: release.entry, status: "failed", message: "\(reason); \(keeps)")
    }
}
