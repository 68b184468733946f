import Foundation
import SlipwayGit

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
        throw PushError(
            "Slipway's hook scripts were not found next to receive-pack.", "Set SLIPWAY_HOOKS to the repository's hooks/ folder.")
    }

    /// Creates the app's bare repository if it does not exist (atomically: built aside, then renamed into place),
    /// and (re)installs the hooks and settings. Safe to call on every push.
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
                throw PushError("Cannot create the repository of \(app.name): \(error)")
            }
            if rename(temp, app.repository) != 0 {
                try? fm.removeItem(atPath: temp)  // another push created it first
            }
        }
        let repository = try Repository.open(at: app.repository)
        try configure(repository, app: app, root: root, hooksDirectory: hooksDirectory)
    }

    /// Sets the repository's Slipway settings and installs the hooks.
    static func configure(_ repository: Repository, app: AppPaths, root: SlipwayRoot, hooksDirectory: String) throws {
        // fsck on receive refuses trees with '..', '.git' and other malformed entries before any hook runs.
        try repository.setConfig("receive.fsckObjects", true)
        try repository.setConfig("slipway.root", root.path)
        try repository.setConfig("slipway.app", app.name)
        try repository.setConfig("slipway.bin", currentExecutable())
        try install(into: repository.path, from: hooksDirectory)
    }

    /// Copies the hook scripts into `<gitDir>/hooks/`, each replaced atomically.
    public static func install(into gitDirectory: String, from hooksDirectory: String) throws {
        let target = "\(gitDirectory)/hooks"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        for name in names {
            guard let data = FileManager.default.contents(atPath: "\(hooksDirectory)/\(name)") else {
                throw PushError("The hook script \(hooksDirectory)/\(name) is missing.")
            }
            try StateFiles.writeAtomically(data, to: "\(target)/\(name)", mode: 0o755)
            chmod("\(target)/\(name)", 0o755)
        }
    }
}

/// The absolute path of the running executable.
func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
