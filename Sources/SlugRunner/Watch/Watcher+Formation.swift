import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Keeping the current release running as its formation says, and the state `slugrunner ps` reads.
extension Watcher {
    // MARK: - Keeping the current release running

    /// Makes the current release's processes match the formation: starts missing ones, stops extra ones, restarts
    /// crashed ones whose backoff has passed, and marks `web` processes up once they accept connections.
    func reconcileProcesses(_ app: AppRuntime) {
        guard let release = app.current else { return }
        let declared = release.manifest.processTypes
        for (type, count) in app.formation.counts.sorted(by: { $0.key < $1.key })
        where count > 0 && declared[type] == nil && type != ProcessType.release {
            let warning = "\(type)@\(release.entry)"
            if !app.warnings.contains(warning) {
                app.warnings.insert(warning)
                log(
                    app.name, "deploy",
                    "The formation asks for \(type)=\(count), but \(release.label) declares no \(type)")
            }
        }
        let extra = app.dynos.filter { $0.index > app.formation.count(of: $0.type) }
        if !extra.isEmpty {
            app.dynos.removeAll { dyno in extra.contains { $0 === dyno } }
            updateRoutes()
            for dyno in extra { stop(dyno, app: app) }
        }
        for (type, command) in declared.sorted(by: { $0.key < $1.key })
        where type != ProcessType.release && ProcessType.isValid(type) {
            let count = app.formation.count(of: type)
            guard count > 0 else { continue }
            for index in 1...count where !app.dynos.contains(where: { $0.type == type && $0.index == index }) {
                let dyno = Dyno(
                    type: type, index: index, release: release, command: command, port: (try? freePort()) ?? 0)
                app.dynos.append(dyno)
                start(dyno, app: app)
            }
        }
        for dyno in app.dynos where dyno.pid == nil {
            guard let at = dyno.restartAt, clock.now >= at else { continue }
            dyno.restarts += 1
            start(dyno, app: app)
        }
        for dyno in app.dynos where dyno.type == ProcessType.web && dyno.state == .starting && dyno.pid != nil {
            if readyToServe(dyno, app: app) { markUp(dyno, app: app) }
        }
    }

    /// Notices what the door (or `slugrunner scale`) changed in each app's `dynos.json`.
    func reloadSettings() {
        for app in apps.values {
            let path = root.layout.dynoSettings(app.name)
            let data = try? FileSystem.read(path)
            guard data != app.wantedData else { continue }
            app.wantedData = data
            do {
                apply(try data.map { try DynoSettings.decode($0, path: path) } ?? DynoSettings(), to: app)
            } catch {
                log(app.name, "scale", "\(error); keeping \(app.formation.summary)")
            }
        }
    }

    /// Takes in new settings: scales, and restarts the process types whose restart was asked for or whose memory
    /// changed (as Heroku restarts a resized dyno).
    private func apply(_ wanted: DynoSettings, to app: AppRuntime) {
        let previous = app.wanted
        app.wanted = wanted
        let formation = Formation(wanted.quantities)
        if formation != app.formation {
            app.formation = formation
            log(app.name, "scale", "Scaled to \(formation.summary)")
        }
        var restart: [String: String] = [:]
        for (type, count) in wanted.restarts where count > (previous.restarts[type] ?? 0) {
            restart[type] = "restart asked for"
        }
        for type in Set(previous.formation.keys).union(wanted.formation.keys)
        where previous.memoryMB(of: type) != wanted.memoryMB(of: type) {
            log(app.name, "scale", "Resized \(type) to \(wanted.memoryMB(of: type)) MB")
            restart[type] = "resized"
        }
        if wanted.domains != previous.domains {
            log(app.name, "router", "Domains: \(([routeHost(app.name)] + wanted.domains).joined(separator: ", "))")
        }
        if wanted.healthcheck != previous.healthcheck {
            log(app.name, "health", wanted.healthcheck.map { "Health check: GET \($0)" } ?? "Health check removed")
        }
        for (type, reason) in restart.sorted(by: { $0.key < $1.key }) {
            engine.restart(type: type, app: app, reason: reason)
        }
    }

    /// Stops `dynos` of the current release and starts new ones in their place (the next ``reconcile(_:)`` does):
    /// each leaves the route first.
    func replace(_ dynos: [Dyno], app: AppRuntime, reason: String) {
        guard !dynos.isEmpty else { return }
        log(app.name, "restart", "Restarting \(dynos.map(\.name).joined(separator: ", ")) (\(reason))")
        app.dynos.removeAll { dyno in dynos.contains { $0 === dyno } }
        updateRoutes()
        for dyno in dynos { stop(dyno, app: app) }
    }

    /// Samples each running dyno's memory for `ps` (rounded to MiB, so that `state.json` changes only when it does).
    func sampleMemory() {
        for dyno in allDynos() where dyno.pid != nil {
            dyno.memoryBytes = memoryBytes(of: dyno).map { Int($0 / 1_048_576) * 1_048_576 }
        }
    }

    /// Removes the files of replaced and failed releases once none of their processes is left.
    func cleanUpRetired() {
        let running = Set(leaders.values.map(\.entry) + stopOrders.map(\.entry))
        for app in apps.values where !app.retiring.isEmpty {
            app.retiring.removeAll { release in
                guard !running.contains(release.entry) else { return false }
                try? FileSystem.removeTree(release.directory)
                if release.entry != app.current?.entry { try? spool.remove(claimed: release.entry) }
                return true
            }
        }
    }

    // MARK: - State for `slugrunner ps`

    /// Writes each app's `state.json` when what it shows changed.
    func writeStates() {
        for app in apps.values {
            var status = status(of: app)
            guard status != app.writtenStatus else { continue }
            app.writtenStatus = status
            status.updatedAt = AppStatus.isoTime(Date())
            do {
                try Files.writeAtomically(Data(try status.json().utf8), to: root.state(app.name), mode: 0o640)
                doorAccess.share([root.runnerDirectory, root.appsDirectory, root.app(app.name), root.state(app.name)])
            } catch {
                event(nil, "watch", "Cannot write \(root.state(app.name)): \(error)")
            }
        }
    }

    /// What `slugrunner ps` shows for `app` (with an empty `updatedAt`, so that two snapshots compare equal).
    private func status(of app: AppRuntime) -> AppStatus {
        AppStatus(
            app: app.name, watcher: nil, watcherPid: getpid(), updatedAt: "", host: settings.address.host,
            release: app.current.map {
                AppStatus.Release(
                    version: $0.version, entry: $0.entry, description: $0.manifest.description,
                    createdAt: $0.manifest.createdAt)
            },
            formation: app.formation.counts, processes: engine.processes(of: app), lastDeploy: app.lastDeploy,
            baseDomain: settings.router?.baseDomain)
    }

    /// The processes of the current release and of the one booting, on this machine.
    func processStatuses(of app: AppRuntime) -> [AppStatus.Process] {
        var processes = app.dynos.map(processStatus)
        if let deployment = app.deployment {
            processes += deployment.dynos.map(processStatus)
            if case .releasePhase = app.machine.state {
                processes.append(
                    AppStatus.Process(
                        dyno: "release.1", type: ProcessType.release, state: "starting", port: 0,
                        pid: deployment.releasePhase, release: deployment.release.version, startedAt: nil,
                        uptime: nil, restarts: 0, crashLoop: false,
                        command: deployment.release.manifest.processTypes[ProcessType.release] ?? "",
                        startTicks: nil))
            }
        }
        return processes
    }

    private func processStatus(_ dyno: Dyno) -> AppStatus.Process {
        AppStatus.Process(
            dyno: dyno.name, type: dyno.type, state: dyno.state.rawValue, port: Int(dyno.port), pid: dyno.pid,
            release: dyno.release.version, startedAt: dyno.startedAt.map(AppStatus.isoTime), uptime: nil,
            restarts: dyno.restarts,
            crashLoop: dyno.crashes.consecutiveCrashes >= settings.restart.crashLoopThreshold,
            command: dyno.command, startTicks: dyno.pid == nil ? nil : dyno.startTicks,
            memoryBytes: dyno.pid == nil ? nil : dyno.memoryBytes)
    }

    static func deployStatus(version: Int, entry: String, status: String, message: String) -> AppStatus.Deploy {
        AppStatus.Deploy(
            version: version, entry: entry, status: status, message: message, at: AppStatus.isoTime(Date()))
    }

    /// The version in an entry's name (`…v7` is 7), 0 if there is none.
    static func version(of entry: String) -> Int {
        entry.split(separator: ".").last.flatMap { $0.hasPrefix("v") ? Int($0.dropFirst()) : nil } ?? 0
    }
}
