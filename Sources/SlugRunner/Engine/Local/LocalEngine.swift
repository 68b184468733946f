import Foundation
import SlipwayDynos
import SlipwayRouting
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Dynos as processes on this machine (the default engine), each in its sandbox and control group: it holds each
/// app's dynos, starts and stops them through ``LocalProcesses``, restarts the crashed ones with backoff, tells the
/// deploy when a booting web dyno accepts connections (and passes its health check), and keeps the current release's
/// dynos as the formation says.
///
/// The deploy's order stays the watcher's (``DeployMachine``): the engine carries out what it is asked, and tells the
/// deploy what became of its processes through the watcher (``Watcher/handle(_:app:)``).
final class LocalEngine: DynoEngine {
    unowned let watcher: Watcher
    let processes: LocalProcesses
    let settings: WatchSettings
    let clock = ContinuousClock()
    /// Each app's dynos, by app name.
    private var apps: [String: AppDynos] = [:]
    /// Web dynos' health checks, off the loop; their results wake it through the mailbox.
    lazy var health = HealthProbes { [weak mailbox = watcher.mailbox] in mailbox?.wake() }

    init(watcher: Watcher, processes: LocalProcesses) {
        self.watcher = watcher
        self.processes = processes
        self.settings = watcher.settings
        processes.reservedPorts = { [unowned self] in Set(allDynos().map(\.port)) }
    }

    /// The dynos of `app` (created on first use).
    func dynos(of app: AppRuntime) -> AppDynos {
        if let dynos = apps[app.name] { return dynos }
        let dynos = AppDynos()
        apps[app.name] = dynos
        return dynos
    }

    /// Every dyno the engine knows, current and deploying.
    func allDynos() -> [Dyno] { apps.values.flatMap(\.all) }

    // MARK: - The deploy

    /// Starts the release command as a process on a port of its own; a spawn failure goes back to the deploy.
    func runReleasePhase(_ release: UnpackedRelease, command: String, app: AppRuntime) {
        watcher.log(app.name, "deploy", "Running release command: \(command)")
        let deployment = Deployment(release: release)
        dynos(of: app).deployment = deployment
        do {
            let place = try processes.prepare(
                app: app.name, dyno: "release.1", type: ProcessType.release, release: release)
            let launch = ProcessLaunch(
                home: place?.home ?? release.home, command: command, configVars: release.manifest.configVars,
                port: try processes.port(), dyno: "release.1")
            deployment.releasePhase = try processes.spawn(
                launch, app: app.name, label: "release.1", release: release, place: place
            ) { [unowned self] status, stopped in
                if !stopped { watcher.handle(.releasePhaseExited(status), app: app) }
            }
        } catch {
            watcher.handle(.releasePhaseDidNotStart(reason: "\(error)"), app: app)
        }
    }

    /// Starts the planned processes of the release, each on a port of its own.
    func boot(_ release: UnpackedRelease, _ plans: [DeployMachine.DynoPlan], app: AppRuntime) {
        let local = dynos(of: app)
        let deployment = local.deployment ?? Deployment(release: release)
        let dynos = plans.map {
            // Each gets its port when it starts.
            Dyno(type: $0.type, index: $0.index, release: release, command: $0.command, port: 0)
        }
        // The release command was reaped: its pid is no longer ours to signal.
        deployment.releasePhase = nil
        deployment.dynos = dynos
        local.deployment = deployment
        for dyno in dynos { start(dyno, app: app) }
        let web = dynos.filter { $0.type == ProcessType.web }
        if !web.isEmpty {
            watcher.log(
                app.name, "deploy",
                "Waiting up to \(settings.bootTimeout.spoken) for "
                    + "\(web.map(\.name).joined(separator: ", ")) to accept connections")
        }
    }

    /// The booting release's web dynos that accept connections (and pass the health check) go up; exits come from
    /// the processes' `onExit`.
    func progress(of app: AppRuntime) -> [DeployMachine.Event] {
        var events: [DeployMachine.Event] = []
        for dyno in dynos(of: app).deployment?.dynos ?? []
        where dyno.type == ProcessType.web && dyno.state == .starting && dyno.pid != nil {
            guard readyToServe(dyno, app: app) else { continue }
            markUp(dyno, app: app)
            events.append(.webUp(dyno: dyno.name))
        }
        return events
    }

    func takeOver(_ app: AppRuntime) {
        let local = dynos(of: app)
        let replaced = local.current
        local.current = local.deployment?.dynos ?? []
        local.deployment = nil
        local.warnings = []
        // The router sends new requests to the new dynos before the old ones are asked to stop; those finish the
        // requests they hold within the grace period.
        watcher.updateRoutes()
        for dyno in replaced { stop(dyno, app: app) }
    }

    /// Stops every process the deployment started.
    func abandon(_ app: AppRuntime) {
        let local = dynos(of: app)
        if let deployment = local.deployment {
            if let pid = deployment.releasePhase {
                processes.stopGroup(pid, app: app.name, label: "release.1", release: deployment.release)
            }
            for dyno in deployment.dynos { stop(dyno, app: app) }
        }
        local.deployment = nil
    }

    func crashed(_ name: String, app: AppRuntime) {
        if let dyno = dynos(of: app).deployment?.dynos.first(where: { $0.name == name }) { crashed(dyno, app: app) }
    }

    /// The words of a boot failure: the dynos' `PORT` and the address they were checked on (R10 for a boot timeout).
    func describe(_ failure: DeployMachine.Failure, app: AppRuntime) -> String? {
        let booting = { (name: String) in self.dynos(of: app).deployment?.dynos.first { $0.name == name } }
        let port = { (name: String) in booting(name)?.port ?? 0 }
        let ownNetwork = processes.isolation?.network != nil
        switch failure {
        case .webExited(let dyno, let status):
            let address = ownNetwork ? "its own address" : "\(settings.address)"
            return "\(dyno) exited with \(status) before it accepted connections on \(address) (PORT=\(port(dyno)))"
        case .webNotListening(let late):
            return BootTimeout.local(
                late.map { ($0, port($0)) }, address: ownNetwork ? nil : settings.address.host,
                timeout: settings.bootTimeout, healthcheck: app.wanted.healthcheck)
        default:
            return nil
        }
    }

    // MARK: - Between deploys

    /// Makes the current release's processes match the formation: starts missing ones, stops extra ones, restarts
    /// crashed ones whose backoff has passed, marks `web` processes up once they accept connections, and checks the
    /// serving ones' health.
    func reconcile(_ app: AppRuntime) {
        guard let release = app.current else { return }
        let local = dynos(of: app)
        let declared = release.manifest.processTypes
        for (type, count) in app.formation.counts.sorted(by: { $0.key < $1.key })
        where count > 0 && declared[type] == nil && type != ProcessType.release {
            let warning = "\(type)@\(release.entry)"
            if !local.warnings.contains(warning) {
                local.warnings.insert(warning)
                watcher.log(
                    app.name, "deploy",
                    "The formation asks for \(type)=\(count), but \(release.label) declares no \(type)")
            }
        }
        let extra = local.current.filter { $0.index > app.formation.count(of: $0.type) }
        if !extra.isEmpty {
            local.current.removeAll { dyno in extra.contains { $0 === dyno } }
            watcher.updateRoutes()
            for dyno in extra { stop(dyno, app: app) }
        }
        for (type, command) in declared.sorted(by: { $0.key < $1.key })
        where type != ProcessType.release && ProcessType.isValid(type) {
            let count = app.formation.count(of: type)
            guard count > 0 else { continue }
            for index in 1...count where !local.current.contains(where: { $0.type == type && $0.index == index }) {
                let dyno = Dyno(type: type, index: index, release: release, command: command, port: 0)
                local.current.append(dyno)
                start(dyno, app: app)
            }
        }
        for dyno in local.current where dyno.pid == nil {
            guard let at = dyno.restartAt, clock.now >= at else { continue }
            dyno.restarts += 1
            start(dyno, app: app)
        }
        for dyno in local.current where dyno.type == ProcessType.web && dyno.state == .starting && dyno.pid != nil {
            if readyToServe(dyno, app: app) { markUp(dyno, app: app) }
        }
        checkHealth(app)
    }

    func restart(type: String, app: AppRuntime, reason: String) {
        replace(dynos(of: app).current.filter { $0.type == type }, app: app, reason: reason)
    }

    /// Stops `dynos` of the current release and starts new ones in their place (the next ``reconcile(_:)`` does):
    /// each leaves the route first.
    func replace(_ dynos: [Dyno], app: AppRuntime, reason: String) {
        guard !dynos.isEmpty else { return }
        watcher.log(app.name, "restart", "Restarting \(dynos.map(\.name).joined(separator: ", ")) (\(reason))")
        self.dynos(of: app).current.removeAll { dyno in dynos.contains { $0 === dyno } }
        watcher.updateRoutes()
        for dyno in dynos { stop(dyno, app: app) }
    }

    /// Samples each running dyno's memory for `ps` (rounded to MiB, so that `state.json` changes only when it does).
    func scan(_ apps: [AppRuntime]) {
        for dyno in allDynos() where dyno.pid != nil {
            dyno.memoryBytes = dyno.pid.flatMap(processes.memoryBytes(ofGroup:)).map {
                Int($0 / 1_048_576) * 1_048_576
            }
        }
    }

    func upstreams(of app: AppRuntime) -> [RouteTable.Upstream] {
        dynos(of: app).current.filter { $0.type == ProcessType.web && $0.state == .up && $0.pid != nil }.map {
            RouteTable.Upstream(dyno: $0.name, port: $0.port, host: $0.address.host)
        }
    }

    func shutDown(_ app: AppRuntime) {
        let local = dynos(of: app)
        for dyno in local.current { stop(dyno, app: app) }
        local.current = []
    }

    func collect() {
        for result in health.take() { healthChecked(result) }
    }

    func finish() {
        health.shutdown()
    }

    // MARK: - Processes

    /// Starts the process of `dyno`, on its port when that is still free, else on a new one; with no port to give,
    /// it is a crash (restarted with backoff), never a process told `PORT=0`.
    func start(_ dyno: Dyno, app: AppRuntime) {
        watcher.log(app.name, dyno.name, "Starting process of \(dyno.release.label) with command `\(dyno.command)`")
        do {
            let used = Set(allDynos().filter { $0 !== dyno && $0.pid != nil }.map(\.port))
            dyno.port = try processes.port(keeping: dyno.port, usedBy: used)
            let place = try processes.prepare(app: app.name, dyno: dyno.name, type: dyno.type, release: dyno.release)
            dyno.address = place?.address(or: settings.address) ?? settings.address
            let launch = ProcessLaunch(
                home: place?.home ?? dyno.release.home, command: dyno.command,
                configVars: dyno.release.manifest.configVars, port: dyno.port, dyno: dyno.name)
            let pid = try processes.spawn(
                launch, app: app.name, label: dyno.name, release: dyno.release, place: place
            ) { [unowned self] status, stopped in
                exited(dyno, status, stopped: stopped, app: app)
            }
            dyno.pid = pid
            dyno.startedAt = Date()
            dyno.startedClock = clock.now
            dyno.startTicks = ProcessStat.read(pid)?.startTicks
            dyno.restartAt = nil
            dyno.state = .starting
            if dyno.type != ProcessType.web { markUp(dyno, app: app) }
        } catch {
            watcher.log(app.name, dyno.name, "\(error)")
            crashed(dyno, app: app)
        }
    }

    /// The process of `dyno` ended: a booting release's goes to the deploy, a current one's is a crash.
    private func exited(_ dyno: Dyno, _ status: ExitStatus, stopped: Bool, app: AppRuntime) {
        dyno.pid = nil
        guard !stopped else { return }
        if let deployment = dynos(of: app).deployment, deployment.dynos.contains(where: { $0 === dyno }) {
            watcher.handle(.dynoExited(dyno: dyno.name, status), app: app)
        } else {
            crashed(dyno, app: app)
        }
    }

    /// Schedules a crashed process's restart with backoff, reporting a crash loop once.
    func crashed(_ dyno: Dyno, app: AppRuntime) {
        let ranFor = dyno.startedClock.map { clock.now - $0 } ?? .zero
        let decision = dyno.crashes.recordExit(after: ranFor, policy: settings.restart)
        watcher.log(app.name, dyno.name, "State changed from \(dyno.state.rawValue) to crashed")
        dyno.state = .crashed
        dyno.restartAt = clock.now + decision.delay
        if decision.crashLoopStarted {
            watcher.log(
                app.name, dyno.name,
                "Crash loop: exited \(dyno.crashes.consecutiveCrashes) times in a row, each within "
                    + "\(settings.restart.stableAfter.spoken) of starting; restarting with backoff "
                    + "(next in \(decision.delay.spoken), at most every "
                    + "\(settings.restart.maximumDelay.spoken))")
        } else {
            watcher.log(app.name, dyno.name, "Restarting in \(decision.delay.spoken)")
        }
    }

    func markUp(_ dyno: Dyno, app: AppRuntime) {
        guard dyno.state != .up else { return }
        watcher.log(app.name, dyno.name, "State changed from \(dyno.state.rawValue) to up")
        dyno.state = .up
    }

    /// Asks `dyno`'s process group to stop, if it runs.
    func stop(_ dyno: Dyno, app: AppRuntime) {
        guard let pid = dyno.pid else { return }
        processes.stopGroup(pid, app: app.name, label: dyno.name, release: dyno.release)
    }
}
