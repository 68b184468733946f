import Foundation
import SlipwayLogs
import SlipwayPlatformEvents
import SlipwayRunnerKit
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
        processes.stopLeftovers(root: root)
        for name in Files.folders(in: root.appsDirectory) where AppName.isValid(name) {
            let app = runtime(name)
            let entry = try? Files.readLine(root.current(name))
            for folder in Files.folders(in: root.releases(name)) where folder != entry {
                try? FileSystem.removeTree("\(root.releases(name))/\(folder)")
            }
            guard let entry, !entry.isEmpty else { continue }
            let directory = "\(root.releases(name))/\(entry)"
            if Files.isDirectory(directory), let release = try? UnpackedRelease.load(entry: entry, directory: directory)
            {
                handle(.restored(release), app: app)
                log(name, "watch", "Restarting \(release.label) (\(entry)) with \(app.formation.summary)")
            } else {
                log(name, "watch", "The files of \(entry) are gone; deploying it again from the spool")
            }
        }
    }

    /// The runtime of `name`, created (with its formation) on first use.
    func runtime(_ name: String) -> AppRuntime {
        if let app = apps[name] { return app }
        let path = root.layout.dynoSettings(name)
        let data = try? FileSystem.read(path)
        let wanted = (try? data.map { try DynoSettings.decode($0, path: path) }) ?? DynoSettings()
        let machine = DeployMachine(
            formation: Formation(wanted.quantities), releaseTimeout: settings.releaseTimeout,
            bootTimeout: settings.bootTimeout)
        let app = AppRuntime(name: name, machine: machine)
        app.wanted = wanted
        app.wantedData = data
        apps[name] = app
        return app
    }

    // MARK: - The spool

    /// Claims every new entry, then hands each app its claimed entries: an idle app picks one to deploy and skips the
    /// outdated ones.
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
        let busy = Set(apps.values.flatMap { $0.machine.entries + $0.retiring.map(\.entry) })
        var candidates: [String: [ReleaseSelection.Candidate]] = [:]
        for entry in (try? spool.claimed()) ?? [] where !busy.contains(entry) {
            guard let (app, version) = quickRead(entry) else { continue }
            candidates[app, default: []].append(.init(entry: entry, version: version))
        }
        // The door's events after the entries are listed: each entry's events were recorded before it, so its
        // `Release vN created` line comes before the runner's own lines about it.
        platformEvents.takeAll { app, line in log(app).write(line) }
        for (name, list) in candidates.sorted(by: { $0.key < $1.key }) {
            handle(.claimed(list), app: runtime(name))
        }
    }

    /// The app and version of a claimed entry, from its `release.json` alone (the slug is checked later), once the
    /// door's signature on it is checked; an entry whose manifest is unusable or not the door's is set aside into
    /// `rejected/`, with a line in the app's log.
    private func quickRead(_ entry: String) -> (app: String, version: Int)? {
        let path = "\(spool.currentDirectory)/\(entry)/\(Spool.manifestFileName)"
        let reason: String
        do {
            guard let data = try Files.read(path) else { throw RunnerError(.notFound, "release.json is missing") }
            guard let key = unpacker.key else { throw RunnerError(.refused, "the runner has no release key") }
            let manifest: ReleaseManifest
            do {
                manifest = try SignedRelease.open(data, with: key)
            } catch {
                refuseUnsigned(entry, data: data, refusal: error)
                return nil
            }
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

    /// Sets aside an entry the door did not sign (or whose config vars do not open), saying so in the log of the app
    /// it claims to be (`slugrunner[release]: v3 refused: its signature is not the door's …`). Nothing of it runs,
    /// and the app keeps its current release.
    private func refuseUnsigned(_ entry: String, data: Data, refusal: ReleaseRefusal) {
        let claimed = try? SignedRelease.peek(data)
        let plain = try? ReleaseManifest.decode(data)
        let app = [claimed?.app, plain?.app, Self.appHint(entry)].compactMap { $0 }.first(where: AppName.isValid)
        let version = (claimed?.version ?? plain?.version).map { "v\($0)" } ?? entry
        let aside = try? spool.setAside(entry, into: "rejected")
        if let app {
            log(app, "release", "\(version) refused: \(refusal); it will not run")
        } else {
            event(nil, "release", "Refused \(entry): \(refusal); it will not run")
        }
        if aside == nil { event(nil, "release", "Cannot move \(entry) out of cur/: remove it by hand") }
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
    func startPreparing(_ app: AppRuntime, entry: String, version: Int) {
        guard let mailbox else { return }
        log(app.name, "deploy", "Received v\(version) (\(entry)): checking and unpacking the slug")
        let unpacker = self.unpacker
        let manifestPath = "\(spool.currentDirectory)/\(entry)/\(Spool.manifestFileName)"
        let target = "\(root.releases(app.name))/\(entry)"
        let name = app.name
        Thread.detachNewThread {
            let outcome: Mailbox.Outcome
            do {
                let (manifest, slugPath) = try unpacker.verify(manifestAt: manifestPath)
                try? FileSystem.removeTree(target)
                try unpacker.unpack(slugPath: slugPath, manifest: manifest, into: target)
                outcome = .ready(UnpackedRelease(entry: entry, manifest: manifest, directory: target))
            } catch {
                outcome = .refused("\(error)")
            }
            mailbox.post(Mailbox.Result(app: name, entry: entry, outcome: outcome))
        }
    }

    /// A worker finished with an entry (the deploy ignores it if it no longer awaits it, or the watcher stops).
    func prepared(_ result: Mailbox.Result) {
        guard let app = apps[result.app] else { return }
        switch result.outcome {
        case .ready(let release):
            handle(.unpacked(release), app: app)
        case .refused(let reason):
            handle(.refused(entry: result.entry, reason: reason), app: app)
        }
    }

    // MARK: - Deploying

    /// Tells `app`'s deploy what happened, and carries out what it answers.
    func handle(_ event: DeployMachine.Event, app: AppRuntime) {
        for effect in app.machine.handle(event, at: clock.now) { perform(effect, app: app) }
    }

    /// Tells the deploy what became of its dynos (web dynos up, a failure), then checks its deadline.
    func advanceDeployment(_ app: AppRuntime) {
        for event in engine.progress(of: app) { handle(event, app: app) }
        handle(.tick, app: app)
    }
}
