import Foundation
import SlipwaySpool
import SlipwaySystem

/// What `ps` and `ps:scale` print: the dynos the runner reports (`state.json`, ``RunnerState``) in Heroku's `ps`
/// layout, and the formation the door records (`dynos.json`, ``DynoSettings``).
enum DynoListing {
    /// `ps`: one group per process type, each dyno with its state, since when, and its memory when measured:
    ///
    /// ```
    /// === web (512 MB): gunicorn app:app (2)
    /// web.1: up 2026/11/30 01:02:03 +0000 (~ 5m ago), memory 87 MB
    /// web.2: up 2026/11/30 01:02:04 +0000 (~ 5m ago), memory 85 MB
    /// ```
    ///
    /// One-off and release-phase dynos follow, each with its command, as Heroku lists `run` dynos.
    static func dynos(_ state: RunnerState, settings: DynoSettings, now: Date, shares: [String: Int]) -> [String] {
        var lines: [String] = []
        let byType = Dictionary(grouping: state.processes, by: \.type)
        let regular = DynoSettings.sortedTypes(byType.keys.filter { !oneOffTypes.keys.contains($0) })
        for type in regular {
            let processes = sorted(byType[type] ?? [])
            let count = state.formation[type] ?? processes.count
            let command = processes.first?.command ?? ""
            if !lines.isEmpty { lines.append("") }
            let autoscale = settings.autoscale?[type].map { ", autoscaled \($0.min) to \($0.max) on p95 \($0.p95) ms" }
            lines.append("=== \(type) (\(settings.memoryMB(of: type)) MB): \(command) (\(count))\(autoscale ?? "")")
            for process in processes {
                let share = shares[process.dyno].map { ", \($0)% of the last minute's requests" } ?? ""
                lines.append("\(process.dyno): " + describe(process, release: state.release?.version, now: now) + share)
            }
        }
        for (type, title) in oneOffTypes.sorted(by: { $0.key > $1.key }) {
            guard let processes = byType[type].map(sorted) else { continue }
            if !lines.isEmpty { lines.append("") }
            lines.append("=== \(type): \(title) (\(processes.count))")
            for process in processes {
                lines.append(
                    "\(process.dyno): " + describe(process, release: state.release?.version, now: now)
                        + ": \(process.command)")
            }
        }
        if lines.isEmpty { lines.append("No dyno of \(state.app) runs (formation: \(settings.summary)).") }
        if let refused = state.formationRefused {
            lines.append(" !     The runner keeps the formation it has: \(refused)")
        }
        if let deploy = state.lastDeploy, deploy.status != "succeeded" {
            let prefix = deploy.status == "deploying" ? "" : " !     "
            lines.append(
                "\(prefix)v\(deploy.version) \(deploy.status) at \(deploy.at)"
                    + (deploy.message.isEmpty ? "" : ": \(deploy.message)"))
        }
        return lines
    }

    /// Dyno types that are not part of the formation: one-off dynos (`run.3`) and the release phase.
    private static let oneOffTypes = ["run": "one-off processes", "release": "release phase"]

    /// `web.2` after `web.1`, `web.10` after `web.9`.
    private static func sorted(_ processes: [RunnerState.Process]) -> [RunnerState.Process] {
        processes.sorted { first, second in
            let a = DynoName(first.dyno)?.number ?? 0
            let b = DynoName(second.dyno)?.number ?? 0
            return (a, first.dyno) < (b, second.dyno)
        }
    }

    /// `up 2026/11/30 01:02:03 +0000 (~ 5m ago), memory 87 MB`; on a swarm, `… ago) on node2`.
    private static func describe(_ process: RunnerState.Process, release: Int?, now: Date) -> String {
        var text = process.state
        if let started = process.startedAt.flatMap(RunnerState.parseTime) {
            text +=
                " \(formatClockTime(started)) (~ \(formatAge(seconds: max(0, Int(now.timeIntervalSince(started))))) ago)"
        }
        if let node = process.node { text += " on \(node)" }
        if let bytes = process.memoryBytes { text += ", memory \(megabytes(bytes))" }
        if let release, process.release != release { text += ", v\(process.release)" }
        if process.restarts > 0 { text += ", \(process.restarts) restart\(process.restarts == 1 ? "" : "s")" }
        if process.crashLoop { text += ", crash loop" }
        return text
    }

    /// `87 MB`, `0.4 MB`.
    static func megabytes(_ bytes: Int) -> String {
        let value = Double(bytes) / 1_048_576
        return value < 10 ? String(format: "%.1f MB", value) : "\(Int(value.rounded())) MB"
    }

    /// `=== myapp formation` and one row per process type: its quantity and each dyno's memory and disk.
    static func formation(_ app: String, _ settings: DynoSettings) -> [String] {
        let counts = settings.quantities
        var rows = [["TYPE", "QTY", "MEMORY", "DISK"]]
        for type in DynoSettings.sortedTypes(counts.keys) {
            rows.append([
                type, "\(counts[type] ?? 0)", "\(settings.memoryMB(of: type)) MB", "\(settings.diskMB(of: type)) MB",
            ])
        }
        return ["=== \(app) formation"] + alignedRows(rows)
    }

}
