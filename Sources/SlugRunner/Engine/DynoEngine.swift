import SlipwayRouting
import SlipwaySpool

/// Where an app's dynos run: processes on this machine (``LocalEngine``, the default) or tasks on a Docker Swarm
/// (``SwarmEngine``, `--engine swarm`). Each engine holds its dynos.
///
/// The deploy is the watcher's, written once for both: claiming and checking releases, the ``DeployMachine``'s order
/// (release phase, boot, switch-over, failure keeping the previous release), crash-loop reports, the routes and
/// `state.json`. An engine only starts, stops, lists and checks dynos, and tells the deploy what became of them:
/// as events from ``progress(of:)``, or through ``Watcher/handle(_:app:)`` when it learns of them (a process
/// reaped, a health check passed).
///
/// The watcher stays the single loop: each pass it hands the engine what it learnt (``collect()``), asks it for the
/// deploy's progress and has it reconcile each app; once per spool scan, ``scan(_:)``.
protocol DynoEngine: AnyObject {
    /// Starts the release command of `release`; `.releasePhaseExited` (or `.releasePhaseDidNotStart`) follows.
    func runReleasePhase(_ release: UnpackedRelease, command: String, app: AppRuntime)
    /// Starts the dynos `plans` of `release` beside the current release's.
    func boot(_ release: UnpackedRelease, _ plans: [DeployMachine.DynoPlan], app: AppRuntime)
    /// What became of the deploy's dynos since the last pass: web dynos up, or a failure.
    func progress(of app: AppRuntime) -> [DeployMachine.Event]
    /// The release took over (it is current now): the previous release's dynos stop, after the router left them.
    func takeOver(_ app: AppRuntime)
    /// The deploy failed, or the watcher stops: what it started stops; the current release runs on untouched.
    func abandon(_ app: AppRuntime)
    /// A dyno of the booting release that is not `web` exited: it restarts with backoff, as any crash.
    func crashed(_ dyno: String, app: AppRuntime)
    /// The engine's words for a failure of the deploy's dynos (a boot timeout, a web dyno that exited), for the log
    /// and `ps`; nil for the others, which the watcher words.
    func describe(_ failure: DeployMachine.Failure, app: AppRuntime) -> String?
    /// Between deploys, every pass: the current release's dynos as the formation says.
    func reconcile(_ app: AppRuntime)
    /// Restarts the current release's dynos of `type` (`ps:restart`, a new memory size).
    func restart(type: String, app: AppRuntime, reason: String)
    /// Every pass, before the deploys advance: what the engine learnt off the loop (the local health checks).
    func collect()
    /// Once per spool scan: what the engine reads now and then (memory samples; the swarm's tasks and logs).
    func scan(_ apps: [AppRuntime])
    /// The app's dynos, for `state.json` (`slugrunner ps` and the door's `ps`).
    func processes(of app: AppRuntime) -> [AppStatus.Process]
    /// Where the router sends the app's requests now.
    func upstreams(of app: AppRuntime) -> [RouteTable.Upstream]
    /// The watcher stops (SIGTERM).
    func shutDown(_ app: AppRuntime)
    /// The watcher's loop ended: what the engine runs off the loop stops.
    func finish()
}
