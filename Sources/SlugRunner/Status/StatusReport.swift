public import Foundation
public import SlipwayRunnerKit
public import SlipwaySpool
import SlipwaySystem

/// `slugrunner ps`: reads an app's `state.json`, checks that a watcher runs, and renders it, Heroku's way or as
/// JSON.
public struct StatusReport: Sendable {
    public let root: RunnerRoot
    public let app: String

    public init(root: RunnerRoot, app: String) {
        self.root = root
        self.app = app
    }

    /// The app's status at `now`, with `watcher` and each process's `uptime` filled in. Without a watcher nothing
    /// runs, whatever the last state file says.
    public func status(now: Date = Date()) throws -> AppStatus {
        try AppName.validate(app)
        let watching = HeldLock.isHeld(root.watchLock)
        guard var status = try AppStatus.load(from: root.state(app)) else {
            guard Files.isDirectory(root.app(app)) || watching else {
                throw RunnerError(
                    .notFound,
                    "slugrunner: no release of \(app) has reached the runner under \(root.path); push it, and run "
                        + "`slugrunner watch`")
            }
            return AppStatus(
                app: app, watcher: watching, watcherPid: 0, updatedAt: "", host: nil, release: nil,
                formation: (try Scaling.current(root: root, app: app)).counts, processes: [], lastDeploy: nil)
        }
        status.watcher = watching
        if !watching { status.processes = [] }
        status.processes = Self.withUptimes(status.processes, now: now)
        return status
    }

    /// `processes` with the uptime at `now` of each one running: a process here (it has a pid) or a task on a node.
    static func withUptimes(_ processes: [AppStatus.Process], now: Date) -> [AppStatus.Process] {
        processes.map { process in
            var process = process
            if let started = process.startedAt.flatMap(AppStatus.parseTime), process.pid != nil || process.node != nil {
                process.uptime = max(0, Int(now.timeIntervalSince(started)))
            }
            return process
        }
    }

    /// Heroku-style text:
    ///
    /// ```
    /// === myapp v3: Deploy 1a2b3c4 (web=1)
    /// web.1: up 2026-01-02 03:04:05 +0000 (~ 5m ago), port 5123, pid 4242
    /// ```
    ///
    /// A dyno on a swarm names its node and the port the node publishes: `web.2: up … (~ 5m ago) on node2, port 30001`.
    public static func text(_ status: AppStatus) -> String {
        let address = status.host ?? ListenAddress.loopback.host
        var lines: [String] = []
        let formation = Formation(status.formation).summary
        if let release = status.release {
            lines.append(
                "=== \(status.app) v\(release.version)" + (release.description.map { ": \($0)" } ?? "")
                    + " (\(formation))")
        } else {
            lines.append("=== \(status.app): no release running (\(formation))")
        }
        if status.watcher == false {
            lines.append("slugrunner watch is not running: nothing runs (start it with `slugrunner watch`)")
        }
        for process in status.processes {
            var line = "\(process.dyno): \(process.state)"
            if let started = process.startedAt.flatMap(AppStatus.parseTime) {
                line += " \(formatClockTime(started)) (~ \(formatAge(seconds: process.uptime ?? 0)) ago)"
            }
            if let node = process.node {
                line += " on \(node)"
                if process.type == ProcessType.web && process.port > 0 { line += ", port \(process.port)" }
            } else if process.type == ProcessType.web {
                // A dyno with a network of its own listens at its own address, not the runner's host.
                line += ", port \(process.port), http://\(process.address ?? address):\(process.port)/"
            }
            if let pid = process.pid { line += ", pid \(pid)" }
            if let release = status.release, process.release != release.version { line += ", v\(process.release)" }
            if process.restarts > 0 { line += ", \(process.restarts) restart(s)" }
            if process.crashLoop { line += ", crash loop" }
            if process.type == "run" { line += ": " + TerminalText.printable(process.command, limit: 200) }
            lines.append(line)
        }
        if let refused = status.formationRefused {
            lines.append(" !     The runner keeps the formation it has: \(refused)")
        }
        if let deploy = status.lastDeploy, deploy.status != "succeeded" {
            let prefix = deploy.status == "deploying" ? "" : " !     "
            lines.append(
                "\(prefix)v\(deploy.version) \(deploy.status) at \(deploy.at)"
                    + (deploy.message.isEmpty ? "" : ": \(deploy.message)"))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
