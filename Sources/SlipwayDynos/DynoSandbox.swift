import Foundation
public import SlipwayRunnerKit
import SlipwaySpool
public import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// How a dyno is confined, on top of the system layer's ``Sandbox``: with bubblewrap, the host's filesystem
/// read-only (the stack), the server's root and other secrets (`/root`, `/home`) hidden under empty tmpfs, the
/// dyno's own copy of the release at `/app` (its `HOME` and working folder), a private `/tmp`, its own PID, IPC and
/// UTS namespaces; as the app's own user when the runner is root (``AppUsers``), with no way back to privileges;
/// at most 10000 open files, no core dumps.
public struct DynoSandbox {
    /// Where a dyno sees its copy of the release.
    public static let home = "/app"
    /// Open files per process (Heroku: 10000).
    public static let openFiles = 10000
    /// Host folders no dyno sees besides the server's root: the administrators' homes.
    public static let secrets = ["/root", "/home"]
    /// What of the kernel's own files a dyno has no use for and would learn the host from, covered as Docker covers
    /// them in a container: firmware tables, and the host's network interfaces (a dyno's own are not in the host's
    /// sysfs).
    public static let masked = [
        "/sys/firmware", "/sys/devices/virtual/powercap", "/sys/class/net", "/sys/devices/virtual/net", "/proc/acpi",
        "/proc/asound", "/proc/scsi",
    ]

    /// Where the host mounts its control groups: every app's name, dyno ids and memory, which a dyno must not list.
    public static let controlGroups = "/sys/fs/cgroup"

    /// bwrap's path; nil with `--sandbox none`.
    public let bubblewrap: String?
    /// Covered by empty tmpfs in every dyno.
    public let hidden: [String]

    /// Decides once for the watcher: `.bubblewrap` and `.auto` need a working bubblewrap (dynos run unconfined only
    /// when asked for with `--sandbox none`); `setpriv` and `prlimit` must be installed.
    public init(mode: Sandbox.Mode, root: RunnerRoot, switchesUser: Bool) throws {
        do throws(SandboxError) {
            bubblewrap = mode == .none ? nil : Sandbox.workingBubblewrap
            try Sandbox.checkTools(
                user: switchesUser ? Sandbox.User(uid: AppUsers.defaultRange.lowerBound, gid: 0, name: "") : nil)
        } catch {
            throw RunnerError(.sandbox, "slugrunner: dynos cannot be confined: \(error)")
        }
        if mode != .none && bubblewrap == nil {
            throw RunnerError(
                .sandbox,
                "slugrunner: the bubblewrap sandbox does not work on this host, so dynos cannot be isolated; install "
                    + "Debian's bubblewrap package (and allow user namespaces when not root), or start the watcher "
                    + "with --sandbox none (dynos then see the host's files as their user may)")
        }
        let realRoot = URL(fileURLWithPath: root.path).resolvingSymlinksInPath().path
        hidden =
            Array(Set([root.path, realRoot])).sorted()
            + (Self.secrets + Self.masked).filter { Files.isDirectory($0) }
    }

    /// A one-line description, said once at start.
    public var summary: String {
        bubblewrap == nil
            ? "no filesystem sandbox (--sandbox none): dynos see the host as their user may, with their own /app copy"
            : "bubblewrap sandbox: host read-only, "
                + "\(hidden.filter { !Self.masked.contains($0) }.joined(separator: ", ")) hidden, the host's firmware "
                + "and network interfaces masked in /sys and /proc, other dynos' control groups hidden, "
                + "/app and /tmp private, "
                + "own PID, IPC and UTS namespaces"
    }

    /// The confinement of one dyno whose copy of the release is at `copy` (and its `/tmp` at `tmp`, when on its
    /// disk) and whose control group is `group`; its `HOME` as it sees it.
    public func sandbox(
        copy: String, tmp: String?, group: ControlGroup?, user: Sandbox.User?, addressSpace: Int64?, processes: Int?
    ) throws -> (sandbox: Sandbox, home: String) {
        let limits = Sandbox.Limits(processes: processes, openFiles: Self.openFiles, addressSpace: addressSpace)
        guard let bubblewrap else {
            if let user, !Sandbox.reachable(copy, by: user.uid) {
                throw RunnerError(
                    .sandbox,
                    "slugrunner: the app's user (uid \(user.uid)) cannot reach \(copy) without the sandbox; make the "
                        + "folders above it searchable by others (chmod o+x) or use bubblewrap (--sandbox bubblewrap)")
            }
            return (Sandbox(bubblewrap: nil, user: user, limits: limits), copy)
        }
        let sandbox = Sandbox(
            bubblewrap: bubblewrap, user: user, limits: limits, hidden: hidden,
            mounts: [.bind(copy, at: Self.home)] + (tmp.map { [.bind($0, at: "/tmp")] } ?? [])
                + (Files.isDirectory(Self.controlGroups) ? Self.groupMounts(group) : []),
            directory: Self.home)
        return (sandbox, Self.home)
    }

    /// The host's control groups covered by an empty tmpfs, and the dyno's own group's folders bound read-only
    /// where a container finds its own: a cgroup v1 controller's folder at `/sys/fs/cgroup/<controller>`
    /// (`memory/memory.limit_in_bytes`, `pids/pids.max`), a v2 group at `/sys/fs/cgroup`. A program that sizes
    /// itself from its memory limit still can; no other dyno's or app's group is there to list.
    public static func groupMounts(_ group: ControlGroup?) -> [Sandbox.Mount] {
        var mounts: [Sandbox.Mount] = [.tmpfs(controlGroups)]
        for folder in group?.folders ?? [] where folder.hasPrefix(controlGroups + "/") {
            guard let controller = folder.dropFirst(controlGroups.count + 1).split(separator: "/").first else {
                continue
            }
            let inside = group?.hierarchy.isUnified == true ? controlGroups : "\(controlGroups)/\(controller)"
            mounts.append(.readOnly(folder, at: inside))
        }
        return mounts
    }
}
