import Foundation
public import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// How buildpacks are confined, on top of the system layer's ``Sandbox``. Buildpacks are code that strangers push;
/// each of their programs (`bin/detect`, `bin/compile`, `bin/release`, the `export` file) runs:
///
/// - in a bubblewrap sandbox when it works here: the whole filesystem read-only, a fresh `/tmp` holding only this
///   build's folders (writable: the app, the cache, HOME, TMPDIR, the buildpacks' copies, where they write their
///   `export` file, and the runtime cache shared by every build; read-only: ENV_DIR and a runtime store that is a
///   folder), the server's root hidden, its own PID namespace. The buildpack sees Heroku-like paths: `/tmp/build`,
///   `/tmp/cache`, `/tmp/env`, `/tmp/home`, `/tmp/tmp`, `/tmp/buildpacks/<n>` (and `/tmp/buildpacks/lib`, the
///   built-in buildpacks' shared scripts), `/tmp/runtimes`, `/tmp/runtime-store`.
/// - as an unprivileged user when the server runs as root (`SLIPWAY_BUILD_USER`, default `nobody`);
/// - under resource limits: processes, file size, CPU time, no core dumps.
public struct BuildSandbox: Sendable {
    /// Whether to use bubblewrap.
    public typealias Mode = Sandbox.Mode

    /// Resource limits for every buildpack process.
    public struct Limits: Sendable, Equatable {
        /// Processes the build user may have at once (only enforced for a dedicated build user: the limit counts
        /// every process of the user).
        public var processes: Int = 1024
        /// The largest file a buildpack may write, in bytes.
        public var fileSize: Int64 = 4 << 30
        /// CPU seconds per process.
        public var cpuSeconds: Int = 900

        public init() {}
    }

    /// The folders a build uses, as the server sees them.
    public struct Folders: Sendable {
        public var build: String
        public var cache: String
        public var env: String
        public var home: String
        public var tmp: String
        public var buildpacks: String
        /// The runtime cache every build shares (writable: a build fetches into it; each archive is checked by its
        /// SHA-256 before use).
        public var runtimes: String
        /// The runtime store when it is a folder on this machine (read-only), else nil.
        public var runtimeStore: String?
    }

    public var mode: Mode = .auto
    public var limits = Limits()
    /// The user buildpacks run as when the server runs as root; nil keeps the server's user.
    public var buildUser: String? = "nobody"
    /// Folders hidden from buildpacks (an empty tmpfs over each): the server's root, with other apps' repositories,
    /// config vars and keys.
    public var hidden: [String] = []

    public init() {}

    /// The sandbox as configured by the environment: `SLIPWAY_SANDBOX` (auto, bubblewrap, none) and
    /// `SLIPWAY_BUILD_USER` (a user name, or empty to keep the server's user).
    public static func fromEnvironment(_ environment: [String: String]) throws -> BuildSandbox {
        var sandbox = BuildSandbox()
        if let text = environment["SLIPWAY_SANDBOX"], !text.isEmpty {
            guard let mode = Mode(rawValue: text) else {
                throw BuildError(
                    .configInvalid, "SLIPWAY_SANDBOX is '\(text)'.", hint: "Use auto, bubblewrap or none.")
            }
            sandbox.mode = mode
        }
        if let user = environment["SLIPWAY_BUILD_USER"] { sandbox.buildUser = user.isEmpty ? nil : user }
        return sandbox
    }

    /// What this build will actually do, decided once per build.
    public struct Plan: Sendable {
        /// The confinement of every buildpack program.
        var sandbox: Sandbox
        var outside: Folders

        /// The folders as buildpacks see them.
        var inside: Folders {
            guard sandbox.bubblewrap != nil else { return outside }
            return Folders(
                build: "/tmp/build", cache: "/tmp/cache", env: "/tmp/env", home: "/tmp/home", tmp: "/tmp/tmp",
                buildpacks: "/tmp/buildpacks", runtimes: "/tmp/runtimes",
                runtimeStore: outside.runtimeStore.map { _ in "/tmp/runtime-store" })
        }

        /// The runtime cache as buildpacks see it, when the sandbox moves it.
        var insideRuntimes: String? { sandbox.bubblewrap != nil ? inside.runtimes : nil }
        /// A runtime store folder as buildpacks see it, when the sandbox moves it.
        var insideRuntimeStore: String? { sandbox.bubblewrap != nil ? inside.runtimeStore : nil }

        /// A one-line description for the build's output.
        var summary: String {
            var parts: [String] = []
            parts.append(sandbox.bubblewrap != nil ? "bubblewrap sandbox" : "no sandbox")
            if let user = sandbox.user { parts.append("user \(user.name)") }
            return parts.joined(separator: ", ")
        }

        /// A path of the server's view as buildpacks see it.
        func inside(_ path: String) -> String {
            guard sandbox.bubblewrap != nil else { return path }
            for (from, to) in pairs where path == from || path.hasPrefix(from + "/") {
                return to + path.dropFirst(from.count)
            }
            return path
        }

        /// Each build folder with where buildpacks see it.
        private var pairs: [(String, String)] {
            [
                (outside.build, inside.build), (outside.cache, inside.cache), (outside.env, inside.env),
                (outside.home, inside.home), (outside.tmp, inside.tmp), (outside.buildpacks, inside.buildpacks),
                (outside.runtimes, inside.runtimes),
            ]
        }

        /// The command line that runs `executable` with `arguments` (already in the inside view) confined.
        func wrap(_ executable: String, _ arguments: [String]) -> (String, [String]) {
            sandbox.wrap(executable, arguments)
        }

        /// Hands the build's folders (and the cache, kept between builds) to the build user; with `folder`, only
        /// that one.
        func prepare(_ folder: String? = nil) throws {
            guard let user = sandbox.user else { return }
            for folder in folder.map({ [$0] }) ?? pairs.map(\.0) {
                try FileTree.changeOwner(folder, uid: user.uid, gid: user.gid)
            }
        }
    }

    /// Decides how to run this build's buildpacks.
    func plan(for folders: Folders) throws -> Plan {
        do throws(SandboxError) {
            var user: Sandbox.User?
            if geteuid() == 0, let name = buildUser {
                do { user = try Sandbox.User.named(name) } catch {
                    throw SandboxError(
                        "The build user '\(name)' does not exist.",
                        hint: "Create it (useradd --system \(name)), or set SLIPWAY_BUILD_USER to another user.")
                }
            }
            let bubblewrap = try Sandbox.bubblewrap(for: mode)
            try Sandbox.checkTools(user: user)
            if bubblewrap == nil, let user {
                // Without the sandbox's own /tmp, the build user must be able to reach the folders where they are.
                for folder in [folders.build, folders.cache] where !Sandbox.reachable(folder, by: user.uid) {
                    throw SandboxError(
                        "The build user \(user.name) cannot reach \(folder) without the sandbox.",
                        hint:
                            "Install bubblewrap, make the folders above it searchable by others (chmod o+x), or set SLIPWAY_BUILD_USER= (empty) to build as this user."
                    )
                }
            }
            var plan = Plan(sandbox: Sandbox(bubblewrap: bubblewrap, user: user), outside: folders)
            plan.sandbox.limits = Sandbox.Limits(
                processes: user == nil ? nil : limits.processes, fileSize: limits.fileSize,
                cpuSeconds: limits.cpuSeconds)
            if bubblewrap != nil {
                let inside = plan.inside
                plan.sandbox.hidden = hidden
                plan.sandbox.mounts = [
                    .bind(folders.build, at: inside.build), .bind(folders.cache, at: inside.cache),
                    .readOnly(folders.env, at: inside.env), .bind(folders.home, at: inside.home),
                    .bind(folders.tmp, at: inside.tmp), .bind(folders.buildpacks, at: inside.buildpacks),
                    .bind(folders.runtimes, at: inside.runtimes),
                ]
                if let store = folders.runtimeStore, let at = inside.runtimeStore {
                    plan.sandbox.mounts.append(.readOnly(store, at: at))
                }
                plan.sandbox.directory = inside.build
            }
            return plan
        } catch {
            throw BuildError(.configInvalid, error.problem, hint: error.hint)
        }
    }
}
