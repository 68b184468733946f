public import SlipwayDrains
public import SlipwayDynos
public import SlipwayLogs
import SlipwaySpool
public import SlipwaySwarm
public import SlipwaySystem

/// How `slugrunner watch` runs releases. Every value has a command-line flag; the defaults are Heroku's where it has
/// one.
public struct WatchSettings: Sendable {
    /// Where ports are chosen and `web` is checked (`--host`).
    public var address: ListenAddress = .loopback
    /// Between SIGTERM and SIGKILL when stopping a process group (`--grace`; Heroku: 30 s).
    public var grace: Duration = .seconds(30)
    /// How long every `web` process of a new release has to accept connections (`--boot-timeout`; Heroku: 60 s).
    public var bootTimeout: Duration = .seconds(60)
    /// How long the release phase may run (`--release-timeout`; Heroku: 1 hour).
    public var releaseTimeout: Duration = .seconds(3600)
    /// How often the spool and the formations are looked at (`--interval`).
    public var pollInterval: Duration = .seconds(1)
    /// The router in front of the web dynos (`--router`, `--router-admin`, `--base-domain`); nil: none
    /// (`--router none`).
    public var router: RouterSettings?
    /// How often a serving web dyno's health check runs, for apps that have one (`--health-interval`).
    public var healthInterval: Duration = .seconds(10)
    /// When crashed processes start again (`--restart-delay`, `--max-restart-delay`).
    public var restart = RestartPolicy()
    /// The stacks this machine provides (`--stack`).
    public var stacks: [String] = [ReleaseUnpacker.defaultStack]
    /// The size past which an app's log is rotated (`--log-max-bytes`).
    public var logMaxBytes: Int64 = 10 * 1024 * 1024
    /// How many lines each dyno may log (`--log-rate`): past it, lines are dropped and counted (L11).
    public var logRate = LogRate.standard
    /// The most dynos one app's formation may have, all process types together (`--max-dynos-per-app`): a larger
    /// `ps:scale` is refused.
    public var maxDynosPerApp = 20
    /// The most detached one-off dynos (`run --detach`) one app may have at once (`--max-detached-runs`).
    public var maxDetachedRuns = 5
    /// How long a one-off dyno may run before the runner stops it (`--one-off-lifetime`; Heroku: 24 hours).
    public var oneOffLifetime: Duration = .seconds(24 * 3600)
    /// Releases come from this bucket (`--spool s3://…`) instead of the root's spool folder, which then only holds
    /// the entries this runner claimed.
    public var bucket: BucketSource?
    /// The file holding the door's key (`--release-key`, what `receive-pack release-key` prints); nil: the door's
    /// own key in the root. Only releases the door signed run; their config vars open with it.
    public var releaseKey: String?
    /// How dynos are confined (`--sandbox`): `auto` and `bubblewrap` need a working bubblewrap and refuse to start
    /// dynos without one; `none` runs them without the filesystem and namespace sandbox (their own user, copy and
    /// limits still apply).
    public var sandbox: SandboxMode = .auto
    /// Whether each dyno gets a network of its own (`--dyno-network`): `auto` where the runner can (root, with `ip`,
    /// `nsenter` and `nft`), `private` or fail, `host` to share the host's.
    public var dynoNetwork: DynoNetworkMode = .auto
    /// Whether each dyno gets a disk of its own for `/app` and `/tmp` (`--dyno-disk`): `auto` where the runner can
    /// (root, loop devices, `mkfs.ext4`), `bounded` or fail, `unbounded` to write to the host's disk.
    public var dynoDisk: DynoDiskMode = .auto
    /// The host's free space in MB that dynos may not take (`--disk-reserve`).
    public var diskReserveMB = DynoSettings.defaultDiskReserveMB
    /// Whether the apps' figures are kept (`--metrics off` turns them, the endpoint and autoscaling off).
    public var metrics = true
    /// Where the Prometheus endpoint listens (`--metrics <address:port>`); nil: none.
    public var metricsAddress: (host: String, port: Int)?
    /// The seconds autoscaling looks at and waits after each step (`--autoscale-window`).
    public var autoscaleWindow: Double = 60
    /// Every drain's buffer and the CA bundle TLS drains may chain to (`--drain-buffer`, `--drain-ca`).
    public var drains = DrainSettings()
    /// Drains every app's log goes to, besides each app's own (`--drain`, repeatable).
    public var operatorDrains: [String] = []
    /// Run the dynos as services of a Docker Swarm (`--engine swarm --docker-host …`) instead of processes here.
    public var swarm: SwarmSettings?

    /// `auto`, `bubblewrap` or `none`.
    public typealias SandboxMode = Sandbox.Mode

    public init() {}
}
