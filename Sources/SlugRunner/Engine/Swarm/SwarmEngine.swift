import Foundation
import SlipwayAddons
import SlipwayLogs
import SlipwayRouting
import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySwarm
import SlipwaySystem

/// The swarm engine (`--engine swarm`): dynos as tasks of a Docker Swarm, seen through ``DynoEngine``. The deploy's
/// order stays the watcher's; Swarm places, restarts and rolls the tasks, and ``SwarmServices`` is how the engine
/// tells it to, through the manager's Engine API. Stopping the watcher leaves the services running.
final class SwarmEngine: DynoEngine {
    unowned let watcher: Watcher
    let swarm: SwarmServices
    /// The last error of the Engine API, said once.
    private var failure: String?
    /// The release each app is deploying, from its release phase until it takes over or fails.
    private var deploying: [String: UnpackedRelease] = [:]
    /// What the deploying release's web tasks said they listen on, by app and dyno (for an R10's words).
    private var bound: [String: [String: String]] = [:]
    /// Each task's log budget (`--log-rate`), by app and dyno, as the local engine's dynos have.
    private var budgets: [String: [String: LogBudget]] = [:]
    private let clock = ContinuousClock()
    /// Lets the tasks reach the add-on servers of this machine, and only them (docs/addons.md).
    private let addons: AddonSwarmAccess
    private var addonsFailure: String?

    init(watcher: Watcher, settings: SwarmSettings) throws {
        self.watcher = watcher
        addons = AddonSwarmAccess(root: watcher.root.layout.path, nft: Firewall.nft)
        swarm = try SwarmServices(
            settings: settings, bucket: watcher.settings.bucket, grace: watcher.settings.grace,
            bootTimeout: watcher.settings.bootTimeout, poll: watcher.settings.pollInterval
        ) { [unowned watcher] app in
            guard let isolation = watcher.processes.isolation else {
                throw RunnerError(.sandbox, "slugrunner: the apps' users are not set up yet")
            }
            return try isolation.appUID(app)
        }
        try swarm.refresh()
        watcher.event(
            nil, "swarm",
            "Running dynos as Swarm services through \(settings.dockerHost) (\(swarm.nodes.count) node(s); "
                + "stack image \(settings.imageReference), \(swarm.image.prefix(19)))")
    }

    func runReleasePhase(_ release: UnpackedRelease, command: String, app: AppRuntime) {
        deploying[app.name] = release
        do {
            try swarm.startReleasePhase(app: app.name, release: release, command: command, wanted: app.wanted)
            watcher.log(
                app.name, "release.1",
                "Release command runs as the one-off Swarm job "
                    + ServicePlan.serviceName(app: app.name, type: ProcessType.release))
        } catch {
            watcher.handle(.releasePhaseDidNotStart(reason: "\(error)"), app: app)
        }
    }

    func boot(_ release: UnpackedRelease, _ plans: [DeployMachine.DynoPlan], app: AppRuntime) {
        deploying[app.name] = deploying[app.name] ?? release
        let web = plans.filter { $0.type == ProcessType.web }
        do {
            let plan = try web.first.map {
                try swarm.plan(
                    app: app.name, release: release, type: ProcessType.web, command: $0.command, replicas: web.count,
                    wanted: app.wanted)
            }
            try swarm.boot(app: app.name, entry: release.entry, web: plan)
            if let plan {
                watcher.log(
                    app.name, "deploy",
                    "Rolling \(plan.serviceName) to \(release.label): \(plan.replicas) new task(s), started and "
                        + "healthy before the old ones stop")
            }
        } catch {
            watcher.handle(.bootFailed(reason: "Swarm refused the web service: \(error)"), app: app)
        }
    }

    func progress(of app: AppRuntime) -> [DeployMachine.Event] {
        switch app.machine.state {
        case .releasePhase:
            guard let (status, detail) = swarm.releasePhaseEnded(app: app.name) else { return [] }
            if let detail, !status.succeeded { watcher.log(app.name, "release.1", "Swarm: \(detail)") }
            return [.releasePhaseExited(status)]
        case .booting(let release, let web, _, _):
            switch swarm.rollout(app: app.name, entry: release.entry) {
            case .rolling: return []
            case .up: return web.map { .webUp(dyno: $0) }
            case .failed(let reason): return [.bootFailed(reason: reason)]
            }
        case .idle, .preparing, .stopped:
            return []
        }
    }

    func takeOver(_ app: AppRuntime) {
        deploying[app.name] = nil
        bound[app.name] = nil
        attempt(app.name) { try swarm.takeOver(app: app.name, plans: try plans(of: app)) }
    }

    func abandon(_ app: AppRuntime) {
        bound[app.name] = nil
        guard let release = deploying.removeValue(forKey: app.name) else { return }
        attempt(app.name) { try swarm.abandon(app: app.name, entry: release.entry) }
    }

    /// Swarm restarts a task that exits; the deploy hears of no single one.
    func crashed(_ dyno: String, app: AppRuntime) {}

    /// A boot timeout is Heroku's R10, with the fix a task needs (every task listens on the same `PORT` in its
    /// container, reached at the container's address) and what its output said it bound, if it did.
    func describe(_ failure: DeployMachine.Failure, app: AppRuntime) -> String? {
        guard case .webNotListening(let late) = failure else { return nil }
        return BootTimeout.swarm(
            late, port: ServicePlan.containerPort, timeout: watcher.settings.bootTimeout,
            healthcheck: app.wanted.healthcheck, bound: bound[app.name] ?? [:])
    }

    /// Swarm keeps the services as they are told; the runner compares them with the formation once per scan.
    func reconcile(_ app: AppRuntime) {}

    func restart(type: String, app: AppRuntime, reason: String) {
        watcher.log(
            app.name, "restart",
            "Restarting \(ServicePlan.serviceName(app: app.name, type: type)) (\(reason)): Swarm replaces each task, "
                + "start-first")
    }

    func collect() {}

    func scan(_ apps: [AppRuntime]) {
        do {
            try swarm.refresh()
            failure = nil
        } catch {
            let message = "\(error)"
            if failure != message { watcher.event(nil, "swarm", "Cannot read the swarm: \(message)") }
            failure = message
            return
        }
        let reach = addons.sync(nodes: swarm.nodes.values.map(\.address))
        if let reach, reach != addonsFailure { watcher.event(nil, "swarm", "Add-ons: \(reach)") }
        addonsFailure = reach
        for (app, dyno, text) in swarm.taskChanges() where watcher.apps[app] != nil {
            watcher.log(app, dyno, text)
        }
        for app in apps {
            if app.current != nil && !app.machine.isBusy {
                attempt(app.name) { try swarm.reconcile(app: app.name, plans: try plans(of: app)) }
            }
            logNewLines(of: app.name)
        }
        // Apps that are gone leave no log budgets behind.
        let names = Set(apps.map(\.name))
        budgets = budgets.filter { names.contains($0.key) }
    }

    /// Writes what the app's tasks printed since the last scan, each dyno within its log budget: past it, lines are
    /// dropped and counted with Heroku's L11, as for the local engine's dynos; a service that printed more than a
    /// burst since the last scan has its older lines dropped by the read itself, and says so.
    private func logNewLines(of app: String) {
        let rate = watcher.settings.logRate
        let (lines, overflowed) = swarm.newLogLines(of: app, limit: rate.burst)
        let log = watcher.log(app)
        var budgets = self.budgets[app] ?? [:]
        let now = clock.now
        for line in lines {
            if budgets[line.dyno, default: LogBudget(rate: rate, now: now)].admit(now: now) {
                log.write(.app(line.dyno, line.text, date: line.date))
            }
            if let entry = line.entry, entry == deploying[app]?.entry,
                let address = BootTimeout.boundAddress(in: line.text)
            {
                bound[app, default: [:]][line.dyno] = address
            }
        }
        for dyno in budgets.keys.sorted() {
            if let report = budgets[dyno]?.report(dyno: dyno, now: now) { log.write(.runner(dyno, report)) }
        }
        for type in overflowed {
            log.write(
                .runner(
                    type,
                    "Error L11 (Tail buffer overflow) -> log lines dropped: \(type) logs faster than "
                        + "\(rate.linesPerSecond) lines per second (more than \(rate.burst) since the last look)"))
        }
        // Dynos that are gone leave no budget behind, once their dropped lines are reported.
        let live = Set(swarm.processes(of: app).map(\.dyno))
        self.budgets[app] = budgets.filter { live.contains($0.key) || $0.value.dropped > 0 }
    }

    func processes(of app: AppRuntime) -> [AppStatus.Process] { swarm.processes(of: app.name) }

    func upstreams(of app: AppRuntime) -> [RouteTable.Upstream] { swarm.upstreams(of: app.name) }

    func shutDown(_ app: AppRuntime) {
        if app.current != nil {
            watcher.log(app.name, "swarm", "The app's Swarm services keep running; the next watcher takes them over")
        }
    }

    func finish() {}

    /// The services the current release should have: each declared process type the formation runs.
    private func plans(of app: AppRuntime) throws -> [ServicePlan] {
        guard let release = app.current else { return [] }
        return try release.manifest.processTypes.sorted { $0.key < $1.key }.compactMap { type, command in
            let count = app.formation.count(of: type)
            guard type != ProcessType.release, ProcessType.isValid(type), count > 0 else { return nil }
            return try swarm.plan(
                app: app.name, release: release, type: type, command: command, replicas: count, wanted: app.wanted)
        }
    }

    /// Runs a call of the Engine API for `app`, logging a failure in its log (the next scan tries again).
    private func attempt(_ app: String, _ body: () throws -> Void) {
        do {
            try body()
        } catch {
            watcher.log(app, "swarm", "\(error)")
        }
    }
}
