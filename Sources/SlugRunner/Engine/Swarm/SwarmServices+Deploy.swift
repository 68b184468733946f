import Foundation
import SlipwaySpool
import SlipwaySwarm
import SlipwaySystem

/// A release's way onto the swarm: its release command as a one-off job, then its web service rolled task by task,
/// then its other process types. The watcher's ``DeployMachine`` decides when; this is how.
extension SwarmServices {
    /// Where a web service's roll to a release stands.
    enum Rollout: Equatable {
        case rolling
        /// Every web task of the release runs and passed its health check.
        case up
        /// Its tasks failed; Swarm rolled the service back (or, on a first deploy, gave up): why.
        case failed(String)
    }

    /// The ``ServicePlan/key`` of the app's release job.
    static func releaseJob(_ app: String) -> String { ServicePlan.key(app: app, type: ProcessType.release) }

    /// Starts the release command as a one-off job, replacing a finished one.
    func startReleasePhase(app: String, release: UnpackedRelease, command: String, wanted: DynoSettings) throws {
        try remove(Self.releaseJob(app))
        let plan = try plan(
            app: app, release: release, type: ProcessType.release, command: command, replicas: 1, wanted: wanted)
        try ensureNetwork(app)
        try docker.post("/services/create", json: signed(plan).spec)
        try refresh()
    }

    /// The release command's end: its status, and Swarm's word on a failure; nil while it runs.
    func releasePhaseEnded(app: String) -> (status: ExitStatus, detail: String?)? {
        let tasks = tasks(ofService: Self.releaseJob(app))
        if tasks.contains(where: { $0.state == "complete" }) { return (.exited(0), nil) }
        guard let failed = tasks.first(where: \.hasFailed) else { return nil }
        return (.exited(Int32(failed.exitCode ?? 1)), failed.error ?? failed.message)
    }

    /// Rolls the web service to the release (creates it on a first deploy); without web, nothing waits.
    func boot(app: String, entry: String, web plan: ServicePlan?) throws {
        try refresh()
        try remove(Self.releaseJob(app))
        guard let plan else { return }
        rolling[app] = entry
        try apply(plan)
        try refresh()
    }

    /// How the roll of `app`'s web service to `entry` goes, from the last ``refresh()``.
    func rollout(app: String, entry: String) -> Rollout {
        let key = ServicePlan.key(app: app, type: ProcessType.web)
        guard let service = services[key] else { return .rolling }
        let mine = tasks(ofService: key).filter { $0.entry == entry }
        let failed = mine.filter(\.hasFailed).sorted { $0.slot < $1.slot }
        let why = failed.first.map { "\($0.dyno) failed on \(nodeName($0.nodeID)): \($0.error ?? $0.message)" }
        switch service.updateState {
        case "paused", "rollback_started", "rollback_paused", "rollback_completed":
            let swarm = service.updateMessage.map { "; Swarm: \($0)" } ?? ""
            return .failed("the new web tasks did not pass (\(why ?? "no task ran"))\(swarm)")
        case "updating":
            return .rolling
        default:
            let replicas = service.spec["Mode"]?["Replicated"]?["Replicas"]?.int ?? 0
            if service.labels[ServicePlan.entryLabel] == entry && mine.filter(\.isRunning).count >= replicas {
                return .up
            }
            // A first deploy has nothing to roll back to: tasks that keep failing end it.
            if service.updateState == nil && failed.count >= 3, let why {
                return .failed("the web tasks keep failing (\(why))")
            }
            return .rolling
        }
    }

    /// The release took over: its other process types run now, the types it no longer runs go, and the job ends.
    func takeOver(app: String, plans: [ServicePlan]) throws {
        rolling[app] = nil
        try remove(Self.releaseJob(app))
        for plan in plans where plan.type != ProcessType.web { try apply(plan) }
        try removeUnwanted(app: app, keeping: Set(plans.map(\.type)))
        try refresh()
    }

    /// The deploy of `entry` failed or stops: the web service goes back to what it ran before (or goes, if it never
    /// ran anything else), and the release job ends.
    func abandon(app: String, entry: String) throws {
        rolling[app] = nil
        try remove(Self.releaseJob(app))
        let key = ServicePlan.key(app: app, type: ProcessType.web)
        guard let service = services[key], service.labels[ServicePlan.entryLabel] == entry else { return }
        if (service.updateState ?? "").hasPrefix("rollback") { return }
        if !service.hasPreviousSpec {
            try remove(key)
        } else {
            try docker.post(
                "/services/\(service.id)/update", query: [("version", "\(service.version)"), ("rollback", "previous")],
                json: service.spec)
        }
        try refresh()
    }

    /// Keeps the current release's services as the formation and settings say (scale, memory, restarts, health
    /// check, a fresh slug URL), between deploys.
    func reconcile(app: String, plans: [ServicePlan]) throws {
        guard rolling[app] == nil else { return }
        var changed = false
        for plan in plans where try apply(plan) { changed = true }
        if try removeUnwanted(app: app, keeping: Set(plans.map(\.type))) { changed = true }
        if changed { try refresh() }
    }

    /// Removes the app's services of process types not in `keeping` (scaled to 0, or gone from the release).
    @discardableResult
    private func removeUnwanted(app: String, keeping: Set<String>) throws -> Bool {
        let unwanted = services(of: app).filter { !keeping.contains($0.key) && $0.key != ProcessType.release }
        for type in unwanted.keys { try remove(ServicePlan.key(app: app, type: type)) }
        return !unwanted.isEmpty
    }

    func nodeName(_ id: String) -> String { nodes[id]?.hostname ?? String(id.prefix(12)) }
}
