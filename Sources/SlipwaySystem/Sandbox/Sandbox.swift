public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How a program that strangers wrote (a buildpack's `bin/compile`, an app's dyno) is confined: one value says what
/// the program may see, who it runs as and what it may use, and ``wrap(_:_:)`` turns it into a command line.
///
/// - Filesystem and namespaces, with bubblewrap (Debian's `bubblewrap`) when ``bubblewrap`` is set: the host's whole
///   filesystem read-only, a fresh `/dev`, `/proc` and `/tmp`, the ``hidden`` folders covered by empty tmpfs, then
///   ``mounts`` in order; its own PID namespace (every process dies with the sandbox, daemons included), no IPC or
///   hostname shared.
/// - A ``user`` to run as (only possible from root), with no way to gain privileges back (`setpriv --no-new-privs`).
/// - ``limits`` set with `prlimit`: processes, open files, file size, CPU time, never a core dump.
/// - A ``network`` namespace of its own (``NetworkNamespace``), entered with `nsenter` before anything else (root
///   only); nil shares the host's network.
///
/// bubblewrap, `setpriv` and `prlimit` are separate programs rather than calls made here between fork and exec: they
/// are the kernel interfaces' maintained front ends (user namespaces, mount propagation, capability dropping), and
/// they keep `Spawn` simple (the only work it does between fork and exec is joining control groups).
public struct Sandbox: Sendable, Equatable {
    /// Whether to use bubblewrap.
    public enum Mode: String, Sendable, CaseIterable {
        /// bubblewrap when it works on this host, else none.
        case auto
        /// bubblewrap, or fail with the package to install.
        case bubblewrap
        /// No filesystem or namespace sandbox (the user and the limits still apply).
        case none
    }

    /// A user to run as.
    public struct User: Sendable, Equatable {
        public var uid: uid_t
        public var gid: gid_t
        public var name: String

        public init(uid: uid_t, gid: gid_t, name: String) {
            self.uid = uid
            self.gid = gid
            self.name = name
        }

        /// The user called `name` in the password database.
        public static func named(_ name: String) throws(SandboxError) -> User {
            guard let entry = getpwnam(name) else {
                throw SandboxError(
                    "The user '\(name)' does not exist.",
                    hint: "Create it (useradd --system \(name)) or name another user.")
            }
            return User(uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid, name: name)
        }
    }

    /// Resource limits of every process in the sandbox; nil leaves the host's.
    public struct Limits: Sendable, Equatable {
        /// Processes the user may have at once. The kernel counts every process of the user, so set it only for a
        /// user of the sandbox's own.
        public var processes: Int?
        /// The largest file a process may write, in bytes.
        public var fileSize: Int64?
        /// CPU seconds per process.
        public var cpuSeconds: Int?
        /// Open files per process.
        public var openFiles: Int?
        /// Address space per process, in bytes: the memory limit where no control group can hold one.
        public var addressSpace: Int64?

        public init(
            processes: Int? = nil, fileSize: Int64? = nil, cpuSeconds: Int? = nil, openFiles: Int? = nil,
            addressSpace: Int64? = nil
        ) {
            self.processes = processes
            self.fileSize = fileSize
            self.cpuSeconds = cpuSeconds
            self.openFiles = openFiles
            self.addressSpace = addressSpace
        }

        /// `prlimit`'s flags; core dumps are always off.
        var prlimitFlags: [String] {
            var flags: [String] = []
            if let fileSize { flags.append("--fsize=\(fileSize)") }
            if let cpuSeconds { flags.append("--cpu=\(cpuSeconds)") }
            if let openFiles { flags.append("--nofile=\(openFiles)") }
            if let addressSpace { flags.append("--as=\(addressSpace)") }
            flags.append("--core=0")
            if let processes { flags.append("--nproc=\(processes)") }
            return flags
        }
    }

    /// A folder placed in the sandbox's view.
    public enum Mount: Sendable, Equatable {
        /// `outside` (the host's path) visible at `inside`, writable.
        case bind(_ outside: String, at: String)
        /// `outside` visible at `inside`, read-only.
        case readOnly(_ outside: String, at: String)
        /// An empty, private, writable tmpfs at `inside`.
        case tmpfs(_ inside: String)
    }

    /// bwrap's path; nil runs without the filesystem and namespace sandbox.
    public var bubblewrap: String?
    public var user: User?
    public var limits: Limits
    /// Host folders covered by an empty tmpfs (the server's root, with other apps' repositories, config and keys).
    public var hidden: [String]
    /// Mounted after the read-only host, `/dev`, `/proc`, `/tmp`, `/var/tmp` and ``hidden``, in this order.
    public var mounts: [Mount]
    /// The working folder, as the sandbox sees it.
    public var directory: String?
    /// The path of the network namespace to run in (`/run/netns/<name>`); nil: the host's.
    public var network: String?
    /// Commands run before the sandbox, after entering the network: each execs the next (a dyno's disk is mounted
    /// by one, ``LoopDisk``).
    public var launcher: [String] = []

    public init(
        bubblewrap: String?, user: User? = nil, limits: Limits = Limits(), hidden: [String] = [], mounts: [Mount] = [],
        directory: String? = nil, network: String? = nil
    ) {
        self.bubblewrap = bubblewrap
        self.user = user
        self.limits = limits
        self.hidden = hidden
        self.mounts = mounts
        self.directory = directory
        self.network = network
    }

    /// bwrap's path for `mode`: nil for `.none`, and for `.auto` where bubblewrap does not work here.
    public static func bubblewrap(for mode: Mode) throws(SandboxError) -> String? {
        switch mode {
        case .none:
            return nil
        case .auto:
            return workingBubblewrap
        case .bubblewrap:
            guard let path = workingBubblewrap else {
                throw SandboxError(
                    "The bubblewrap sandbox does not work on this host.",
                    hint:
                        "Install Debian's bubblewrap package (and allow user namespaces when not root), or use --sandbox none."
                )
            }
            return path
        }
    }

    /// Fails unless the programs that confine are installed: `prlimit`, and `setpriv` when a user is set.
    public static func checkTools(user: User?) throws(SandboxError) {
        for tool in ["/usr/bin/prlimit"] + (user == nil ? [] : ["/usr/bin/setpriv"]) where access(tool, X_OK) != 0 {
            throw SandboxError(
                "\(tool) is missing: programs cannot be confined.", hint: "Install Debian's util-linux package.")
        }
    }

    /// The command line that runs `executable` with `arguments` (paths as the sandbox sees them) confined.
    public func wrap(_ executable: String, _ arguments: [String]) -> (String, [String]) {
        var command = ["/usr/bin/prlimit"] + limits.prlimitFlags + ["--", executable] + arguments
        if let user {
            command =
                [
                    "/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups",
                    "--no-new-privs", "--",
                ]
                + command
        }
        let entering = (network.map { [NetworkNamespace.nsenter, "--net=\($0)", "--"] } ?? []) + launcher
        guard let bubblewrap else {
            let whole = entering + command
            return (whole[0], Array(whole.dropFirst()))
        }
        var box = ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        let ownRoot = needsOwnRoot
        box += ownRoot ? Self.hostEntries() : ["--ro-bind", "/", "/"]
        // A private /tmp anyone may write (sticky), as the host's.
        box += [
            "--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp", "--perms", "1777", "--tmpfs",
            "/var/tmp",
        ]
        for folder in hidden { box += ["--tmpfs", folder] }
        for mount in mounts {
            switch mount {
            case .bind(let outside, let inside): box += ["--bind", outside, inside]
            case .readOnly(let outside, let inside): box += ["--ro-bind", outside, inside]
            case .tmpfs(let inside): box += ["--tmpfs", inside]
            }
        }
        if ownRoot { box += ["--remount-ro", "/"] }
        if let directory { box += ["--chdir", directory] }
        let whole = entering + [bubblewrap] + box + ["--"] + command
        return (whole[0], Array(whole.dropFirst()))
    }

    /// Whether a mount goes where the read-only host has nothing (a dyno's `/app`): bwrap cannot make a mount point
    /// in a read-only bind of `/`, so the sandbox's root is then a tmpfs holding the host's top-level entries, each
    /// bound read-only, and is made read-only itself once everything is mounted.
    var needsOwnRoot: Bool {
        let writable =
            ["/tmp", "/var/tmp"] + hidden + mounts.compactMap { if case .tmpfs(let at) = $0 { at } else { nil } }
        return mounts.contains { mount in
            let inside: String
            switch mount {
            case .bind(_, let at), .readOnly(_, let at), .tmpfs(let at): inside = at
            }
            var info = stat()
            let creatable = writable.contains { inside.hasPrefix($0 + "/") }
            return !creatable && lstat(inside, &info) != 0
        }
    }

    /// bwrap's arguments that rebuild the host's `/` read-only, entry by entry (symlinks such as `/bin -> usr/bin`
    /// as symlinks); `/proc`, `/dev` and `/tmp` are mounted fresh afterwards.
    static func hostEntries() -> [String] {
        var arguments: [String] = []
        let names = ((try? FileSystem.names(in: "/")) ?? []).sorted()
        for name in names where !["proc", "dev", "tmp"].contains(name) {
            let path = "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlink(path, &buffer, buffer.count - 1)
                guard length > 0 else { continue }
                let target = buffer[0..<length].map { UInt8(bitPattern: $0) }
                arguments += ["--symlink", String(decoding: target, as: UTF8.self), path]
            case S_IFDIR, S_IFREG:
                arguments += ["--ro-bind", path, path]
            default:
                continue
            }
        }
        return arguments
    }

    /// Whether every folder above `path` lets `uid` pass (its owner, or searchable by others).
    public static func reachable(_ path: String, by uid: uid_t) -> Bool {
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
    public static let workingBubblewrap: String? = {
        let path = "/usr/bin/bwrap"
        guard access(path, X_OK) == 0 else { return nil }
        let probe = ChildProcess(
            executable: path,
            arguments: [
                "--die-with-parent", "--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", "--", "/bin/true",
            ],
            environment: ["PATH": "/usr/bin:/bin"], stdout: .capture(limit: 4096))
        return (try? probe.run())?.status.succeeded == true ? path : nil
    }()
}

/// A sandbox that cannot be set up: the problem, and the fix.
public struct SandboxError: Error, Equatable, Sendable, CustomStringConvertible {
    public var problem: String
    public var hint: String

    public init(_ problem: String, hint: String) {
        self.problem = problem
        self.hint = hint
    }

    public var description: String { "\(problem) \(hint)" }
}
