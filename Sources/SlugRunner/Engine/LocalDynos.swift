import SlipwaySpool

/// Dynos as processes on this machine, each in its sandbox and control group: the watcher's own process handling
/// (``Watcher/start(_:app:)``, ``Watcher/stop(_:app:)``, the reaping loop), seen through ``DynoEngine``.
final class LocalDynos: DynoEngine {
    unowned let watcher: Watcher

    init(watcher: Watcher) {
        self.watcher = watcher
    }

    func runReleasePhase(_ release: UnpackedRelease, command: String, app: AppRuntime) {
        watcher.startReleaseProcess(release, command: command, app: app)
    }

    func boot(_ release: UnpackedRelease, _ plans: [DeployMachine.DynoPlan], app: AppRuntime) {
        watcher.startProcesses(release, plans, app: app)
    }

    /// The booting release's web dynos that accept connections (and pass the health check) go up; exits come from
    /// the reaping loop.
    func progress(of app: AppRuntime) -> [DeployMachine.Event] {
        var events: [DeployMachine.Event] = []
        for dyno in app.deployment?.dynos ?? []
        where dyno.type == ProcessType.web && dyno.state == .starting && dyno.pid != nil {
            guard watcher.readyToServe(dyno, app: app) else { continue }
            watcher.markUp(dyno, app: app)
            events.append(.webUp(dyno: dyno.name))
        }
        return events
    }

    func takeOver(_ app: AppRuntime) {
        let replaced = app.dynos
        app.dynos = app.deployment?.dynos ?? []
        app.deployment = nil
        // The router sends new requests to the new dynos before the old ones are asked to stop; those finish the
        // requests they hold within the grace period.
        watcher.updateRoutes()
        for dyno in replaced { watcher.stop(dyno, app: app) }
    }

    func abandon(_ app: AppRuntime) {
        if let deployment = app.deployment { watcher.stopAll(of: deployment, app: app) }
        app.deployment = nil
    }

    func reconcile(_ app: AppRuntime) {
        watcher.reconcileProcesses(app)
        watcher.checkHealth(app)
    }

    func restart(type: String, app: AppRuntime, reason: String) {
        watcher.replace(app.dynos.filter { $0.type == type }, app: app, reason: reason)
    }

    func scan(_ apps: [AppRuntime]) {
        watcher.sampleMemory()
    }

    func processes(of app: AppRuntime) -> [AppStatus.Process] {
        watcher.processStatuses(of: app)
    }

    func upstreams(of app: AppRuntime) -> [RouteTable.Upstream] {
        app.dynos.filter { $0.type == ProcessType.web && $0.state == .up && $0.pid != nil }.map {
            RouteTable.Upstream(dyno: $0.name, port: $0.port, host: watcher.settings.address.host)
        }
    }

    func shutDown(_ app: AppRuntime) {
        for dyno in app.dynos { watcher.stop(dyno, app: app) }
        app.dynos = []
    }
}
