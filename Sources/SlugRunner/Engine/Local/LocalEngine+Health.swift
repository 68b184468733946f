import Foundation
import SlipwaySpool

/// Health checks (`apps:set <app> healthcheck=/up`): a new web dyno serves only once it answers 2xx or 3xx there,
/// and a serving one that fails three checks in a row is restarted.
extension LocalEngine {
    /// Whether a starting web dyno may serve: it accepts connections and, when the app has a health check, has
    /// passed it (the check runs off the loop; ``healthChecked(_:)`` marks the dyno up when it passes).
    func readyToServe(_ dyno: Dyno, app: AppRuntime) -> Bool {
        guard let pid = dyno.pid, dyno.address.acceptsConnections(on: dyno.port),
            processes.listensItself(pid, on: dyno.port)
        else { return false }
        guard let path = app.wanted.healthcheck else { return true }
        probeIfDue(dyno, app: app, path: path, every: .seconds(1))
        return false
    }

    /// Checks the serving web dynos of `app`'s current release, each every ``WatchSettings/healthInterval``.
    func checkHealth(_ app: AppRuntime) {
        guard let path = app.wanted.healthcheck else { return }
        for dyno in dynos(of: app).current where dyno.type == ProcessType.web && dyno.state == .up && dyno.pid != nil {
            probeIfDue(dyno, app: app, path: path, every: settings.healthInterval)
        }
    }

    /// A health check ended: a starting dyno goes up, a serving one that failed three in a row is restarted.
    func healthChecked(_ result: HealthProbes.Result) {
        for app in watcher.apps.values {
            let local = dynos(of: app)
            let booting = local.deployment?.dynos.first { ObjectIdentifier($0) == result.dyno }
            guard let dyno = booting ?? local.current.first(where: { ObjectIdentifier($0) == result.dyno }),
                dyno.pid != nil, let path = app.wanted.healthcheck
            else { continue }
            let check = "Health check GET \(path) \(result.detail)"
            switch (dyno.state, result.passed) {
            case (.starting, true):
                watcher.log(app.name, dyno.name, check)
                markUp(dyno, app: app)
                if booting != nil { watcher.handle(.webUp(dyno: dyno.name), app: app) }
            case (.starting, false):
                // Once per distinct answer: a dyno that boots slowly is probed every second.
                if dyno.healthDetail != result.detail { watcher.log(app.name, dyno.name, "\(check); waiting") }
            case (.up, true):
                dyno.healthFailures = 0
            case (.up, false):
                dyno.healthFailures += 1
                watcher.log(app.name, dyno.name, "\(check) (\(dyno.healthFailures) of 3 failures in a row)")
                if dyno.healthFailures >= 3 && booting == nil {
                    replace([dyno], app: app, reason: "failed its health check 3 times in a row")
                }
            case (.crashed, _):
                break
            }
            dyno.healthDetail = result.detail
            return
        }
    }

    private func probeIfDue(_ dyno: Dyno, app: AppRuntime, path: String, every interval: Duration) {
        if let next = dyno.nextHealthCheck, clock.now < next { return }
        dyno.nextHealthCheck = clock.now + interval
        health.probe(
            ObjectIdentifier(dyno), address: dyno.address.host, port: dyno.port, path: path,
            host: watcher.routeHost(app.name))
    }
}
