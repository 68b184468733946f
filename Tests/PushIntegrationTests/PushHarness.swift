import Foundation
import SlipwaySpool
import SlipwayTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A private Slipway server for one test: a root made by `receive-pack init`, keys added with `receive-pack keys add`,
/// and a real OpenSSH sshd on a free loopback port using that authorized_keys file. Stopped when released.
final class PushHarness {
    let scratch: ScratchDirectory
    let root: String
    let sshd: PrivateSSHD
    private(set) var keys: [String: SSHClientKey] = [:]

    /// The key of a user the test added; asking for another is a mistake in the test.
    func key(_ user: String) -> SSHClientKey {
        guard let key = keys[user] else { preconditionFailure("the test never added a key for \(user)") }
        return key
    }

    /// Whether the root is a small tmpfs this harness mounted (and unmounts when released).
    private var mounted = false

    /// `sessionEnvironment` goes into the root's settings file (`slipway.env`), which every door reads. With `rootSizeMB`, the
    /// root is a tmpfs of that size (root only), for disk-full tests.
    init(
        _ label: String = "push", users: [String] = ["alice"], sessionEnvironment: [String: String] = [:],
        rootSizeMB: Int? = nil, sshdExtraConfig: String = ""
    ) throws {
        let scratch = try ScratchDirectory(label)
        let root = scratch.url("root")
        if let rootSizeMB {
            try scratch.makeDirectory("root")
            let mount = try runTool(["/usr/bin/mount", "-t", "tmpfs", "-o", "size=\(rootSizeMB)m", "tmpfs", root])
            guard mount.status == 0 else { throw HarnessError("cannot mount a tmpfs: \(mount.output)") }
            mounted = true
        }
        let initialized = try runTool([TestPaths.product("receive-pack"), "init", "--root", root])
        guard initialized.status == 0 else { throw HarnessError("receive-pack init failed: \(initialized.output)") }
        self.scratch = scratch
        self.root = root
        let settings = ["SLIPWAY_BUILDPACK_FOLDERS": TestPaths.buildpackFolders].merging(sessionEnvironment) { $1 }
        try scratch.write(
            "root/slipway.env", settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined())
        sshd = try PrivateSSHD(
            directory: try scratch.makeDirectory("sshd"), authorizedKeysFile: "\(root)/authorized_keys",
            extraConfig: sshdExtraConfig)
        for user in users { try addUser(user) }
    }

    deinit {
        sshd.stop()
        if mounted { _ = try? runTool(["/usr/bin/umount", "-l", root]) }
    }

    /// Generates a key for `user` and authorizes it with `receive-pack keys add`.
    func addUser(_ user: String) throws {
        let key = try SSHClientKey(in: try scratch.makeDirectory("keys"), name: user)
        let added = try runTool(
            [TestPaths.product("receive-pack"), "keys", "add", "--root", root, user, "-"], stdin: key.publicKey)
        guard added.status == 0 else { throw HarnessError("keys add failed: \(added.output)") }
        keys[user] = key
    }

    /// The git remote for `app` (scp-like syntax; the port comes from GIT_SSH_COMMAND).
    func remote(_ app: String) -> String { "root@127.0.0.1:\(app)" }

    /// The environment for git commands run as `user`.
    func gitEnvironment(as user: String) -> [String: String] {
        ["GIT_SSH_COMMAND": sshCommandLine(key: key(user), port: sshd.port)]
    }

    /// Makes a local app repository with `files`, committed on `main`.
    func makeApp(_ name: String = "src", files: [String: String]) throws -> String {
        try makeCommittedRepository(in: scratch, name, files: files)
    }

    /// Commits a change to `file` in `repo`.
    func commit(_ repo: String, _ file: String, _ contents: String) throws {
        try commitFile(repo, file, contents)
    }

    /// `git push` as `user`; output merged.
    func push(_ repo: String, app: String = "myapp", as user: String = "alice", _ refspecs: [String] = ["main"]) throws
        -> ToolResult
    {
        try git(["push", remote(app)] + refspecs, in: repo, environment: gitEnvironment(as: user), mergeOutput: true)
    }

    /// Runs `ssh … <command>` as `user`; `merge: false` keeps stdout (the result) apart from stderr (progress, errors).
    func ssh(_ command: String?, as user: String = "alice", merge: Bool = true) throws -> ToolResult {
        try runTool(
            sshArguments(key: key(user), port: sshd.port) + ["root@127.0.0.1"] + (command.map { [$0] } ?? []),
            mergeOutput: merge, timeout: 60)
    }

    /// Starts `ssh … <command>` as `user` without waiting for it.
    func startSSH(_ command: String, as user: String = "alice") throws -> StreamingProcess {
        try StreamingProcess(sshArguments(key: key(user), port: sshd.port) + ["root@127.0.0.1", command])
    }

    /// Starts `git push` of `refspecs` as `user` without waiting for it.
    func startPush(_ repo: String, app: String = "myapp", as user: String = "alice", _ refspecs: [String] = ["main"])
        throws -> StreamingProcess
    {
        var env = ProcessInfo.processInfo.environment
        env.merge(gitEnvironment(as: user)) { _, new in new }
        return try StreamingProcess(
            [try tool("git"), "push", remote(app)] + refspecs, environment: env, directory: repo)
    }

    /// Runs `receive-pack <arguments> --root <root>` on the server, as the operator.
    func receivePack(_ arguments: [String]) throws -> ToolResult {
        try runTool([TestPaths.product("receive-pack")] + arguments + ["--root", root])
    }

    /// The app's config vars as stored on the server.
    func storedConfig(_ app: String = "myapp") throws -> [String: String] {
        let path = "\(root)/apps/\(app)/config.json"
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        return try JSONDecoder().decode([String: String].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Pushes a first version of an app built by a spy buildpack; returns the local repository.
    func deployedApp(_ files: [String: String] = [:], compile: String = "echo '-----> spy compiling'") throws -> String
    {
        let bp = try buildpack(compile: compile)
        let repo = try makeApp(files: ["Procfile": "web: ./bin/web\n", ".buildpacks": "\(bp)\n"].merging(files) { $1 })
        let pushed = try push(repo)
        guard pushed.status == 0 else { throw HarnessError("the first push failed: \(pushed.output)") }
        return repo
    }

    /// The spool's entries in new/, sorted, with their manifests.
    func spoolEntries() throws -> [(name: String, manifest: ReleaseManifest)] {
        let spool = Spool(directory: "\(root)/spool")
        return try spool.pending().map { name in
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/spool/new/\(name)/release.json"))
            return (name, try openRelease(data, root: root))
        }
    }

    /// What the spool's tmp/ holds (entries being written, or left by a killed publisher).
    func spoolTemporaries() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/spool/tmp")) ?? []
    }

    /// The commit the server's repository has for `refs/heads/<branch>` of `app`, nil if none.
    func serverRef(_ app: String = "myapp", _ branch: String = "main") throws -> String? {
        let repository = "\(root)/apps/\(app)/repo.git"
        guard FileManager.default.fileExists(atPath: repository) else { return nil }
        let result = try git(["rev-parse", "--verify", "-q", "refs/heads/\(branch)"], in: repository)
        return result.status == 0 ? result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    /// A spy buildpack in the scratch folder, chosen by apps through a `.buildpacks` file.
    func buildpack(_ name: String = "spy", compile: String = "echo '-----> spy compiling'") throws -> String {
        try SpyBuildpack(in: scratch, name: name, compile: compile).path
    }
}

/// Another git server's repository (a plain `git init --bare` named `shop.git`) with Slipway's hooks and
/// `slipway.root` set, and a committed app to push to it over `file://`.
struct PlainRepository {
    let root: String
    let bare: String
    let work: String

    /// Installs the hooks named in `hooks`; the app is built by a spy buildpack running `compile`.
    init(_ scratch: ScratchDirectory, compile: String = "true", hooks: [String] = ["pre-receive", "post-receive"])
        throws
    {
        root = scratch.url("root")
        let initialized = try runTool([TestPaths.product("receive-pack"), "init", "--root", root])
        guard initialized.status == 0 else { throw HarnessError("receive-pack init failed: \(initialized.output)") }
        bare = scratch.url("shop.git")
        try git(["init", "-q", "--bare", bare], in: scratch.path)
        for hook in hooks {
            try FileManager.default.copyItem(
                atPath: "\(TestPaths.repositoryRoot)/hooks/\(hook)", toPath: "\(bare)/hooks/\(hook)")
        }
        try git(["config", "slipway.root", root], in: bare)
        try git(["config", "slipway.bin", TestPaths.product("receive-pack")], in: bare)
        let bp = try SpyBuildpack(in: scratch, name: "spy", compile: compile).path
        work = try scratch.makeDirectory("work")
        try scratch.write("work/Procfile", "web: x\n")
        try scratch.write("work/.buildpacks", "\(bp)\n")
        try git(["init", "-q", "-b", "main"], in: work)
        try git(["add", "-A"], in: work)
        try git(["commit", "-q", "-m", "plain"], in: work)
    }

    /// `git push file://<bare> main`; output merged.
    func push() throws -> ToolResult {
        try git(["push", "file://\(bare)", "main"], in: work, mergeOutput: true)
    }
}

/// Holds a git inside its ref update, to kill it there: a `reference-transaction` hook in the server's repository
/// that, when armed, stops git once it has locked the refs on disk (state `prepared`: `refs/heads/main.lock` exists)
/// and waits until git is gone. Armed for one push at a time; unarmed, it lets git through at once.
struct RefUpdateTrap {
    let armedFile: String
    let insideFile: String

    /// Installs the hook into `repository` (the app's `repo.git`), its marker files in `scratch`.
    init(repository: String, scratch: ScratchDirectory) throws {
        let folder = try scratch.makeDirectory("trap")
        armedFile = "\(folder)/armed"
        insideFile = "\(folder)/inside"
        let hook = """
            #!/bin/sh
            [ "$1" = prepared ] && [ -e '\(armedFile)' ] || exit 0
            rm -f '\(armedFile)'
            : > '\(insideFile)'
            while kill -0 "$PPID" 2>/dev/null; do sleep 0.05; done
            exit 1

            """
        let path = "\(repository)/hooks/reference-transaction"
        try hook.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
    }

    /// The next ref update stops inside its transaction.
    func arm() {
        unlink(insideFile)
        _ = FileManager.default.createFile(atPath: armedFile, contents: nil)
    }

    /// No further ref update stops.
    func disarm() { unlink(armedFile) }

    /// Whether a git is (or was) held inside its ref update since ``arm()``.
    var isSprung: Bool { FileManager.default.fileExists(atPath: insideFile) }
}
