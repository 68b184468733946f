import Foundation
import SlipwaySpool

/// What `slugrunner ps` shows of the local dynos.
extension LocalEngine {
    /// The processes of the current release and of the one booting, on this machine.
    func processes(of app: AppRuntime) -> [AppStatus.Process] {
        let local = dynos(of: app)
        var processes = local.current.map(processStatus)
        if let deployment = local.deployment {
            processes += deployment.dynos.map(processStatus)
            if case .releasePhase = app.machine.state {
                processes.append(
                    AppStatus.Process(
                        dyno: "release.1", type: ProcessType.release, state: "starting", port: 0,
                        pid: deployment.releasePhase, release: deployment.release.version, startedAt: nil,
                        uptime: nil, restarts: 0, crashLoop: false,
                        command: deployment.release.manifest.processTypes[ProcessType.release] ?? "",
                        startTicks: nil))
            }
        }
        return processes
    }

    private func processStatus(_ dyno: Dyno) -> AppStatus.Process {
        AppStatus.Process(
            dyno: dyno.name, type: dyno.type, state: dyno.state.rawValue, port: Int(dyno.port), pid: dyno.pid,
            release: dyno.release.version, startedAt: dyno.startedAt.map(AppStatus.isoTime), uptime: nil,
            restarts: dyno.restarts,
            crashLoop: dyno.crashes.consecutiveCrashes >= settings.restart.crashLoopThreshold,
            command: dyno.command, startTicks: dyno.pid == nil ? nil : dyno.startTicks,
            memoryBytes: dyno.pid == nil ? nil : dyno.memoryBytes,
            address: dyno.address == settings.address ? nil : dyno.address.host)
    }
}
