import SlipwaySpool
public import SlipwaySystem

/// The deploy decisions for one app, with no I/O: which claimed entry to deploy next, when the release phase runs,
/// which processes a release boots, when it takes over from the previous one, and when it fails and the previous one
/// keeps running.
///
/// The watcher feeds it what happened (``Event``) and carries out what it answers (``Effect``); files and log lines
/// stay in the watcher, and spawning, signals and ports in its ``DynoEngine``. Keeping the decisions apart lets each
/// transition be tested without starting a process, and lets a reader see the whole deploy in one switch.
public struct DeployMachine: Sendable {
    /// Where the app's next release is.
    public enum State: Equatable, Sendable {
        /// Nothing on its way in.
        case idle
        /// The entry is being checked and unpacked off the main loop.
        case preparing(entry: String)
        /// The release command runs; the deploy fails if it still runs at `deadline`.
        case releasePhase(UnpackedRelease, deadline: ContinuousClock.Instant)
        /// The release's processes run. It takes over once every process named in `web` accepts connections (those
        /// in `up` do), or fails at `deadline`.
        case booting(UnpackedRelease, web: [String], up: Set<String>, deadline: ContinuousClock.Instant)
        /// The watcher is stopping: nothing more is deployed.
        case stopped
    }

    /// What happened, as the watcher saw it.
    public enum Event: Equatable, Sendable {
        /// At start-up: the release a previous watcher left current, whose files are still there.
        case restored(UnpackedRelease)
        /// A spool scan found these claimed entries of the app (none current or already on its way in).
        case claimed([ReleaseSelection.Candidate])
        /// The entry being prepared was checked and unpacked.
        case unpacked(UnpackedRelease)
        /// The entry being prepared cannot run (its slug failed a check, or another stack built it).
        case refused(entry: String, reason: String)
        /// The release command could not be started.
        case releasePhaseDidNotStart(reason: String)
        /// The release command exited by itself.
        case releasePhaseExited(ExitStatus)
        /// A `web` process of the booting release accepts connections.
        case webUp(dyno: String)
        /// A process of the booting release exited by itself.
        case dynoExited(dyno: String, ExitStatus)
        /// The engine gave up on the booting release's web dynos (a swarm rolled them back): why.
        case bootFailed(reason: String)
        /// A pass of the loop: deadlines are checked.
        case tick
        /// The watcher stops (SIGTERM): what the deploy started is stopped and nothing more is deployed.
        case shutdown
    }

    /// What the watcher is to do.
    public enum Effect: Equatable, Sendable {
        /// Drop a claimed entry whose version is not above the one running (`runningVersion`): a runner never goes
        /// backwards.
        case skip(ReleaseSelection.Candidate, runningVersion: Int)
        /// Check and unpack the entry off the main loop; `.unpacked` or `.refused` follows.
        case prepare(ReleaseSelection.Candidate)
        /// Move an entry that cannot run into `spool/rejected/` and report why.
        case reject(entry: String, reason: String)
        /// Report that the deploy of the release begins.
        case announce(UnpackedRelease)
        /// Start the release command; `.releasePhaseExited` (or `.releasePhaseDidNotStart`) follows.
        case runReleasePhase(UnpackedRelease, command: String)
        /// Report that the release command succeeded.
        case releasePhaseSucceeded
        /// Start these processes of the release; `.webUp` follows for each `web` one that accepts connections.
        case boot(UnpackedRelease, [DynoPlan])
        /// The release is up: record it as current, stop the processes of `from` and retire it.
        case switchOver(to: UnpackedRelease, from: UnpackedRelease?)
        /// A process of the booting release that is not `web` exited: restart it with backoff, as any crash (the
        /// deploy goes on without waiting for it).
        case crashed(dyno: String)
        /// The deploy failed: stop what it started, move its entry to `spool/failed/`, report why. `keeping`, the
        /// previous release, runs on untouched.
        case fail(UnpackedRelease, Failure, keeping: UnpackedRelease?)
        /// Stop what the deploy started, without a report (the watcher is stopping).
        case stopDeployment
    }

    /// Why a deploy failed.
    public enum Failure: Equatable, Sendable {
        /// Spawning the release command failed.
        case releaseCommandDidNotStart(String)
        /// The release command exited with this status.
        case releaseCommandFailed(ExitStatus)
        /// The release command ran past the release timeout.
        case releaseCommandTimedOut
        /// The formation wants `web`, but the release declares no `web` process type.
        case noWebProcessType
        /// A `web` process exited before the release took over.
        case webExited(dyno: String, ExitStatus)
        /// These `web` processes did not accept connections within the boot timeout.
        case webNotListening([String])
        /// The engine gave up on the web dynos, for this reason.
        case webFailed(String)
    }

    /// One process slot of a booting release: `web.2` runs the release's `web` command.
    public struct DynoPlan: Equatable, Sendable {
        public var type: String
        public var index: Int
        public var command: String

        public init(type: String, index: Int, command: String) {
            self.type = type
            self.index = index
            self.command = command
        }

        /// `web.2`.
        public var name: String { "\(type).\(index)" }
    }

    public private(set) var state = State.idle
    /// The release that serves (nil until the first deploy succeeds).
    public private(set) var current: UnpackedRelease?
    /// How many processes of each type a release boots; the watcher keeps it in step with `slugrunner scale`.
    public var formation: Formation
    /// How long the release command may run.
    public let releaseTimeout: Duration
    /// How long every `web` process of a new release has to accept connections.
    public let bootTimeout: Duration

    public init(formation: Formation, releaseTimeout: Duration, bootTimeout: Duration) {
        self.formation = formation
        self.releaseTimeout = releaseTimeout
        self.bootTimeout = bootTimeout
    }

    /// Whether a release is on its way in (or the watcher stops), so the next one waits.
    public var isBusy: Bool { state != .idle }

    /// The release being deployed, from its release phase until it takes over or fails.
    public var deploying: UnpackedRelease? {
        switch state {
        case .releasePhase(let release, _), .booting(let release, _, _, _): release
        case .idle, .preparing, .stopped: nil
        }
    }

    /// The spool entries the app holds: the current one and the one on its way in.
    public var entries: [String] {
        var entries = [current?.entry, deploying?.entry].compactMap { $0 }
        if case .preparing(let entry) = state { entries.append(entry) }
        return entries
    }

    /// Takes in what happened at `now` and answers what to do, in order.
    public mutating func handle(_ event: Event, at now: ContinuousClock.Instant) -> [Effect] {
        switch (event, state) {
        case (_, .stopped):
            return []
        case (.shutdown, _):
            let started = deploying != nil
            state = .stopped
            return started ? [.stopDeployment] : []
        case (.restored(let release), .idle):
            current = release
            return []
        case (.claimed(let candidates), .idle):
            let selection = ReleaseSelection(candidates: candidates, currentVersion: current?.version ?? 0)
            var effects = selection.skip.map { Effect.skip($0, runningVersion: current?.version ?? 0) }
            if let chosen = selection.deploy {
                state = .preparing(entry: chosen.entry)
                effects.append(.prepare(chosen))
            }
            return effects
        case (.unpacked(let release), .preparing(let entry)) where release.entry == entry:
            guard let command = release.manifest.processTypes[ProcessType.release] else {
                return [.announce(release)] + boot(release, at: now)
            }
            state = .releasePhase(release, deadline: now + releaseTimeout)
            return [.announce(release), .runReleasePhase(release, command: command)]
        case (.refused(let entry, let reason), .preparing(let preparing)) where entry == preparing:
            state = .idle
            return [.reject(entry: entry, reason: reason)]
        case (.releasePhaseDidNotStart(let reason), .releasePhase(let release, _)):
            return fail(release, .releaseCommandDidNotStart(reason))
        case (.releasePhaseExited(let status), .releasePhase(let release, _)):
            guard status.succeeded else { return fail(release, .releaseCommandFailed(status)) }
            return [.releasePhaseSucceeded] + boot(release, at: now)
        case (.tick, .releasePhase(let release, let deadline)) where now >= deadline:
            return fail(release, .releaseCommandTimedOut)
        case (.webUp(let dyno), .booting(let release, let web, var up, let deadline)) where web.contains(dyno):
            up.insert(dyno)
            state = .booting(release, web: web, up: up, deadline: deadline)
            return up.count == web.count ? switchOver(to: release) : []
        case (.dynoExited(let dyno, let status), .booting(let release, let web, _, _)):
            return web.contains(dyno) ? fail(release, .webExited(dyno: dyno, status)) : [.crashed(dyno: dyno)]
        case (.bootFailed(let reason), .booting(let release, _, _, _)):
            return fail(release, .webFailed(reason))
        case (.tick, .booting(let release, let web, let up, let deadline)) where now >= deadline:
            return fail(release, .webNotListening(web.filter { !up.contains($0) }))
        default:
            // A result for an entry no longer awaited, a late process, or a deadline not reached yet.
            return []
        }
    }

    /// Starts the release's processes as the formation says; the release takes over once every `web` is up, at
    /// once if it has none.
    private mutating func boot(_ release: UnpackedRelease, at now: ContinuousClock.Instant) -> [Effect] {
        let declared = release.manifest.processTypes
        if formation.count(of: ProcessType.web) > 0 && declared[ProcessType.web] == nil {
            return fail(release, .noWebProcessType)
        }
        var plans: [DynoPlan] = []
        for (type, command) in declared.sorted(by: { $0.key < $1.key })
        where type != ProcessType.release && ProcessType.isValid(type) {
            let count = formation.count(of: type)
            guard count > 0 else { continue }
            plans += (1...count).map { DynoPlan(type: type, index: $0, command: command) }
        }
        let web = plans.filter { $0.type == ProcessType.web }.map(\.name)
        state = .booting(release, web: web, up: [], deadline: now + bootTimeout)
        return [.boot(release, plans)] + (web.isEmpty ? switchOver(to: release) : [])
    }

    private mutating func switchOver(to release: UnpackedRelease) -> [Effect] {
        let previous = current
        current = release
        state = .idle
        return [.switchOver(to: release, from: previous)]
    }

    private mutating func fail(_ release: UnpackedRelease, _ failure: Failure) -> [Effect] {
        state = .idle
        return [.fail(release, failure, keeping: current)]
    }
}
