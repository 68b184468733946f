import Foundation
import SlipwayDoorRecords
import SlipwayMetrics
import SlipwaySpool
import SlipwaySystem

/// `metrics` (SlipwayMetrics' ``MetricsReport`` over the runner's ``MetricsStore``), and `ps:autoscale`, whose rule the
/// door records in `dynos.json` for the runner to carry out (docs/metrics.md).
extension ManagementCommands {
    static let metricsCommands = [
        ManagementCommand(
            "metrics", "<app> [--type <type>] [--since <span>] [--json]",
            "Show the app's requests, response times (p50/p95/p99), errors and memory per minute (up to 24h).",
            arity: 1...1, options: ["--json"]
        ) { run in
            let (app, _) = try run.app()
            let store = MetricsStore(folder: run.root.layout.runnerMetrics(app.name))
            do {
                for line in try MetricsReport.output(app.name, store, run.values, run.options) { run.out(line) }
            } catch let error as MetricsReport.QueryError { throw DoorError(.usage, "slipway: \(error.message)") }
        }.valued(["--type", "--since"]),
        ManagementCommand(
            "ps:autoscale", "<app> web --min <N> --max <M> --p95 <ms>",
            "Scale web between N and M dynos to keep the p95 response time under the target (ps:scale turns it off).",
            arity: 2...2
        ) { run in
            let (app, _) = try run.app()
            try onlyWeb(run)
            let limit = runnerState(run, app.name)?.limits?.maxDynos
            let settings = try updateDynoSettings(run, app.name) { settings in
                do throws(MetricsReport.QueryError) {
                    settings = try MetricsReport.autoscaling(settings, app: app.name, options: run.values, limit: limit)
                } catch { throw DoorError(.invalidValue, "slipway: \(error.message)") }
            }
            let rule = settings.autoscale?["web"].map { "\($0.min) to \($0.max) on p95 \($0.p95) ms" } ?? ""
            run.say("Autoscaling \(app.name)'s web dynos: \(rule) (ps:scale web=N turns it off)")
        }.valued(["--min", "--max", "--p95"]),
        ManagementCommand(
            "ps:autoscale:disable", "<app> web", "Stop autoscaling web, keeping the dynos running now.", arity: 2...2
        ) { run in
            let (app, _) = try run.app()
            try onlyWeb(run)
            let running = runnerState(run, app.name)?.formation["web"]
            let settings = try updateDynoSettings(run, app.name) { settings in
                guard settings.autoscale?["web"] != nil else { return }
                settings = settings.scaling("web", to: running ?? settings.quantity(of: "web"))
            }
            run.say("Autoscaling of \(app.name)'s web dynos is off; web=\(settings.quantity(of: "web")) stays")
        },
    ]
}

/// Autoscaling steps web dynos only (as Heroku's): another type is refused with the usage.
private func onlyWeb(_ run: Invocation) throws {
    guard run.arguments[1] == "web" else {
        throw DoorError(
            .invalidValue,
            "slipway: only web dynos can be autoscaled (\(TerminalText.printable(run.arguments[1])) cannot): "
                + "ps:autoscale <app> web --min <N> --max <M> --p95 <ms>")
    }
}
