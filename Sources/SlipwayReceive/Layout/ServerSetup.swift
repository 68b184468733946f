public import Foundation
public import SlipwayDoorRecords
public import SlipwaySpool

/// The operator's commands that are not part of a push: creating the layout, reading build logs.
public enum ServerSetup {
    /// The absolute path of the running `receive-pack`, as written into authorized_keys and repositories.
    public static var currentExecutable: String { SlipwayReceive.currentExecutable() }

    /// The server's own settings that travel from the door (`receive-pack shell`, the built-in server) through git
    /// to the hooks and the build; nothing else of any environment does.
    public static let passedVariables =
        [
            "SLIPWAY_HOOKS", "SLIPWAY_BUILDPACKS", "SLIPWAY_LOCK_WAIT", "SLIPWAY_MAX_BUILDS", "SLIPWAY_SANDBOX",
            "SLIPWAY_BUILD_USER", "SLIPWAY_OUTPUT_LIMIT_MB", "SLIPWAY_MIN_FREE_MB",
            "SLIPWAY_MAX_TREE_FILES", "SLIPWAY_MAX_TREE_PATH", "SLIPWAY_MAX_TREE_DEPTH", "SLIPWAY_MAX_TREE_MB",
            "SLIPWAY_MAX_PUSH_MB", "SLIPWAY_MAX_SLUG_UNPACKED_MB", "SLIPWAY_BUILDPACK_FOLDERS",
            // Where the built-in buildpacks take language runtimes from (docs/languages.md).
            "SLIPWAY_RUNTIME_STORE", "SLIPWAY_RUNTIME_CACHE", "SLIPWAY_RUNTIME_UPSTREAM_GO",
            "SLIPWAY_RUNTIME_UPSTREAM_JAVA",
            "SLIPWAY_RUNTIME_UPSTREAM_PYTHON", "SLIPWAY_RUNTIME_UPSTREAM_NODE",
            "TMPDIR",
            // A spool in a bucket: the hooks publish with these when no <root>/s3-credentials file is there.
            "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
        ] + Failpoint.passedVariables

    /// The values of ``passedVariables`` in `environment`.
    public static func passedEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment)
        -> [String: String]
    {
        environment.filter { passedVariables.contains($0.key) }
    }

    /// Creates the root's layout (idempotent): apps/, spool/{tmp,new,cur}/, tmp/ and an empty authorized_keys.
    public static func initialize(_ root: SlipwayRoot) throws {
        let fm = FileManager.default
        for folder in [root.path, root.appsDirectory, root.tmpDirectory] {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        try Spool(directory: root.spoolDirectory).prepare()
        if !fm.fileExists(atPath: root.authorizedKeys) {
            guard fm.createFile(atPath: root.authorizedKeys, contents: Data(), attributes: [.posixPermissions: 0o600])
            else {
                throw DoorError(.storage, lines: "Cannot create \(root.authorizedKeys).")
            }
        }
        _ = try releaseKey(root)
        _ = try Hooks.locate()
    }

    /// The root's release key (``DoorReleaseKey``), made at the first call: it signs every manifest the door
    /// publishes and seals config vars to the runners. Its error names the file: for the operator's commands.
    public static func releaseKey(_ root: SlipwayRoot) throws -> DoorReleaseKey {
        do {
            return try DoorReleaseKey.loadOrCreate(root.layout)
        } catch {
            throw DoorError(.configuration, lines: "Cannot use the release key: \(error).")
        }
    }

    /// What `receive-pack release-key` prints: the file a runner on another machine is given (`--release-key`).
    public static func runnerKeyFile(_ root: SlipwayRoot) throws -> Data {
        try releaseKey(root).runnerKey.encoded()
    }

    /// What the operator does next, after `init`.
    public static func nextSteps(_ root: SlipwayRoot, receivePack: String) -> String {
        """
        Slipway is set up in \(root.path).

        Next steps:
          1. Authorize a developer's key:
               \(receivePack) keys add --root \(root.path) alice ~alice/.ssh/id_ed25519.pub
          2. Let OpenSSH use Slipway's keys for the git user, in /etc/ssh/sshd_config:
               Match User git
                 AuthorizedKeysFile \(root.authorizedKeys)
             (or run the built-in server: receive-pack serve --root \(root.path))
          3. On the developer's machine:
               git remote add slipway git@<this-host>:myapp
               git push slipway main
          Releases are handed to the runner in \(root.spoolDirectory)/new (see docs/spool.md), signed with
          \(root.layout.releaseKey); a runner on another machine needs what this prints (keep it 0600):
               \(receivePack) release-key --root \(root.path) > release-key.json
               slugrunner watch --release-key release-key.json …
        """
    }

    /// The log of build `id` of `app` (the latest when nil).
    public static func buildLog(_ root: SlipwayRoot, app name: String, id: String?) throws -> Data {
        try AppName.validate(name)
        let app = root.app(name)
        guard let id = id ?? BuildLog.ids(app).last else {
            throw DoorError(.notFound, lines: "\(name) has no builds yet.")
        }
        guard BuildLog.ids(app).contains(id), let data = FileManager.default.contents(atPath: "\(app.builds)/\(id).log")
        else {
            throw DoorError(
                .notFound, lines: "No build \(id) of \(name): only the last \(BuildLog.keep) builds are kept.")
        }
        return data
    }
}
