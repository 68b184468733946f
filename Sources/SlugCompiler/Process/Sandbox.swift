import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// How buildpacks are confined. Buildpacks are code that strangers push; each of their programs (`bin/detect`,
/// `bin/compile`, `bin/release`, the `export` file) runs:
///
/// - in a bubblewrap sandbox (Debian's `bubblewrap`) when it works here: the whole filesystem read-only, a fresh
///   `/tmp` holding only this build's folders (writable: the app, the cache, HOME, TMPDIR and the buildpacks' copies,
///   where they write their `export` file; read-only: ENV_DIR), the server's root hidden, its own PID namespace
///   (every process dies with the phase, daemons included), no IPC or hostname shared. The buildpack sees Heroku-like
///   paths: `/tmp/build`, `/tmp/cache`, `/tmp/env`, `/tmp/home`, `/tmp/tmp`, `/tmp/buildpacks/<n>`.
/// - as an unprivileged user when the server runs as root (`SLIPWAY_BUILD_USER`, default `nobody`), with no way to
///   gain privileges back (`setpriv --no-new-privs`);
/// - under resource limits (`prlimit`): processes, file size, CPU time, no core dumps.
public struct Sandbox: Sendable {
    /// Whether to use bubblewrap.
    public enum Mode: String, Sendable, CaseIterable {
        /// bubblewrap when it works on this host, else none.
        case auto
        /// bubblewrap, or fail the build with the package to install.
        case bubblewrap
        /// No sandbox (the user and limits still apply).
        case none
    }

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
    public static func fromEnvironment(_ environment: [String: String]) throws -> Sandbox {
        var sandbox = Sandbox()
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
        /// The bwrap executable, when the sandbox is used.
        var bubblewrap: String?
        /// uid and gid to run as, when the server is root.
        var user: (uid: uid_t, gid: gid_t, name: String)?
        var limits: Limits
        var hidden: [String]
        var outside: Folders

        /// The folders as buildpacks see them.
        var inside: Folders {
            guard bubblewrap != nil else { return outside }
            return Folders(
                build: "/tmp/build", cache: "/tmp/cache", env: "/tmp/env", home: "/tmp/home", tmp: "/tmp/tmp",
                buildpacks: "/tmp/buildpacks")
        }

        /// A one-line description for the build's output.
        var summary: String {
            var parts: [String] = []
            parts.append(bubblewrap != nil ? "bubblewrap sandbox" : "no sandbox")
            if let user { parts.append("user \(user.name)") }
            return parts.joined(separator: ", ")
        }

        /// A path of the server's view as buildpacks see it.
        func inside(_ path: String) -> String {
            guard bubblewrap != nil else { return path }
            let pairs = [
                (outside.build, inside.build), (outside.cache, inside.cache), (outside.env, inside.env),
                (outside.home, inside.home), (outside.tmp, inside.tmp), (outside.buildpacks, inside.buildpacks),
            ]
            for (from, to) in pairs where path == from || path.hasPrefix(from + "/") {
                return to + path.dropFirst(from.count)
            }
            return path
        }

        /// The command line that runs `executable` with `arguments` (already in the inside view) confined.
        func wrap(_ executable: String, _ arguments: [String]) -> (String, [String]) {
            var command = [executable] + arguments
            var limitFlags = [
                "--fsize=\(limits.fileSize)", "--cpu=\(limits.cpuSeconds)", "--core=0",
            ]
            if user != nil { limitFlags.append("--nproc=\(limits.processes)") }
            command = ["/usr/bin/prlimit"] + limitFlags + ["--"] + command
            if let user {
                command =
                    ["/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--no-new-privs", "--"]
                    + command
            }
            guard let bubblewrap else { return (command[0], Array(command.dropFirst())) }
            var box = [
                "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp",
            ]
            for folder in hidden { box += ["--tmpfs", folder] }
            box += ["--bind", outside.build, inside.build, "--bind", outside.cache, inside.cache]
            box += ["--ro-bind", outside.env, inside.env, "--bind", outside.home, inside.home]
            box += ["--bind", outside.tmp, inside.tmp, "--bind", outside.buildpacks, inside.buildpacks]
            box += ["--chdir", inside.build, "--"]
            return (bubblewrap, box + command)
        }

        /// Hands the build's folders (and the cache, kept between builds) to the build user; with `folder`, only
        /// that one.
        func prepare(_ folder: String? = nil) throws {
            guard let user else { return }
            let folders =
                folder.map { [$0] }
                ?? [outside.build, outside.cache, outside.env, outside.home, outside.tmp, outside.buildpacks]
            for folder in folders { try FileTree.changeOwner(folder, uid: user.uid, gid: user.gid) }
        }
    }

    /// Decides how to run this build's buildpacks.
    func plan(for folders: Folders) throws -> Plan {
        var user: (uid_t, gid_t, String)?
        if geteuid() == 0, let name = buildUser {
            guard let entry = getpwnam(name) else {
                throw BuildError(
                    .configInvalid, "The build user '\(name)' does not exist.",
                    hint: "Create it (useradd --system \(name)), or set SLIPWAY_BUILD_USER to another user.")
            }
            user = (entry.pointee.pw_uid, entry.pointee.pw_gid, name)
        }
        var bubblewrap: String?
        switch mode {
        case .none:
            break
        case .auto:
            bubblewrap = Self.workingBubblewrap
        case .bubblewrap:
            guard let path = Self.workingBubblewrap else {
                throw BuildError(
                    .configInvalid, "The bubblewrap sandbox does not work on this host.",
                    hint: "Install Debian's bubblewrap package (and allow user namespaces when not root), or use --sandbox none.")
            }
            bubblewrap = path
        }
        for tool in ["/usr/bin/prlimit"] + (user == nil ? [] : ["/usr/bin/setpriv"]) where access(tool, X_OK) != 0 {
            throw BuildError(
                .configInvalid, "\(tool) is missing: buildpacks cannot be confined.",
                hint: "Install Debian's util-linux package.")
        }
        if bubblewrap == nil, let user {
            // Without the sandbox's own /tmp, the build user must be able to reach the folders where they are.
            for folder in [folders.build, folders.cache] where !Self.reachable(folder, by: user.0) {
                throw BuildError(
                    .configInvalid, "The build user \(user.2) cannot reach \(folder) without the sandbox.",
                    hint: "Install bubblewrap, make the folders above it searchable by others (chmod o+x), or set SLIPWAY_BUILD_USER= (empty) to build as this user.")
            }
        }
        return Plan(
            bubblewrap: bubblewrap, user: user, limits: limits, hidden: bubblewrap == nil ? [] : hidden,
            outside: folders)
    }

    /// Whether every folder above `path` lets `uid` pass (its owner, or searchable by others).
    static func reachable(_ path: String, by uid: uid_t) -> Bool {
        var folder = (path as NSString).deletingLastPathComponent
        while folder.count > 1 {
            var st = stat()
            guard stat(folder, &st) == 0 else { return false }
            let searchable = st.st_uid == uid ? st.st_mode & S_IXUSR != 0 : st.st_mode & S_IXOTH != 0
            if !searchable { return false }
            folder = (folder as NSString).deletingLastPathComponent
        }
        return true
    }

    /// bwrap's path when a trial run works here (once per process).
    static let workingBubblewrap: String? = {
        let path = "/usr/bin/bwrap"
        guard access(path, X_OK) == 0 else { return nil }
        let probe = ChildProcess(
            executable: path,
            arguments: ["--die-with-parent", "--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", "--", "/bin/true"],
            environment: ["PATH": "/usr/bin:/bin"], stdout: .capture(limit: 4096))
        return (try? probe.run())?.status.succeeded == true ? path : nil
    }()
}
