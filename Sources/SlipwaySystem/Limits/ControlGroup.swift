public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A control group holding one dyno: its memory and its number of processes capped by the kernel, which kills the
/// group's processes (not the runner, not another dyno) when the memory runs out, and its share of the CPU when
/// processes compete for it. cgroup v2 where the host has the memory controller there (Debian 12's default), else the
/// v1 `memory`, `pids` and `cpu` hierarchies (as on this project's machines). Groups are made below the calling process's own group, so the limits nest in whatever holds the runner.
public struct ControlGroup: Sendable, Equatable {
    /// Where new groups go: the folders of this process's own groups.
    public enum Hierarchy: Sendable, Equatable {
        /// cgroup v2: one folder for every controller.
        case unified(String)
        /// cgroup v1: the memory hierarchy's folder, and the pids and cpu hierarchies' when they are mounted.
        case legacy(memory: String, pids: String?, cpu: String? = nil)
    }

    /// The hierarchy the group is in.
    public let hierarchy: Hierarchy
    /// The group's folders: one for v2; memory (then pids, then cpu, when mounted) for v1.
    public let folders: [String]

    /// The hierarchy this process's groups are in, or nil when no memory controller can be used here (the caller says
    /// so and falls back to rlimits).
    public static func current() -> Hierarchy? {
        guard let mounts = try? FileSystem.read("/proc/self/mountinfo"),
            let groups = try? FileSystem.read("/proc/self/cgroup")
        else { return nil }
        return hierarchy(
            mountInfo: String(decoding: mounts, as: UTF8.self), groups: String(decoding: groups, as: UTF8.self))
    }

    /// The hierarchy from `/proc/self/mountinfo` and `/proc/self/cgroup`: each controller's mount point, joined with
    /// this process's group path relative to the mount's root.
    public static func hierarchy(mountInfo: String, groups: String) -> Hierarchy? {
        var v1: [String: (point: String, root: String)] = [:]
        var v2: (point: String, root: String)?
        for line in mountInfo.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let fields = halves[0].split(separator: " ").map(String.init)
            let tail = halves[1].split(separator: " ").map(String.init)
            guard fields.count >= 5, tail.count >= 3 else { continue }
            let mount = (point: fields[4], root: fields[3])
            if tail[0] == "cgroup2" {
                v2 = mount
            } else if tail[0] == "cgroup" {
                for option in tail[2].split(separator: ",") where ["memory", "pids", "cpu"].contains(option) {
                    v1[String(option)] = mount
                }
            }
        }
        var paths: [String: String] = [:]
        for line in groups.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3 else { continue }
            for controller in parts[1].split(separator: ",", omittingEmptySubsequences: false) {
                paths[String(controller)] = parts[2]
            }
        }
        if let memory = v1["memory"], let path = paths["memory"] {
            let pids = v1["pids"].flatMap { mount in paths["pids"].map { folder(mount, $0) } }
            let cpu = v1["cpu"].flatMap { mount in paths["cpu"].map { folder(mount, $0) } }
            return .legacy(memory: folder(memory, path), pids: pids, cpu: cpu)
        }
        if let v2, let path = paths[""] {
            let unified = folder(v2, path)
            let controllers = (try? FileSystem.read(unified + "/cgroup.controllers")).map {
                String(decoding: $0, as: UTF8.self)
            }
            if controllers?.split(whereSeparator: \.isWhitespace).contains("memory") == true {
                return .unified(unified)
            }
        }
        return nil
    }

    /// Where a group (a path from `/proc/self/cgroup`) is under a mount of its hierarchy, whose own root may be a
    /// group below the hierarchy's root (in a container).
    private static func folder(_ mount: (point: String, root: String), _ path: String) -> String {
        let relative =
            mount.root == "/" ? path : String(path.dropFirst(path.hasPrefix(mount.root) ? mount.root.count : 0))
        return relative == "/" || relative.isEmpty ? mount.point : mount.point + relative
    }

    /// Makes the group `name` (a relative path such as `slipway/myapp/web.1`, made of checked names) below
    /// `hierarchy`, with its limits: `memoryBytes` of memory (swap included where the kernel accounts it), at most
    /// `processes` processes (not enforced on a v1 host without the pids hierarchy: the caller falls back to rlimits),
    /// and, when given, `cpuShares`: its weight against its sibling groups when they all want the CPU (v1's
    /// `cpu.shares`, 1024 the kernel's default; v2's `cpu.weight` gets the same ratio to its default of 100). Without
    /// a cpu controller the group has no CPU weight of its own.
    public static func create(
        _ name: String, in hierarchy: Hierarchy, memoryBytes: Int64, processes: Int, cpuShares: Int? = nil
    ) throws(SystemError) -> ControlGroup {
        switch hierarchy {
        case .unified(let base):
            var parent = base
            for component in name.split(separator: "/") {
                // A v2 group hands controllers to its children only when asked to.
                try write("+memory +pids", to: parent + "/cgroup.subtree_control", optional: false)
                if cpuShares != nil { try write("+cpu", to: parent + "/cgroup.subtree_control", optional: true) }
                parent += "/\(component)"
                if mkdir(parent, 0o755) != 0 && errno != EEXIST { throw SystemError("create", parent, errno: errno) }
            }
            try write("\(memoryBytes)", to: parent + "/memory.max", optional: false)
            try write("0", to: parent + "/memory.swap.max", optional: true)
            try write("\(processes)", to: parent + "/pids.max", optional: true)
            if let cpuShares {
                let weight = min(10_000, max(1, cpuShares * 100 / 1024))
                try write("\(weight)", to: parent + "/cpu.weight", optional: true)
            }
            return ControlGroup(hierarchy: hierarchy, folders: [parent])
        case .legacy(let memory, let pids, let cpu):
            let memoryFolder = "\(memory)/\(name)"
            try FileSystem.makeFolders(memoryFolder, mode: 0o755)
            try write("\(memoryBytes)", to: memoryFolder + "/memory.limit_in_bytes", optional: false)
            try write("\(memoryBytes)", to: memoryFolder + "/memory.memsw.limit_in_bytes", optional: true)
            var folders = [memoryFolder]
            if let pids {
                let pidsFolder = "\(pids)/\(name)"
                try FileSystem.makeFolders(pidsFolder, mode: 0o755)
                try write("\(processes)", to: pidsFolder + "/pids.max", optional: false)
                folders.append(pidsFolder)
            }
            if let cpu, let cpuShares {
                let cpuFolder = "\(cpu)/\(name)"
                try FileSystem.makeFolders(cpuFolder, mode: 0o755)
                folders.append(cpuFolder)
                try write("\(min(262_144, max(2, cpuShares)))", to: cpuFolder + "/cpu.shares", optional: false)
            }
            return ControlGroup(hierarchy: hierarchy, folders: folders)
        }
    }

    /// Moves `pid` into the group; the processes it starts afterwards are in it too.
    public func add(_ pid: pid_t) throws(SystemError) {
        for folder in folders { try Self.write("\(pid)", to: folder + "/cgroup.procs", optional: false) }
    }

    /// The `cgroup.procs` files a process writes itself into to join the group (``Spawn/joining``).
    public var procsFiles: [String] { folders.map { $0 + "/cgroup.procs" } }

    /// How many times the kernel killed a process of the group for want of memory.
    public var memoryKills: Int {
        switch hierarchy {
        case .unified: Self.counter(folders[0] + "/memory.events", "oom_kill") ?? 0
        case .legacy: Self.counter(folders[0] + "/memory.oom_control", "oom_kill") ?? 0
        }
    }

    /// How many times the group's memory reached its limit (and the kernel had to reclaim, or kill).
    public var limitHits: Int {
        switch hierarchy {
        case .unified: Self.counter(folders[0] + "/memory.events", "max") ?? 0
        case .legacy: Self.number(folders[0] + "/memory.failcnt").map(Int.init) ?? 0
        }
    }

    /// The group's CPU weight (v1's `cpu.shares`, or v2's `cpu.weight`); nil without a cpu controller.
    public var cpuWeight: Int? {
        switch hierarchy {
        case .unified:
            return Self.number(folders[0] + "/cpu.weight").map(Int.init)
        case .legacy(_, _, let cpu):
            guard let cpu, let folder = folders.first(where: { $0.hasPrefix(cpu + "/") }) else { return nil }
            return Self.number(folder + "/cpu.shares").map(Int.init)
        }
    }

    /// The memory the group uses now, in bytes (page cache included); nil once the group is gone.
    public var memoryBytes: Int64? {
        switch hierarchy {
        case .unified: Self.number(folders[0] + "/memory.current")
        case .legacy: Self.number(folders[0] + "/memory.usage_in_bytes")
        }
    }

    /// The group's anonymous memory (what its processes allocated, swapped out or not: no page cache), in bytes.
    public var anonymousBytes: Int64? {
        switch hierarchy {
        case .unified: Self.counter(folders[0] + "/memory.stat", "anon").map(Int64.init)
        case .legacy:
            Self.counter(folders[0] + "/memory.stat", "total_rss").map {
                Int64($0) + Int64(Self.counter(folders[0] + "/memory.stat", "total_swap") ?? 0)
            }
        }
    }

    /// The value of `key` in a control file of `key value` lines.
    private static func counter(_ file: String, _ key: String) -> Int? {
        guard let data = try? FileSystem.read(file) else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return Int(parts[1]) }
        }
        return nil
    }

    /// A control file holding one number.
    private static func number(_ file: String) -> Int64? {
        guard let data = try? FileSystem.read(file) else { return nil }
        return Int64(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Removes the group once its processes are gone (the kernel refuses while one is left); whether it is gone.
    @discardableResult
    public func remove() -> Bool {
        folders.allSatisfy { rmdir($0) == 0 || errno == ENOENT }
    }

    /// Writes `text` to a control file; a file the kernel does not have is fine when `optional`.
    private static func write(_ text: String, to path: String, optional: Bool) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if optional && errno == ENOENT { return }
            throw SystemError("open", path, errno: errno)
        }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        if written != bytes.count {
            if optional && (errno == EINVAL || errno == EACCES) { return }
            throw SystemError("write \(text) to", path, errno: errno)
        }
    }
}
