public import Foundation
public import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// One start of a dyno (a process type's dyno, a one-off `run.N`, the release phase): its private copy of the
/// release, its sandbox, its control group and its network, from before its process starts until after its last process is gone.
public final class DynoPlace {
    public let app: String
    /// `web.1`, `run.2`, `release.1`.
    public let dyno: String
    /// The dyno's name and a start id: its folder and its control group.
    public let id: String
    /// The copy of the release, as the runner sees it.
    public let copy: String
    /// `HOME` and the working folder as the dyno sees them (`/app` in the sandbox).
    public let home: String
    public let sandbox: Sandbox
    /// The memory and process limits; nil where no controller can be used.
    public let group: ControlGroup?
    /// The memory limit, in MB.
    public let memoryMB: Int
    public var watch: MemoryWatch?
    /// The first process (its process group), once started.
    public var pid: pid_t?
    /// Its network namespace; nil when dynos share the host's network.
    public let network: NetworkNamespace?
    /// Its disk, holding `/app` and `/tmp`; nil when dynos write to the host's disk.
    public let disk: LoopDisk?
    /// The disk's size, in MB.
    public let diskMB: Int

    public init(
        app: String, dyno: String, id: String, copy: String, home: String, sandbox: Sandbox, group: ControlGroup?,
        memoryMB: Int, network: NetworkNamespace?, disk: LoopDisk?, diskMB: Int
    ) {
        self.network = network
        self.disk = disk
        self.diskMB = diskMB
        self.app = app
        self.dyno = dyno
        self.id = id
        self.copy = copy
        self.home = home
        self.sandbox = sandbox
        self.group = group
        self.memoryMB = memoryMB
        self.watch = group.map { MemoryWatch(group: $0, limitBytes: Int64(memoryMB) << 20) }
    }

    /// The `cgroup.procs` files the first process joins before it runs anything.
    public var joining: [String] { group?.procsFiles ?? [] }
}

extension ControlGroup.Hierarchy {
    /// Whether a group's processes are counted by a pids controller.
    public var enforcesProcesses: Bool {
        if case .legacy(_, let pids, _) = self { return pids != nil }
        return true
    }

    /// Whether this is cgroup v2.
    public var isUnified: Bool {
        if case .unified = self { return true }
        return false
    }
}
