import Foundation
import SlipwayLogs
import SlipwayMetrics
import SlipwayRunnerKit
import SlipwaySpool

/// The runner's hooks into ``SlipwayMetrics``: the figures are fed as the router lines and memory samples come, and
/// autoscaling steps the web formation (docs/metrics.md).
extension Watcher {
    /// Makes the recorder (and the Prometheus endpoint with `--metrics <address:port>`).
    func startMetrics() throws {
        guard settings.metrics else { return }
        var endpoint: MetricsEndpoint?
        if let address = settings.metricsAddress {
            let server = MetricsEndpoint()
            do {
                let port = try server.start(host: address.host, port: address.port)
                event(nil, "metrics", "Serving the apps' figures at http://\(address.host):\(port)/metrics")
            } catch {
                server.stop()
                throw RunnerError(
                    .usage,
                    "slugrunner: cannot listen on \(address.host):\(address.port) for --metrics: \(error); choose "
                        + "another address:port")
            }
            endpoint = server
        }
        let access = logs.access
        let recorder = MetricsRecorder(
            layout: root.layout, endpoint: endpoint, recentSeconds: Int(settings.autoscaleWindow.rounded(.up)) + 1,
            madeFolder: { access.share([$0]) })
        processes.memoryErrorSeen = { app, dyno, code in
            let type = DynoName(dyno)?.type ?? dyno
            recorder.memoryError(app: app, type: type, code: code, date: Date())
        }
        metrics = recorder
    }

    /// Writes what is left and stops the endpoint.
    func stopMetrics() {
        for error in metrics?.flush(force: true) ?? [] { event(nil, "metrics", error) }
        metrics?.endpoint?.stop()
    }

    /// Once per scan: each dyno's memory.
    func sampleMemory() {
        guard let metrics else { return }
        let now = Date()
        for app in apps.values {
            for process in engine.processes(of: app) {
                guard let bytes = process.memoryBytes, process.pid != nil || process.node != nil else { continue }
                metrics.memory(app: app.name, type: process.type, bytes: Int64(bytes), date: now)
            }
        }
    }

    /// Every pass: autoscaling, and the figures written now and then.
    func recordMetrics() {
        guard let metrics else { return }
        if !stopping { autoscale(metrics) }
        for error in metrics.flush() { event(nil, "metrics", error) }
    }

    /// The formation with the web count autoscaling chose, while the app is autoscaled.
    func autoscaled(_ quantities: [String: Int], app: AppRuntime) -> [String: Int] {
        guard let rule = app.wanted.autoscale?["web"], metrics != nil else {
            app.autoscaledWeb = nil
            autoscalers[app.name] = nil
            return quantities
        }
        var result = quantities
        let web = min(max(app.autoscaledWeb ?? quantities["web"] ?? 1, rule.min), rule.max)
        result["web"] = web
        app.autoscaledWeb = web
        return result
    }

    /// Steps each autoscaled app's web formation as ``Autoscaler`` decides, and logs each step.
    private func autoscale(_ metrics: MetricsRecorder) {
        let now = Date().timeIntervalSince1970
        for app in apps.values {
            guard let rule = app.wanted.autoscale?["web"], app.formationRefused == nil, app.current != nil else {
                continue
            }
            // An app read before any change of its dynos.json runs the formation's count: autoscaling starts there.
            let current = app.autoscaledWeb ?? app.formation.count(of: "web")
            var scaler = autoscalers[app.name] ?? Autoscaler(window: settings.autoscaleWindow, since: now)
            let times = metrics.webServiceTimes(app: app.name, since: scaler.lookSince(now: now))
            if let step = scaler.decide(current: current, rule: rule, times: times, now: now),
                step.to + app.formation.counts.filter({ $0.key != "web" }).values.reduce(0, +)
                    <= settings.maxDynosPerApp
            {
                app.autoscaledWeb = step.to
                var counts = app.formation.counts
                counts["web"] = step.to
                app.formation = Formation(counts)
                log(app.name, "autoscale", step.summary)
            }
            autoscalers[app.name] = scaler
        }
    }
}
