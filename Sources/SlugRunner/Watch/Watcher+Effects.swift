import Foundation
import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Carrying out what an app's ``DeployMachine`` decided: the spool, `current`, log lines and the status `slugrunner ps`
/// shows here; the dynos through the engine.
extension Watcher {
    /// Carries out one decision of `app`'s deploy.
    func perform(_ effect: DeployMachine.Effect, app: AppRuntime) {
        switch effect {
        case .skip(let skipped, let running):
            log(
                app.name, "deploy",
                "Skipping \(skipped.entry): v\(skipped.version) is not newer than the running v\(running)")
            try? spool.remove(claimed: skipped.entry)
        case .prepare(let chosen):
            startPreparing(app, entry: chosen.entry, version: chosen.version)
        case .reject(let entry, let reason):
            reject(entry, app: app.name, reason: reason)
            app.lastDeploy = Self.deployStatus(
                version: Self.version(of: entry), entry: entry, status: "rejected", message: reason)
        case .announce(let release):
            let manifest = release.manifest
            let what = [manifest.description, manifest.user.map { "by \($0)" }].compactMap { $0 }
                .joined(separator: " ")
            log(app.name, "deploy", "Deploying \(release.label)" + (what.isEmpty ? "" : " (\(what))"))
            app.lastDeploy = Self.deployStatus(
                version: release.version, entry: release.entry, status: "deploying", message: "")
        case .runReleasePhase(let release, let command):
            engine.runReleasePhase(release, command: command, app: app)
        case .releasePhaseSucceeded:
            log(app.name, "deploy", "Release command succeeded")
        case .boot(let release, let plans):
            engine.boot(release, plans, app: app)
        case .switchOver(let release, let previous):
            switchOver(app, to: release, from: previous)
        case .crashed(let name):
            engine.crashed(name, app: app)
        case .fail(let release, let failure, let keeping):
            fail(app, release, describe(failure, of: release, app: app), keeping: keeping)
        case .stopDeployment:
            engine.abandon(app)
        }
    }

    /// The new release is up: it is recorded as current, and the previous release's processes are stopped.
    private func switchOver(_ app: AppRuntime, to release: UnpackedRelease, from previous: UnpackedRelease?) {
        do {
            try Files.writeAtomically(Data("\(release.entry)\n".utf8), to: root.current(app.name))
        } catch {
            log(app.name, "deploy", "Cannot record \(release.entry) as current (\(error)); a restart will redeploy it")
        }
        engine.takeOver(app)
        if let previous { app.retiring.append(previous) }
        let stopping = previous.map { ", stopping \($0.label)" } ?? ""
        log(app.name, "deploy", "Deployed \(release.label)\(stopping)")
        app.lastDeploy = Self.deployStatus(
            version: release.version, entry: release.entry, status: "succeeded",
            message: previous.map { "replaced \($0.label)" } ?? "first release")
    }

    /// The deploy failed: its processes are stopped, its entry moves to `spool/failed/`, the previous release keeps
    /// running.
    private func fail(_ app: AppRuntime, _ release: UnpackedRelease, _ reason: String, keeping: UnpackedRelease?) {
        engine.abandon(app)
        app.retiring.append(release)
        let aside = (try? spool.setAside(release.entry, into: "failed")).map { "; moved to \($0)" } ?? ""
        let keeps = keeping.map { "\($0.label) keeps running" } ?? "nothing runs"
        log(app.name, "deploy", "\(release.label) failed: \(reason); \(keeps)\(aside)")
        app.lastDeploy = Self.deployStatus(
            version: release.version, entry: release.entry, status: "failed", message: "\(reason); \(keeps)")
    }

    /// Why the deploy failed, for the log and `slugrunner ps`; the engine words what befell its dynos.
    private func describe(_ failure: DeployMachine.Failure, of release: UnpackedRelease, app: AppRuntime) -> String {
        if let words = engine.describe(failure, app: app) { return words }
        switch failure {
        case .releaseCommandDidNotStart(let error):
            return "the release command could not start: \(error)"
        case .releaseCommandFailed(let status):
            return "the release command failed (\(status))"
        case .releaseCommandTimedOut:
            return "the release command ran longer than \(settings.releaseTimeout.spoken)"
        case .noWebProcessType:
            return "\(release.label) declares no web process type (scale web=0 to run releases without one: "
                + "`slugrunner scale \(app.name) web=0`)"
        case .webExited(let dyno, let status):
            return "\(dyno) exited with \(status) before it accepted connections"
        case .webFailed(let reason):
            return reason
        case .webNotListening(let late):
            return "\(late.joined(separator: ", ")) did not accept connections within "
                + "\(settings.bootTimeout.spoken)"
        }
    }
}
