import Foundation
public import SlipwayDoorRecords
public import SlipwayGit
import SlipwaySpool

/// Who is pushing what, for the hooks: from the environment `receive-pack shell` sets, or, when the hook was dropped
/// into a repository of another git server, from `git config` (`slipway.root`, `slipway.app`).
public struct PushSettings: Sendable {
    public var root: SlipwayRoot
    public var app: String
    public var user: String
    /// The branch that deploys; nil means `main` or `master`, whichever is pushed.
    public var deployBranch: String?
    /// Whether `receive-pack shell` already holds the app's lock for this push.
    public var lockHeld: Bool

    /// Reads the settings for a hook.
    ///
    /// When `receive-pack shell` runs the push (`SLIPWAY_APP` is set), everything comes from `SLIPWAY_ROOT`,
    /// `SLIPWAY_APP`, `SLIPWAY_USER` and the app registry, and `repository` is never called: opening one starts
    /// libgit2, which costs a push several milliseconds. Otherwise (the hook dropped into a repository of another
    /// git server) `git config slipway.root` (required), `slipway.app` (default: the repository folder's name
    /// without `.git`) and `slipway.deployBranch` of `repository()` count; the user is `$GL_USER` (gitolite),
    /// `$GITEA_PUSHER_NAME` (Gitea), else `$USER`.
    public static func resolve(environment: [String: String], repository: () throws -> Repository) throws
        -> PushSettings
    {
        func nonEmpty(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }
        let user =
            ["SLIPWAY_USER", "GL_USER", "GITEA_PUSHER_NAME", "USER"].lazy.compactMap { environment[$0] }
            .first { !$0.isEmpty } ?? "unknown"
        let lockHeld = environment["SLIPWAY_LOCK_HELD"] == "1"
        if let rootPath = nonEmpty("SLIPWAY_ROOT"), let app = nonEmpty("SLIPWAY_APP") {
            let root = SlipwayRoot(rootPath)
            let registered = try? AppRegistry(root: root).settings(app)
            return PushSettings(
                root: root, app: app, user: user, deployBranch: registered?.deployBranch, lockHeld: lockHeld)
        }

        let repository = try repository()
        func config(_ key: String) -> String? {
            (try? repository.configString(key)).flatMap { $0?.isEmpty == false ? $0 : nil }
        }
        guard let rootPath = nonEmpty("SLIPWAY_ROOT") ?? config("slipway.root") else {
            throw DoorError(
                .configuration, lines: "Slipway is not configured for this repository.",
                "Set its root: git config slipway.root /var/lib/slipway")
        }
        var folder = URL(fileURLWithPath: repository.path).lastPathComponent
        if folder.hasSuffix(".git") { folder.removeLast(4) }
        if folder == "repo" || folder.isEmpty {
            folder = URL(fileURLWithPath: repository.path).deletingLastPathComponent().lastPathComponent
        }
        let app = nonEmpty("SLIPWAY_APP") ?? config("slipway.app") ?? folder
        let root = SlipwayRoot(rootPath)
        let registered = try? AppRegistry(root: root).settings(app)
        return PushSettings(
            root: root, app: app, user: user,
            deployBranch: registered?.deployBranch ?? config("slipway.deployBranch"), lockHeld: lockHeld)
    }

    /// The root a hook works for, before anything else is read: `SLIPWAY_ROOT`, else (the hook in another git
    /// server's repository) `git config slipway.root` of the repository git runs the hook in; nil when neither is
    /// set (``resolve(environment:repository:)`` says how to fix that).
    public static func hookRoot(environment: [String: String]) -> SlipwayRoot? {
        if let path = environment["SLIPWAY_ROOT"], !path.isEmpty { return SlipwayRoot(path) }
        guard let repository = try? Repository.openFromEnvironment(),
            let path = (try? repository.configString("slipway.root")) ?? nil, !path.isEmpty
        else { return nil }
        return SlipwayRoot(path)
    }

    /// The update that deploys, if this push has one: the deploy branch, or `main` before `master` when none is set.
    public func deployUpdate(in updates: [RefUpdate]) -> RefUpdate? {
        let candidates = deployBranch.map { [$0] } ?? ["main", "master"]
        for name in candidates {
            if let update = updates.first(where: { $0.branch == name }) { return update }
        }
        return nil
    }
}
