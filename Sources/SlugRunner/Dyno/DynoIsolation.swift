import Foundation
import SlipwayDynos
import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Everything that confines the watcher's dynos, decided once when it starts (``summary`` says what), and the
/// places of the dynos that run or whose processes are still going away.
final class DynoIsolation {
    /// How dynos are networked and what they may write: `slugrunner watch`'s choices.
    struct Choices {
        var sandbox: Sandbox.Mode = .auto
        var network: DynoNetworkMode = .auto
        var disk: DynoDiskMode = .auto
        /// The host's free space (MB) no dyno may take, with disks of their own.
        var diskReserveMB = DynoSettings.defaultDiskReserveMB
        /// `slugrunner`, whose `dyno-disk` step mounts a dyno's disk in the dyno's own mount namespace.
        var helper = ProcessInfo.currentExecutable
        /// Whether apps get users of their own even when the runner is not root: the Swarm engine runs each app's
        /// tasks as its own uid wherever the runner runs.
        var appUsers = false
    }

    let root: RunnerRoot
    let filesystem: DynoFilesystem
    let sandbox: DynoSandbox
    let limits: DynoLimits
    /// Each dyno's network; nil when dynos share the host's (`--dyno-network host`, or not root).
    let network: DynoNetwork?
    /// The apps' users; nil when the runner is not root and no engine asks for them.
    private var users: AppUsers?
    /// Whether local dynos switch to their app's user (the runner is root); else they run as the runner's.
    private let switchesUser: Bool
    /// Dynos whose first process runs, by its pid.
    private(set) var running: [pid_t: DynoPlace] = [:]
    /// Dynos whose first process ended; their folder and group go once every process of theirs is gone.
    private var ending: [DynoPlace] = []
    /// What the runner says of the dynos' network and disks at start.
    private let networkSummary: String
    private let diskSummary: String
    /// Set once the watcher stops: no spare network is made any more.
    private var finishing = false
    private let clock = ContinuousClock()
    private var nextMemoryCheck: ContinuousClock.Instant
    private var nextDiskCheck: ContinuousClock.Instant

    init(root: RunnerRoot, choices: Choices) throws {
        self.root = root
        let isRoot = geteuid() == 0
        let disksFolder = "\(root.runnerDirectory)/dynos"
        let disks: DynoDisks?
        switch choices.disk {
        case .unbounded: disks = nil
        case .bounded:
            disks = try DynoDisks(folder: disksFolder, helper: choices.helper, reserveMB: choices.diskReserveMB)
        case .preallocated:
            disks = try DynoDisks(
                folder: disksFolder, helper: choices.helper, reserveMB: choices.diskReserveMB, preallocate: true)
        case .auto:
            disks =
                isRoot
                ? try? DynoDisks(folder: disksFolder, helper: choices.helper, reserveMB: choices.diskReserveMB) : nil
        }
        filesystem = DynoFilesystem(root: root, disks: disks)
        diskSummary =
            disks?.summary
            ?? (choices.disk == .unbounded
                ? "/app and /tmp on the host's disk, without a bound (--dyno-disk unbounded)"
                : "/app on the host's disk, without a bound (a disk per dyno needs root, loop devices, mkfs.ext4 "
                    + "and mount; --dyno-disk bounded says what is missing)")
        sandbox = try DynoSandbox(mode: choices.sandbox, root: root, switchesUser: isRoot)
        limits = DynoLimits.current()
        switchesUser = isRoot
        users = isRoot || choices.appUsers ? try AppUsers(path: "\(root.runnerDirectory)/uids.json") : nil
        let networkMode = choices.network
        switch networkMode {
        case .host: network = nil
        case .private: network = try DynoNetwork(root: root.layout.path)
        case .auto: network = isRoot ? try? DynoNetwork(root: root.layout.path) : nil
        }
        networkSummary =
            network?.summary
            ?? (networkMode == .host
                ? "the host's network, shared by every dyno (--dyno-network host)"
                : "the host's network, shared by every dyno (a network per dyno needs root, ip, nsenter and nft; "
                    + "--dyno-network private says what is missing)")
        nextMemoryCheck = clock.now
        nextDiskCheck = clock.now
    }

    /// What confines dynos here, one line each, said once at start.
    var summary: [String] {
        [
            "Dynos: " + sandbox.summary,
            "Dynos: "
                + (switchesUser
                    ? "each app runs as a user of its own (uids from \(users.map { "\($0.range)" } ?? ""))"
                    : "not root: every app's dynos run as this user (no user of their own), without control groups"),
            "Dynos: " + limits.summary,
            "Dynos: " + networkSummary,
            "Dynos: " + diskSummary,
        ]
    }

    /// The uid (and gid) of `app`'s own user, given on its first call and kept (the Swarm engine's tasks run as it).
    func appUID(_ app: String) throws -> uid_t {
        guard var table = users else {
            throw RunnerError(.sandbox, "slugrunner: apps have no users of their own here (the runner is not root)")
        }
        defer { users = table }
        return try table.user(for: app).uid
    }

    /// The memory of `type`'s dynos of `app` in MB (`ps:resize`, default 512).
    func memoryMB(app: String, type: String) -> Int {
        (try? DynoSettings.load(from: root.layout.dynoSettings(app)))?.memoryMB(of: type)
            ?? DynoSettings.defaultMemoryMB
    }

    /// The disk of `type`'s dynos of `app` in MB (`ps:disk`, default 2048).
    func diskMB(app: String, type: String) -> Int {
        (try? DynoSettings.load(from: root.layout.dynoSettings(app)))?.diskMB(of: type) ?? DynoSettings.defaultDiskMB
    }

    /// Makes the place of a new start of `dyno`: the copy of `release`, the group, the sandbox. `memoryMB` nil takes
    /// the process type's size from the app's dyno settings.
    func prepare(app: String, dyno: String, type: String, release: UnpackedRelease, memoryMB: Int? = nil) throws
        -> DynoPlace
    {
        let memory = memoryMB ?? self.memoryMB(app: app, type: type)
        let user = switchesUser ? try users?.user(for: app) : nil
        let id = "\(dyno)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        let owner = user.map { FileSystem.Owner(uid: $0.uid, gid: $0.gid) }
        let disk = diskMB(app: app, type: type)
        let made = try filesystem.create(app: app, id: id, release: release.home, owner: owner, diskMB: disk)
        var namespace: NetworkNamespace?
        do {
            namespace = try network?.attach(id: id)
            let group = try limits.create(app: app, id: id, memoryMB: memory)
            // Without a pids controller, the app's user gets an rlimit on its processes (over all its dynos).
            let pidsEnforced = group.map { $0.hierarchy.enforcesProcesses } ?? false
            let processes = pidsEnforced || user == nil ? nil : DynoLimits.appProcesses
            var (confined, home) = try sandbox.sandbox(
                copy: made.copy, tmp: made.tmp, group: group, user: user,
                addressSpace: group == nil ? Int64(memory) << 20 : nil,
                processes: processes)
            confined.network = namespace?.path
            confined.launcher = made.launcher
            return DynoPlace(
                app: app, dyno: dyno, id: id, copy: made.copy, home: home, sandbox: confined, group: group,
                memoryMB: memory, network: namespace, disk: made.disk, diskMB: disk)
        } catch {
            if let namespace { network?.detach(namespace) }
            filesystem.remove(app: app, id: id)
            throw error
        }
    }

    /// The dyno's first process started as `pid`.
    func started(_ place: DynoPlace, pid: pid_t) {
        place.pid = pid
        running[pid] = place
    }

    /// The place's process could not start: it goes now.
    func discard(_ place: DynoPlace) {
        place.group?.remove()
        if let namespace = place.network { network?.detach(namespace) }
        filesystem.remove(app: place.app, id: place.id)
    }

    /// The first process `pid` was reaped; its place goes once its other processes are gone (``collect()``).
    @discardableResult
    func ended(_ pid: pid_t) -> DynoPlace? {
        guard let place = running.removeValue(forKey: pid) else { return nil }
        ending.append(place)
        return place
    }

    /// Removes the folders, groups and networks of ended dynos whose processes are all gone, and keeps spare
    /// networks and disks ready (unless `spares` is false: a dyno is booting).
    func collect(spares: Bool = true) {
        if !finishing && spares {
            network?.replenish()
            filesystem.disks?.replenish()
        }
        ending.removeAll { place in
            if let pid = place.pid, ProcessGroup.exists(pid) { return false }
            guard place.group?.remove() ?? true else { return false }
            if let namespace = place.network { network?.detach(namespace) }
            filesystem.remove(app: place.app, id: place.id)
            return true
        }
    }

    /// At the watcher's end: waits up to `seconds` for the last processes to go, removing what it can.
    func finish(seconds: Double = 5) {
        finishing = true
        let deadline = clock.now + .milliseconds(Int(seconds * 1000))
        collect()
        while !ending.isEmpty && clock.now < deadline {
            usleep(50_000)
            collect()
        }
        network?.removeSpares()
        filesystem.disks?.finish()
    }

    /// The disk events of the running dynos since the last look (at most ten times a second): a dyno whose disk is
    /// full, and the one whose disk holds the most when the host is under its reserve.
    func diskEvents() -> [(place: DynoPlace, event: DiskEvent)] {
        guard let disks = filesystem.disks, clock.now >= nextDiskCheck else { return [] }
        nextDiskCheck = clock.now + .milliseconds(100)
        return disks.check(running.values.sorted { $0.id < $1.id }, ending: ending)
    }

    /// The memory errors of the running dynos since the last look (at most twice a second, unless `now`).
    func memoryEvents(now: Bool = false) -> [(place: DynoPlace, event: MemoryWatch.Event)] {
        guard now || clock.now >= nextMemoryCheck else { return [] }
        nextMemoryCheck = clock.now + .milliseconds(500)
        var events: [(DynoPlace, MemoryWatch.Event)] = []
        for place in running.values.sorted(by: { $0.id < $1.id }) {
            for event in place.watch?.check() ?? [] { events.append((place, event)) }
        }
        return events
    }

    /// The memory the dyno whose first process is `pid` uses now, in bytes; nil without a control group.
    func memoryBytes(_ pid: pid_t) -> Int64? {
        running[pid]?.group?.memoryBytes
    }

    /// Removes the dyno folders and groups of `apps` that no running dyno owns (left by a watcher that was killed;
    /// a group goes before its folder, so a group never outlives the folder that names it).
    func removeLeftovers() {
        let owned = Set(running.values.map(\.id) + ending.map(\.id))
        for app in filesystem.apps {
            for id in filesystem.ids(app: app) where !owned.contains(id) {
                limits.removeLeftover(app: app, id: id)
                filesystem.remove(app: app, id: id)
            }
        }
    }
}

extension DynoPlace {
    /// Where the runner and the router reach the dyno: its own address, or `host`'s when it shares the host's network.
    func address(or host: ListenAddress) -> ListenAddress {
        network.flatMap { ListenAddress(ipv4: $0.address) } ?? host
    }
}
