import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

extension Router {
    /// `caddy.pid`: the owned Caddy's pid, so that a runner that was killed does not leave the next one a taken port.
    var pidFile: String { "\(settings.folder)/caddy.pid" }

    /// Starts `caddy run` with a configuration holding only the admin API and the logs, and waits until the admin
    /// API answers.
    func startCaddy(_ admin: CaddyAdmin) throws {
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
        let (host, port) = try RouterSettings.parseListen(settings.listen)
        if let address = ListenAddress(ipv4: host.isEmpty ? "0.0.0.0" : host), !address.isFree(port) {
            throw RunnerError(
                .system,
                "slugrunner: the router cannot listen on \(settings.listen): the port is taken. Stop what uses it,"
                    + " or choose another address with --router (or --router none)")
        }
        for folder in ["data", "config"] { try Files.makeFolders("\(settings.folder)/\(folder)") }
        let bootstrap: [String: Any] = [
            "admin": ["listen": admin.address, "config": ["persist": false]],
            "logging": ["logs": ["default": ["level": "WARN"]]],
        ]
        let bootstrapFile = "\(settings.folder)/caddy-start.json"
        try Files.writeAtomically(try JSONSerialization.data(withJSONObject: bootstrap), to: bootstrapFile, mode: 0o600)
        unlink(adminSocket)
        unlink(startOutput)

        // Caddy keeps its certificates and state under XDG_DATA_HOME and XDG_CONFIG_HOME: the router's folder, never
        // the runner user's home.
        var spawn = Spawn(
            executable: caddy, arguments: ["run", "--config", bootstrapFile],
            environment: [
                "PATH": environment["PATH"] ?? "/usr/bin:/bin", "HOME": settings.folder,
                "XDG_DATA_HOME": "\(settings.folder)/data", "XDG_CONFIG_HOME": "\(settings.folder)/config",
            ],
            directory: settings.folder)
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
    /// a Caddy process running this folder's configuration.
    private func stopLeftover() {
        guard let text = try? Files.readLine(pidFile), let pid = pid_t(text), pid > 1,
            let commandLine = try? Files.read("/proc/\(pid)/cmdline"),
            String(decoding: commandLine, as: UTF8.self).contains("\(settings.folder)/caddy-start.json")
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
