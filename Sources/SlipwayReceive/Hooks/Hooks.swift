public import Foundation
public import SlipwayDoorRecords
import SlipwayGit
import SlipwaySpool
import SlipwaySystem

/// Installs Slipway's git hooks into a bare repository and configures it for pushes.
public enum Hooks {
    /// The hook scripts Slipway installs (from the repository's `hooks/` folder).
    public static let names = ["pre-receive", "post-receive"]

    /// The folder holding the hook scripts: `$SLIPWAY_HOOKS`, else `hooks/` or `share/slipway/hooks/` above the
    /// running executable.
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let explicit = environment["SLIPWAY_HOOKS"], !explicit.isEmpty { return explicit }
        var folder = (currentExecutable() as NSString).deletingLastPathComponent
        for _ in 0..<6 {
            for candidate in ["hooks", "share/slipway/hooks"] {
                let path = (folder as NSString).appendingPathComponent(candidate)
                if FileManager.default.isExecutableFile(atPath: "\(path)/pre-receive") { return path }
            }
            folder = (folder as NSString).deletingLastPathComponent
        }
        throw DoorError(
            .configuration, lines: "Slipway's hook scripts were not found next to receive-pack.",
            "Set SLIPWAY_HOOKS to the repository's hooks/ folder.")
    }

    /// Creates the app's bare repository if it does not exist (atomically: built aside, then renamed into place),
    /// and (re)installs the hooks and settings. Safe to call on every push, and quick when nothing changed: the
    /// settings last written are recorded in `<repo>/slipway-settings`, so a push whose hooks and settings are
    /// already in place reads three small files and does not start libgit2.
    public static func prepareRepository(
        app: AppPaths, root: SlipwayRoot, hooksDirectory: String, deployBranch: String? = nil
    ) throws {
        let fm = FileManager.default
        if !fm.fileExists(atPath: app.repository) {
            let temp = "\(app.directory)/.repo-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).git"
            do {
                let repository = try Repository.initBare(at: temp)
                // Clones check out what HEAD names: the deploy branch, not libgit2's default of master.
                try repository.setHead("refs/heads/\(deployBranch ?? "main")")
                try configure(repository, app: app, root: root, hooksDirectory: hooksDirectory)
            } catch {
                try? fm.removeItem(atPath: temp)
                throw DoorError(.pushFailed, lines: "Cannot create the repository of \(app.name): \(error)")
            }
            if rename(temp, app.repository) != 0 {
                try? fm.removeItem(atPath: temp)  // another push created it first
            }
        }
        let stamp = "\(app.repository)/slipway-settings"
        let expected = Data(settingsRecord(app: app, root: root).utf8)
        if FileManager.default.contents(atPath: stamp) == expected,
            try hooksInstalled(in: app.repository, from: hooksDirectory)
        {
            return
        }
        let repository = try Repository.open(at: app.repository)
        try configure(repository, app: app, root: root, hooksDirectory: hooksDirectory)
        try StateFiles.writeAtomically(expected, to: stamp)
    }

    /// The settings ``configure(_:app:root:hooksDirectory:)`` writes, one `key=value` line each.
    static func settingsRecord(app: AppPaths, root: SlipwayRoot) -> String {
        "receive.fsckObjects=true\nslipway.root=\(root.path)\nslipway.app=\(app.name)\nslipway.bin=\(currentExecutable())\n"
    }

    /// Sets the repository's Slipway settings and installs the hooks. Only what differs is written, so the usual
    /// push, where everything is already in place, writes (and fsyncs) nothing.
    static func configure(_ repository: Repository, app: AppPaths, root: SlipwayRoot, hooksDirectory: String) throws {
        // fsck on receive refuses trees with '..', '.git' and other malformed entries before any hook runs.
        if try repository.configString("receive.fsckObjects") != "true" {
            try repository.setConfig("receive.fsckObjects", true)
        }
        for (key, value) in [
            ("slipway.root", root.path), ("slipway.app", app.name), ("slipway.bin", currentExecutable()),
        ] {
            if try repository.configString(key) != value { try repository.setConfig(key, value) }
        }
        try install(into: repository.path, from: hooksDirectory)
    }

    /// Copies the hook scripts into `<gitDir>/hooks/`, each replaced atomically unless it is already in place.
    public static func install(into gitDirectory: String, from hooksDirectory: String) throws {
        let target = "\(gitDirectory)/hooks"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        for name in names {
            let data = try script(name, in: hooksDirectory)
            let path = "\(target)/\(name)"
            if isInstalled(data, at: path) { continue }
            try StateFiles.writeAtomically(data, to: path, mode: 0o755)
            chmod(path, 0o755)
        }
    }

    /// Whether every hook script is in `<gitDir>/hooks/`, identical and executable.
    static func hooksInstalled(in gitDirectory: String, from hooksDirectory: String) throws -> Bool {
        try names.allSatisfy { isInstalled(try script($0, in: hooksDirectory), at: "\(gitDirectory)/hooks/\($0)") }
    }

    private static func script(_ name: String, in hooksDirectory: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: "\(hooksDirectory)/\(name)") else {
            throw DoorError(.configuration, lines: "The hook script \(hooksDirectory)/\(name) is missing.")
        }
        return data
    }

    private static func isInstalled(_ data: Data, at path: String) -> Bool {
        var info = stat()
        return FileManager.default.contents(atPath: path) == data && stat(path, &info) == 0
            && info.st_mode & 0o777 == 0o755
    }
}

/// The absolute path of the running executable.
func currentExecutable() -> String { ProcessInfo.currentExecutable }
