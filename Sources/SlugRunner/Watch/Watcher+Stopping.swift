import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Stopping process groups: SIGTERM to the app's processes, SIGKILL to the whole group after the grace period.
extension Watcher {
    /// Asks `dyno`'s process group to stop, if it runs.
    func stop(_ dyno: Dyno, app: AppRuntime) {
        guard let pid = dyno.pid else { return }
        stopGroup(pid, app: app, label: dyno.name, release: dyno.release)
    }

    /// Stops every process a deployment started.
    func stopAll(of deployment: Deployment, app: AppRuntime) {
        if let pid = deployment.releasePhase {
            stopGroup(pid, app: app, label: "release.1", release: deployment.release)
        }
        for dyno in deployment.dynos { stop(dyno, app: app) }
    }

    /// SIGTERM to the group's processes but the sandbox's (and SIGCONT, so a stopped process gets it); SIGKILL to the
    /// whole group follows after the grace period.
    func stopGroup(_ pgid: pid_t, app: AppRuntime, label: String, release: UnpackedRelease) {
        guard !stopOrders.contains(where: { $0.pgid == pgid }) else { return }
        leaders[pgid]?.stopping = true
        guard ProcessGroup.exists(pgid) else { return }
        log(app.name, label, "Stopping all processes of \(release.label) with SIGTERM")
        // The sandbox's own processes are spared: the app gets its grace period, and the sandbox ends with it.
        let sandbox = Set([isolation?.sandbox.bubblewrap].compactMap { $0 })
        ProcessGroup.signal(pgid, SIGTERM, sparing: sandbox)
        ProcessGroup.signal(pgid, SIGCONT)
        stopOrders.append(
            StopOrder(
                pgid: pgid, app: app.name, label: label, entry: release.entry, release: release.label,
                killAt: clock.now + settings.grace))
    }

    /// Forgets the groups that are gone; SIGKILLs the ones past their grace period, and gives up on a group that
    /// survives SIGKILL for another grace period (a process stuck in the kernel, or one that changed its user).
    func driveStopOrders() {
        stopOrders.removeAll { order in
            guard ProcessGroup.exists(order.pgid) else { return true }
            guard order.killed && clock.now >= order.killAt + settings.grace else { return false }
            log(
                order.app, order.label,
                "Process group \(order.pgid) of \(order.release) survived SIGKILL; giving up on it")
            return true
        }
        for index in stopOrders.indices where !stopOrders[index].killed && clock.now >= stopOrders[index].killAt {
            let order = stopOrders[index]
            log(
                order.app, order.label,
                "Error R12 (Exit timeout): processes of \(order.release) still running \(Self.seconds(settings.grace)) "
                    + "after SIGTERM; stopping them with SIGKILL")
            ProcessGroup.signal(order.pgid, SIGKILL)
            stopOrders[index].killed = true
        }
    }
}
