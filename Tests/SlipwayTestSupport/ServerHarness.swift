public import Foundation
public import SlipwaySpool

#if canImport(Glibc)
    import Glibc
#endif

/// A private `receive-pack serve` for one test: a root made by `receive-pack init`, keys added with
/// `receive-pack keys add`, the server on a free loopback port, driven by the real OpenSSH client and git.
/// Stopped (SIGTERM, then SIGKILL if it does not end) when released.
public final class ServerHarness {
    public let scratch: ScratchDirectory
    public let root: String
    public private(set) var server: TestProcess
    public private(set) var port: UInt16 = 0
    public private(set) var keys: [String: SSHClientKey] = [:]

    /// The key of a user the test added; asking for another is a mistake in the test.
    public func key(_ user: String) -> SSHClientKey {
        guard let key = keys[user] else { preconditionFailure("the test never added a key for \(user)") }
        return key
    }
    public let serveArguments: [String]

    /// Starts the server with `arguments` added to `receive-pack serve --root <root> --listen 127.0.0.1:0`.
    public init(_ label: String = "serve", users: [String] = ["alice"], arguments: [String] = []) throws {
        let scratch = try ScratchDirectory(label)
        let root = scratch.url("root")
        let initialized = try runTool([TestPaths.product("receive-pack"), "init", "--root", root])
        guard initialized.status == 0 else { throw HarnessError("receive-pack init failed: \(initialized.output)") }
        self.scratch = scratch
        self.root = root
        serveArguments = arguments
        server = try Self.launch(root: root, arguments: arguments, log: scratch.url("serve.log"))
        for user in users { try addUser(user) }
        port = try waitForPort()
    }

    deinit {
        // SIGTERM first: the server stops the children it started (a webhook deploy that goes on after its 202), which
        // a SIGKILL would leave writing into the scratch folder after it is removed.
        if server.isRunning {
            server.signal(SIGTERM)
            if server.wait(timeout: 15) == nil {
                server.signal(SIGKILL)
                server.wait(timeout: 30)
            }
        }
    }

    private static func launch(root: String, arguments: [String], log: String) throws -> TestProcess {
        var env = ProcessInfo.processInfo.environment
        env["SLIPWAY_BUILDPACKS"] = TestPaths.builtinBuildpacks
        env["SLIPWAY_BUILDPACK_FOLDERS"] = TestPaths.buildpackFolders
        env["SLIPWAY_HOOKS"] = "\(TestPaths.repositoryRoot)/hooks"
        return try TestProcess(
            [TestPaths.product("receive-pack"), "serve", "--root", root, "--listen", "127.0.0.1:0"] + arguments,
            environment: env, stdout: .capture, stderr: .file(log))
    }

    /// Reads the port from the server's first line (`… listening on 127.0.0.1:<port>`).
    private func waitForPort(timeout: TimeInterval = 30) throws -> UInt16 {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = server.stdoutText.split(separator: "\n").first(where: { $0.contains(" listening on") }),
                let port = line.split(separator: ":").last.flatMap({ UInt16($0) })
            {
                return port
            }
            guard server.isRunning else { break }
            usleep(20_000)
        }
        throw HarnessError("receive-pack serve did not start: \(server.stdoutText)\n\(log)")
    }

    /// Stops the server with `signal` and returns its exit status (nil if it did not exit within `timeout`).
    public func stop(_ signal: Int32 = SIGTERM, timeout: TimeInterval = 60) -> Int32? {
        server.signal(signal)
        return server.wait(timeout: timeout)
    }

    /// Starts the server again on the same root (after ``stop(_:timeout:)``).
    public func restart() throws {
        server = try Self.launch(root: root, arguments: serveArguments, log: scratch.url("serve.log"))
        port = try waitForPort()
    }

    /// The server's log (its stderr).
    public var log: String { (try? String(contentsOfFile: scratch.url("serve.log"), encoding: .utf8)) ?? "" }

    /// The server's stdout (its start-up and shutdown lines).
    public var output: String { server.stdoutText }

    /// Generates a key of `type` for `user` and authorizes it with `receive-pack keys add`; returns what it printed.
    @discardableResult
    public func addUser(_ user: String, type: String = "ed25519") throws -> ToolResult {
        let key = try SSHClientKey(in: try scratch.makeDirectory("keys"), name: user, type: type)
        let added = try runTool(
            [TestPaths.product("receive-pack"), "keys", "add", "--root", root, user, "-"], stdin: key.publicKey)
        guard added.status == 0 else { throw HarnessError("keys add failed: \(added.output)") }
        keys[user] = key
        return added
    }

    /// A key nobody authorized.
    public func strangerKey(type: String = "ed25519") throws -> SSHClientKey {
        try SSHClientKey(in: try scratch.makeDirectory("keys"), name: "stranger-\(type)", type: type)
    }

    public func remote(_ app: String) -> String { "git@127.0.0.1:\(app)" }

    public func gitEnvironment(as user: String) -> [String: String] {
        ["GIT_SSH_COMMAND": sshCommandLine(key: key(user), port: port)]
    }

    /// The whole environment for a git client process run as `user`.
    public func clientEnvironment(as user: String) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env.merge(gitEnvironment(as: user)) { _, new in new }
        env["GIT_CONFIG_NOSYSTEM"] = "1"
        env["GIT_CONFIG_GLOBAL"] = "/dev/null"
        return env
    }

    /// `ssh … git@127.0.0.1 <command>` with `key`; output merged.
    public func ssh(_ command: String?, key: SSHClientKey, options: [String] = [], timeout: TimeInterval = 60) throws
        -> ToolResult
    {
        try runTool(
            sshArguments(key: key, port: port) + options + ["git@127.0.0.1"] + (command.map { [$0] } ?? []),
            mergeOutput: true, timeout: timeout)
    }

    /// Makes a local app repository with `files`, committed on `main`.
    public func makeApp(_ name: String, files: [String: String]) throws -> String {
        try makeCommittedRepository(in: scratch, name, files: files)
    }

    /// Commits a change to `file` in `repo`.
    public func commit(_ repo: String, _ file: String, _ contents: String) throws {
        try commitFile(repo, file, contents)
    }

    /// `git push` of `main` to `app` as `user`; output merged.
    public func push(_ repo: String, app: String, as user: String = "alice") throws -> ToolResult {
        try git(["push", remote(app), "main"], in: repo, environment: gitEnvironment(as: user), mergeOutput: true)
    }

    /// A `git push` running in the background, whose output the test reads as it arrives.
    public func startPush(_ repo: String, app: String, as user: String = "alice") throws -> StreamingProcess {
        try StreamingProcess(
            [try tool("git"), "push", remote(app), "main"], environment: clientEnvironment(as: user), directory: repo)
    }

    /// A spy buildpack, chosen by apps through a `.buildpacks` file.
    public func buildpack(_ name: String = "spy", compile: String = "echo '-----> spy compiling'") throws -> String {
        try SpyBuildpack(in: scratch, name: name, compile: compile).path
    }

    /// Lets a waiting spy buildpack of `app` go on: it polls for `gate` in its CACHE_DIR, the one folder of the
    /// server a sandboxed buildpack shares.
    public func openGate(_ app: String) throws {
        try Data().write(to: URL(fileURLWithPath: "\(root)/apps/\(app)/cache/gate"))
    }

    /// The entries in the spool's new/, with their manifests.
    public func spoolEntries() throws -> [(name: String, manifest: ReleaseManifest)] {
        try Spool(directory: "\(root)/spool").pending().map { name in
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/spool/new/\(name)/release.json"))
            return (name, try openRelease(data, root: root))
        }
    }

    /// What the spool's tmp/ holds (half-built entries).
    public func spoolTemporaries() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/spool/tmp")) ?? []
    }

    /// The commit of `refs/heads/main` in the app's repository, nil if none.
    public func serverRef(_ app: String) throws -> String? {
        let result = try git(["rev-parse", "--verify", "-q", "refs/heads/main"], in: "\(root)/apps/\(app)/repo.git")
        return result.status == 0 ? result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// The number of open file descriptors of the server process.
    public var openDescriptors: Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.pid)/fd")) ?? []).count
    }

    /// The server's resident memory in KiB (VmRSS).
    public var residentKiB: Int { memoryStatus("VmRSS") }

    /// The server's peak resident memory in KiB (VmHWM).
    public var peakResidentKiB: Int { memoryStatus("VmHWM") }

    /// A field of the server's /proc/<pid>/status, in KiB.
    private func memoryStatus(_ field: String) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(server.pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("\(field):") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
}

/// A harness could not set up what its test needs; the description says what and shows the output.
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
