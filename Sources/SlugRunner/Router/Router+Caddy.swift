import Foundation
import SlipwayRouting
import SlipwayRunnerKit
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

extension Router {
    /// `caddy.pid`: the owned Caddy's pid, so that a runner that was killed does not leave the next one a taken port.
    var pidFile: String { "\(settings.folder)/caddy.pid" }

    /// Starts `caddy run` with a configuration holding only the admin API and the logs, and waits until the admin
    /// API answers. With a `user` (the runner is root: ``RouterUser``), Caddy runs as that user, with no capability
    /// but `net_bind_service` when it listens below port 1024, and no way back to privileges.
    func startCaddy(_ admin: CaddyAdmin, as user: Sandbox.User?) throws {
        let environment = ProcessInfo.processInfo.environment
        guard let caddy = settings.caddyExecutable ?? Self.find("caddy", path: environment["PATH"]),
            access(caddy, X_OK) == 0
        else {
            throw RunnerError(
                .notFound,
                "slugrunner: the router needs Caddy, which is not installed: install Debian's caddy package"
                    + " (apt-get install caddy), or run with --router none")
        }
        stopLeftover()
        let port = try RouterSettings.parseListen(settings.listen).port
        for (listen, flag) in [(settings.listen, "--router")]
            + (settings.tls.map { [($0.listen, "--router-tls")] } ?? [])
        {
            let (host, port) = try RouterSettings.parseListen(listen)
            if let address = ListenAddress(ipv4: host.isEmpty ? "0.0.0.0" : host), !address.isFree(port) {
                throw RunnerError(
                    .system,
                    "slugrunner: the router cannot listen on \(listen): the port is taken. Stop what uses it,"
                        + " or choose another address with \(flag) (or --router none)")
            }
        }
        let bootstrap: [String: Any] = [
            "admin": ["listen": config.adminAddress, "config": ["persist": false]],
            "logging": ["logs": ["default": ["level": "WARN"]]],
        ]
        // Caddy's, so that it may read it (its folder's owner).
        try Files.writeAtomically(
            try JSONSerialization.data(withJSONObject: bootstrap), to: "\(caddyFolder)/caddy-start.json", mode: 0o600,
            keepOwner: true)
        unlink(adminSocket)
        unlink(startOutput)

        // Caddy keeps its certificates and state under XDG_DATA_HOME and XDG_CONFIG_HOME: its own folder, never the
        // runner user's home.
        let view = Self.caddyView
        let tlsPort = try settings.tls.map { try RouterSettings.parseListen($0.listen).port } ?? port
        let arguments = ["run", "--config", "\(view)/caddy-start.json"]
        let command =
            user?.command(caddy, arguments, keeping: min(port, tlsPort) < 1024 ? ["net_bind_service"] : [])
            ?? [caddy] + arguments
        var spawn = Spawn(
            executable: command[0], arguments: Array(command.dropFirst()),
            environment: [
                "PATH": environment["PATH"] ?? "/usr/bin:/bin", "HOME": view, "XDG_DATA_HOME": "\(view)/data",
                "XDG_CONFIG_HOME": "\(view)/config",
            ],
            directory: caddyFolder)
        spawn.stdout = .appending(startOutput)
        spawn.stderr = .appending(startOutput)
        spawn.group = .newSession
        let pid: pid_t
        do { pid = try spawn.start() } catch {
            throw RunnerError(.spawn, "slugrunner: cannot start the router (\(caddy)): \(error)")
        }
        self.pid = pid
        try? Files.writeAtomically(Data("\(pid)\n".utf8), to: pidFile, mode: 0o600)

        let deadline = ContinuousClock.now + .seconds(15)
        while !admin.answers(timeout: .milliseconds(500)) {
            if !isRunning || ContinuousClock.now >= deadline {
                stop(grace: .seconds(2))
                let said = (try? Files.readLine(startOutput))?.split(separator: "\n").last.map(String.init) ?? ""
                throw RunnerError(
                    .spawn, "slugrunner: the router (\(caddy)) did not start: \(said.isEmpty ? "no output" : said)")
            }
            usleep(50_000)
        }
    }

    /// Stops the Caddy a previous runner started and left behind (killed without cleaning up), if `caddy.pid` names
    /// a Caddy process running in this router's Caddy folder (or in the router's folder, where runners before
    /// Caddy's own user ran it).
    private func stopLeftover() {
        guard let text = try? Files.readLine(pidFile), let pid = pid_t(text), pid > 1,
            let commandLine = try? Files.read("/proc/\(pid)/cmdline"),
            String(decoding: commandLine, as: UTF8.self).contains("/caddy-start.json"),
            let folder = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"),
            [caddyFolder, settings.folder].contains(folder)
        else { return }
        ProcessGroup.signal(pid, SIGTERM)
        for _ in 0..<100 where ProcessGroup.exists(pid) { usleep(50_000) }
        ProcessGroup.signal(pid, SIGKILL)
        for _ in 0..<100 where ProcessGroup.exists(pid) { usleep(20_000) }
    }

    /// The first executable `name` on `path`.
    static func find(_ name: String, path: String?) -> String? {
        for folder in (path ?? "/usr/bin:/bin").split(separator: ":") where folder.hasPrefix("/") {
            let candidate = "\(folder)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
