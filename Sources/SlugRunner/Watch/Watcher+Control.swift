import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// One-off dynos asked for at the door (`run myapp -- bash`) through the control socket: each starts on the SSH
/// session's descriptors (or into the app's log, `--detach`), and an attached one stops when its session ends.
extension Watcher {
    /// Starts a one-off dyno for every request waiting on the control socket, and stops the attached ones whose
    /// door has gone.
    func serveControl() {
        guard let control else { return }
        for run in control.accept() { startOneOff(run, control: control) }
        for (pid, run) in attachedRuns where run.isClosed {
            attachedRuns[pid] = nil
            stopOneOff(pid, app: run.request.app)
        }
    }

    private func startOneOff(_ run: PendingRun, control: ControlSocket) {
        let request = run.request
        guard AppName.isValid(request.app), let app = apps[request.app], app.current != nil else {
            control.failed(run, "\(request.app) has no release running on this runner: push it first")
            return
        }
        let name = nextOneOffName(app.name)
        let output: OneOffOutput =
            request.detach
            ? .log : .descriptors(stdin: run.stdin, stdout: run.stdout, stderr: run.stderr)
        do {
            var terminal: [String: String] = [:]
            if let columns = request.columns { terminal["COLUMNS"] = String(columns) }
            if let lines = request.lines { terminal["LINES"] = String(lines) }
            let pid = try launchOneOff(
                app: app.name, name: name, command: request.command, output: output, environment: terminal
            ) {
                [weak self] status in
                guard let self else { return }
                self.attachedRuns = self.attachedRuns.filter { $0.value !== run }
                if !request.detach { self.control?.finished(run, status: status) }
            }
            // The session ends when the dyno (which has its own copies) is done, not when the runner lets go.
            run.closeSessionDescriptors()
            control.started(run, dyno: name)
            if !request.detach { attachedRuns[pid] = run }
        } catch {
            run.closeSessionDescriptors()
            control.failed(run, "\(error)")
        }
    }
}
