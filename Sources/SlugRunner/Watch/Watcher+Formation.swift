import Foundation
import SlipwayDrains
import SlipwayLogs
import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The formation and settings the door writes (`dynos.json`), retired releases' files, and the state `slugrunner ps`
/// reads.
extension Watcher {
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
        let formation = Formation(autoscaled(wanted.quantities, app: app))
        let total = formation.counts.values.reduce(0, +)
        if total > settings.maxDynosPerApp {
            let refusal =
                "\(formation.summary) makes \(total) dynos; an app may run at most \(settings.maxDynosPerApp) here "
                + "(slugrunner watch --max-dynos-per-app)"
            if app.formationRefused != refusal {
                log(app.name, "scale", "Error: scaling refused: \(refusal); keeping \(app.formation.summary)")
            }
            app.formationRefused = refusal
        } else {
            app.formationRefused = nil
            if formation != app.formation {
                app.formation = formation
                log(app.name, "scale", "Scaled to \(formation.summary)")
            }
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
        for type in Set(previous.formation.keys).union(wanted.formation.keys)
        where previous.diskMB(of: type) != wanted.diskMB(of: type) {
            log(app.name, "scale", "Gave \(type) disks of \(wanted.diskMB(of: type)) MB")
            restart[type] = "disk resized"
        }
        if wanted.domains != previous.domains {
            log(app.name, "router", "Domains: \(([routeHost(app.name)] + wanted.domains).joined(separator: ", "))")
        }
        if wanted.logDrains != previous.logDrains {
            for refusal in logs.drains.update(app: app.name, own: wanted.logDrains) {
                log(app.name, "drain", "Error: a drain cannot start: \(refusal)")
            }
            logs.drainsChanged(app.name)
            let tokens = wanted.logDrains.map(\.token)
            log(app.name, "drain", tokens.isEmpty ? "Drains: none" : "Drains: \(tokens.joined(separator: ", "))")
        }
        if wanted.healthcheck != previous.healthcheck {
            log(app.name, "health", wanted.healthcheck.map { "Health check: GET \($0)" } ?? "Health check removed")
        }
        for (type, reason) in restart.sorted(by: { $0.key < $1.key }) {
            engine.restart(type: type, app: app, reason: reason)
        }
    }

    /// Removes the files of replaced and failed releases once none of their processes is left.
    func cleanUpRetired() {
        let running = processes.runningEntries
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
                logs.access.share([root.runnerDirectory, root.appsDirectory, root.app(app.name), root.state(app.name)])
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
            formation: app.formation.counts, processes: engine.processes(of: app) + oneOffs.processes(of: app.name),
            lastDeploy: app.lastDeploy, baseDomain: settings.router?.baseDomain,
            limits: .init(maxDynos: settings.maxDynosPerApp, maxDetachedRuns: settings.maxDetachedRuns),
            formationRefused: app.formationRefused, certificates: router?.certificateReports[app.name])
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
