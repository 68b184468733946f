import Foundation
import SlipwayRunnerKit
import SlipwaySpool
public import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Each dyno's memory, process and CPU limits: a control group `slipway/<app>/<dyno>` (below the runner's own group)
/// in the kernel's memory, pids and cpu controllers, which the dyno's first process joins before it runs anything
/// (``Spawn/joining``). The memory is the process type's size (`ps:resize`, default 512 MB; swap counts too), the
/// processes ``processes(memoryMB:)``, the CPU shares ``cpuShares(memoryMB:)``. Where no controller can be used (the runner is not root, or the host mounts
/// none), each process gets an address-space rlimit of the same size instead, which is weaker: it counts reserved
/// rather than used memory, per process rather than per dyno.
public struct DynoLimits {
    /// Where groups are made; nil when no controller can be used.
    public let hierarchy: ControlGroup.Hierarchy?

    /// The folder below the runner's group that holds every dyno's group.
    public static let top = "slipway"

    /// The runner's hierarchy when it can make groups in it (root), else nil.
    public static func current() -> DynoLimits {
        DynoLimits(hierarchy: geteuid() == 0 ? ControlGroup.current() : nil)
    }

    /// Processes and threads a dyno may have at once, by its memory (``ProcessType/processLimit(memoryMB:)``).
    public static func processes(memoryMB: Int) -> Int { ProcessType.processLimit(memoryMB: memoryMB) }

    /// The dyno's weight when dynos compete for the CPU, by its memory as Heroku's dyno sizes give CPU: 1024 (the
    /// kernel's default) per 512 MB, so a 1024 MB dyno gets twice a 512 MB one's share and a 256 MB one half. Each
    /// app's group (`slipway/<app>`) keeps the default weight, so busy apps share the CPU equally whatever their
    /// number of dynos, and an app's dynos share its part by size.
    public static func cpuShares(memoryMB: Int) -> Int {
        max(2, memoryMB * 1024 / 512)
    }

    /// Processes the app's user may have at once over all its dynos where no pids controller counts them per dyno.
    public static let appProcesses = 16384

    /// A one-line description of the limits, said once at start.
    public var summary: String {
        switch hierarchy {
        case .unified: "memory and process limits per dyno: cgroup v2"
        case .legacy(_, let pids, let cpu):
            "memory limits per dyno: cgroup v1"
                + (pids == nil ? "; no pids controller, processes limited per app user (rlimit)" : ", pids too")
                + (cpu == nil ? "; no cpu controller, no CPU shares" : ", CPU shares by size")
        case nil:
            "no control group can be used here (" + (geteuid() == 0 ? "no memory controller mounted" : "not root")
                + "): memory is limited per process with an address-space rlimit, processes are not limited"
        }
    }

    /// The group of the dyno start `id` of `app`, with its limits; nil without a controller.
    public func create(app: String, id: String, memoryMB: Int) throws -> ControlGroup? {
        guard let hierarchy else { return nil }
        do {
            return try ControlGroup.create(
                "\(Self.top)/\(app)/\(id)", in: hierarchy, memoryBytes: Int64(memoryMB) << 20,
                processes: Self.processes(memoryMB: memoryMB), cpuShares: Self.cpuShares(memoryMB: memoryMB))
        } catch {
            throw RunnerError(.system, "slugrunner: cannot make the control group of \(app) \(id): \(error)")
        }
    }

    /// Removes the group of the dyno start `id` of `app` if it is there and empty (left by a watcher that was
    /// killed). Only ids this root's dyno folders name are passed: another runner's groups are never touched.
    public func removeLeftover(app: String, id: String) {
        guard let hierarchy else { return }
        let bases: [String]
        switch hierarchy {
        case .unified(let base): bases = [base]
        case .legacy(let memory, let pids, let cpu): bases = [memory] + [pids, cpu].compactMap { $0 }
        }
        for base in bases { rmdir("\(base)/\(Self.top)/\(app)/\(id)") }
    }
}

/// Watches one dyno's group for Heroku's memory errors: R15 when the kernel killed a process of it for want of
/// memory, R14 when it reached its limit without a kill (the kernel had to reclaim memory its processes allocated),
/// once per episode: an episode ends when the group's allocated memory is back under 90% of the limit.
public struct MemoryWatch {
    /// What happened since the last look.
    public enum Event: Equatable {
        /// `Error R14 (Memory quota exceeded)`, with the memory in use.
        case exceeded(usedBytes: Int64)
        /// `Error R15 (Memory quota vastly exceeded)`: a process was killed.
        case killed(usedBytes: Int64)
    }

    public let group: ControlGroup
    public let limitBytes: Int64
    private var kills: Int
    private var hits: Int
    private var inEpisode = false

    public init(group: ControlGroup, limitBytes: Int64) {
        self.group = group
        self.limitBytes = limitBytes
        kills = group.memoryKills
        hits = group.limitHits
    }

    /// Reads the group's counters; the events since the last call.
    public mutating func check() -> [Event] {
        var events: [Event] = []
        let used = group.memoryBytes ?? 0
        let nowKills = group.memoryKills
        let nowHits = group.limitHits
        let allocated = group.anonymousBytes ?? used
        if nowKills > kills {
            events.append(.killed(usedBytes: max(used, limitBytes)))
            inEpisode = true
        } else if nowHits > hits && !inEpisode && allocated * 10 >= limitBytes * 9 {
            events.append(.exceeded(usedBytes: used))
            inEpisode = true
        } else if inEpisode && allocated * 10 < limitBytes * 9 {
            inEpisode = false
        }
        kills = nowKills
        hits = nowHits
        return events
    }

    /// Heroku's lines for `event`: `Process running mem=530M(103.5%)` then the error.
    public static func lines(_ event: Event, limitBytes: Int64) -> [String] {
        let (used, error) =
            switch event {
            case .exceeded(let used): (used, "Error R14 (Memory quota exceeded)")
            case .killed(let used): (used, "Error R15 (Memory quota vastly exceeded)")
            }
        let percent = limitBytes > 0 ? Double(used) * 100 / Double(limitBytes) : 0
        let memory = "Process running mem=\(used >> 20)M(\(String(format: "%.1f", percent))%)"
        return [memory, error] + (event == .killed(usedBytes: used) ? ["Stopping process with SIGKILL"] : [])
    }
}
