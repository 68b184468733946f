import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A private OpenSSH server for one test: Debian's `/usr/sbin/sshd` in the foreground on a free loopback port, with
/// its own host key, config, pid file and log in `directory`. Stopped by ``stop()`` or when released.
///
/// Tests run as root, so clients log in as `root@127.0.0.1`; the forced command of the key in `authorizedKeysFile`
/// decides what runs.
public final class PrivateSSHD: @unchecked Sendable {
    /// The port sshd listens on, on 127.0.0.1.
    public let port: UInt16
    /// sshd's own log (its stderr, `LogLevel VERBOSE`): read it when a test fails.
    public let logPath: String
    /// The config file written for it.
    public let configPath: String
    /// The process id of the listening sshd.
    public var pid: Int32 { process.pid }

    private let process: TestProcess
    private let lock = NSLock()
    private var stopped = false

    public static let executable = "/usr/sbin/sshd"

    /// Starts sshd; returns once it accepts TCP connections (or throws, with its log, after 10 seconds).
    /// `environment` is set for every session (`SetEnv`), as an operator's sshd_config could; `extraConfig` is
    /// appended to the config (an operator's own settings, mistakes included).
    public init(
        directory: String, authorizedKeysFile: String, environment: [String: String] = [:], extraConfig: String = ""
    ) throws {
        precondition(authorizedKeysFile.hasPrefix("/"), "AuthorizedKeysFile must be absolute")
        // sshd refuses to start without its privilege separation folder, which is on tmpfs and absent in containers.
        try FileManager.default.createDirectory(
            atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let hostKey = "\(directory)/ssh_host_ed25519_key"
        if !FileManager.default.fileExists(atPath: hostKey) {
            try Self.keygen(["-t", "ed25519", "-C", "slipway-test-host", "-f", hostKey])
        }
        let logPath = "\(directory)/sshd.log"
        let configPath = "\(directory)/sshd_config"
        self.logPath = logPath
        self.configPath = configPath

        // The free port can be taken by someone else before sshd binds it: then try another.
        var attempt = 0
        while true {
            attempt += 1
            let port = try freeLoopbackPort()
            var config = Self.config(
                port: port, hostKey: hostKey, authorizedKeysFile: authorizedKeysFile, pidFile: "\(directory)/sshd.pid")
            config += extraConfig
            if !environment.isEmpty {
                config +=
                    "SetEnv "
                    + environment.sorted { $0.key < $1.key }.map { "\"\($0.key)=\($0.value)\"" }
                    .joined(separator: " ") + "\n"
            }
            try Data(config.utf8).write(to: URL(fileURLWithPath: configPath))
            if attempt == 1 {
                let check = try runTool([Self.executable, "-t", "-f", configPath], timeout: 30)
                guard check.status == 0 else { throw SSHDError("sshd -t rejected \(configPath): \(check.output)") }
            }
            let process = try Self.launch(config: configPath, log: logPath)
            switch Self.waitUntilListening(process, port: port, timeout: 10) {
            case .listening:
                self.port = port
                self.process = process
                return
            case .exited where attempt < 5 && Self.log(logPath).contains("Address already in use"):
                continue
            case .exited, .timedOut:
                Self.terminate(process)
                throw SSHDError("sshd did not start on 127.0.0.1:\(port); its log (\(logPath)):\n\(Self.log(logPath))")
            }
        }
    }

    /// Stops sshd and every connection it still serves: SIGTERM, then SIGKILL after 5 seconds. Idempotent.
    public func stop() {
        let first = lock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        // Each connection is a child sshd in a session of its own: find them before the listener goes, since they
        // are re-parented once it has exited, and the listener's SIGTERM does not end them.
        let connections = Self.descendants(of: process.pid).filter { Self.command(of: $0) == "sshd" }
        Self.terminate(process)
        for pid in connections where processIsAlive(pid) { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(5)
        while connections.contains(where: processIsAlive) && Date() < deadline { usleep(20_000) }
        for pid in connections where processIsAlive(pid) { kill(pid, SIGKILL) }
    }

    deinit { stop() }

    // MARK: - Starting

    static func config(port: UInt16, hostKey: String, authorizedKeysFile: String, pidFile: String) -> String {
        // Paths are double-quoted: sshd splits unquoted values at spaces (AuthorizedKeysFile takes a list).
        // No AcceptEnv line: without one sshd accepts no variable from the client, which is what the door wants
        // (there is no "none" keyword; `AcceptEnv none` would accept a variable named "none").
        """
        ListenAddress 127.0.0.1:\(port)
        HostKey "\(hostKey)"
        PidFile "\(pidFile)"
        AuthorizedKeysFile "\(authorizedKeysFile)"
        AuthenticationMethods publickey
        PubkeyAuthentication yes
        PasswordAuthentication no
        KbdInteractiveAuthentication no
        UsePAM no
        PermitRootLogin prohibit-password
        StrictModes no
        PermitUserEnvironment no
        AllowTcpForwarding no
        X11Forwarding no
        PrintMotd no
        PrintLastLog no
        UseDNS no
        MaxStartups 100
        LogLevel VERBOSE

        """
    }

    private static func launch(config: String, log: String) throws -> TestProcess {
        guard FileManager.default.createFile(atPath: log, contents: nil) else {
            throw SSHDError("cannot create \(log)")
        }
        // An absolute path: sshd re-executes itself for every connection and refuses to start otherwise.
        return try TestProcess([executable, "-D", "-e", "-f", config], stdout: .file(log), stderr: .file(log))
    }

    private enum Startup { case listening, exited, timedOut }

    private static func waitUntilListening(_ process: TestProcess, port: UInt16, timeout: TimeInterval) -> Startup {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if loopbackPortAcceptsConnections(port) && process.isRunning { return .listening }
            if !process.isRunning { return .exited }
            usleep(20_000)
        }
        return .timedOut
    }

    /// SIGTERM, then SIGKILL after 5 seconds; returns once the process is reaped.
    private static func terminate(_ process: TestProcess) {
        process.terminate(grace: 5)
    }

    private static func log(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(no log)"
    }

    fileprivate static func keygen(_ arguments: [String]) throws {
        let result = try runTool(
            [which("ssh-keygen") ?? "/usr/bin/ssh-keygen", "-q", "-N", ""] + arguments, timeout: 60)
        guard result.status == 0 else {
            throw SSHDError("ssh-keygen \(arguments.joined(separator: " ")) failed: \(result.output)")
        }
    }

    // MARK: - Processes

    /// Every process below `pid`, from /proc.
    private static func descendants(of pid: Int32) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = Int32(entry), let parent = parent(of: child) else { continue }
            children[parent, default: []].append(child)
        }
        var result: [Int32] = []
        var queue = [pid]
        while let next = queue.popLast() {
            for child in children[next] ?? [] {
                result.append(child)
                queue.append(child)
            }
        }
        return result
    }

    /// Field 4 of /proc/<pid>/stat (after the parenthesized command, which may contain spaces).
    private static func parent(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    private static func command(of pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }
}

/// A failure to set up the private sshd or a key.
public struct SSHDError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A client key pair for tests, made by `ssh-keygen -t <type> -N ""` in `directory`.
public struct SSHClientKey: Sendable {
    /// The private key file (`<directory>/<name>`).
    public let privateKeyPath: String
    /// The public key line (the `.pub` file, without its newline).
    public let publicKey: String

    /// Makes a new key pair `name` of `type` (`ed25519`, `ecdsa`, `rsa`, …), replacing any of that name.
    public init(in directory: String, name: String, type: String = "ed25519") throws {
        privateKeyPath = "\(directory)/\(name)"
        // ssh-keygen asks before overwriting, and there is no one to answer.
        unlink(privateKeyPath)
        unlink("\(privateKeyPath).pub")
        try PrivateSSHD.keygen(["-t", type, "-C", "\(name)@slipway-test", "-f", privateKeyPath])
        publicKey = try String(contentsOfFile: "\(privateKeyPath).pub", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// `ssh` and its options to reach the private sshd with `key`: no configuration file (`-F none`, so neither the
/// machine's nor root's settings, such as GSSAPI or SendEnv, apply), no host key checks, only this key, never a
/// prompt, errors only. Starts with ssh's absolute path; add `root@127.0.0.1` and the command.
public func sshArguments(key: SSHClientKey, port: UInt16) -> [String] {
    [
        which("ssh") ?? "/usr/bin/ssh", "-F", "none", "-i", key.privateKeyPath, "-p", "\(port)",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
        "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
    ]
}

/// ``sshArguments(key:port:)`` as one shell command line, for `GIT_SSH_COMMAND` (which git runs through the shell).
public func sshCommandLine(key: SSHClientKey, port: UInt16) -> String {
    sshArguments(key: key, port: port).map(shellQuoted).joined(separator: " ")
}

/// `word` quoted for the shell, unless it is plain.
func shellQuoted(_ word: String) -> String {
    let plain =
        !word.isEmpty
        && word.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "/._-+=:@,".unicodeScalars.contains($0))
        }
    return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
