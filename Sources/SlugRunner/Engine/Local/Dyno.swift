import Foundation
import SlipwaySpool

#if canImport(Glibc)
    import Glibc
#endif

/// One process slot of a release (`web.1`) and the process that fills it, if any.
final class Dyno {
    /// What `slugrunner ps` shows.
    enum State: String {
        case starting, up, crashed
    }

    let type: String
    let index: Int
    let release: UnpackedRelease
    let command: String
    /// `PORT`: kept across restarts while it is free, so a proxy in front keeps working.
    var port: UInt16
    /// Where the runner, its health checks and the router reach it: its own network's address, or the runner's
    /// `--host` when dynos share the host's network.
    var address = ListenAddress.loopback
    /// The running process (also its process group), nil while it waits to restart.
    var pid: pid_t?
    var state = State.starting
    var startedAt: Date?
    var startedClock: ContinuousClock.Instant?
    var startTicks: UInt64?
    var restarts = 0
    var crashes = CrashTracker()
    var restartAt: ContinuousClock.Instant?
    /// The health check's failures in a row (after three, the dyno is restarted).
    var healthFailures = 0
    /// When the health check runs next.
    var nextHealthCheck: ContinuousClock.Instant?
    /// The memory its control group used at the last sample, rounded down to MiB (for `ps`).
    var memoryBytes: Int?
    /// The last health check's answer, so that a slow boot logs each answer once.
    var healthDetail: String?

    init(type: String, index: Int, release: UnpackedRelease, command: String, port: UInt16) {
        self.type = type
        self.index = index
        self.release = release
        self.command = command
        self.port = port
    }

    /// `web.1`.
    var name: String { "\(type).\(index)" }
}

/// The processes of a release on its way in (its phase and deadline are the ``DeployMachine``'s).
final class Deployment {
    let release: UnpackedRelease
    /// The release command's process (also its process group), once started and until the release boots.
    var releasePhase: pid_t?
    /// The release's processes, once it boots.
    var dynos: [Dyno] = []

    init(release: UnpackedRelease) {
        self.release = release
    }
}

/// One app's dynos on this machine: the current release's, and the ones of the release on its way in.
final class AppDynos {
    /// The processes of the current release.
    var current: [Dyno] = []
    /// The processes of the release on its way in.
    var deployment: Deployment?
    /// Warnings already logged for the current release (so a scale to an undeclared type is said once).
    var warnings: Set<String> = []

    /// Every dyno, current and deploying.
    var all: [Dyno] { current + (deployment?.dynos ?? []) }
}
