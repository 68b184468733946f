public import Foundation

/// What runs for one app, as the runner writes it to `<root>/runner/apps/<app>/state.json`: the release that serves,
/// each dyno's state, and the last deploy. `slugrunner ps` (where it is called `AppStatus`) and the door's `ps` read
/// it. JSON keys are snake_case; fields added later are optional, so an older file still reads.
public struct RunnerState: Codable, Equatable, Sendable {
    /// The release that serves.
    public struct Release: Codable, Equatable, Sendable {
        public var version: Int
        /// The spool entry it came from.
        public var entry: String
        public var description: String?
        public var createdAt: String

        public init(version: Int, entry: String, description: String?, createdAt: String) {
            self.version = version
            self.entry = entry
            self.description = description
            self.createdAt = createdAt
        }

        enum CodingKeys: String, CodingKey {
            case version, entry, description
            case createdAt = "created_at"
        }
    }

    /// One process (a dyno).
    public struct Process: Codable, Equatable, Sendable {
        /// `web.1`.
        public var dyno: String
        /// `web`.
        public var type: String
        /// `starting`, `up`, `crashed` (waiting to restart) or `stopping`.
        public var state: String
        /// `PORT` of the process.
        public var port: Int
        /// The process's pid, which is also its process group id; nil while it waits to restart.
        public var pid: Int32?
        /// The release it runs.
        public var release: Int
        /// When it started (ISO 8601, UTC).
        public var startedAt: String?
        /// Seconds since it started; filled in by `slugrunner ps`.
        public var uptime: Int?
        /// How many times it was restarted after a crash.
        public var restarts: Int
        /// Whether it keeps crashing soon after starting.
        public var crashLoop: Bool
        /// The command it runs.
        public var command: String
        /// The process's start time in clock ticks since boot (`/proc/<pid>/stat`), so that a later watcher can tell
        /// it from another process that reused the pid.
        public var startTicks: UInt64?
        /// The memory the dyno uses now, in bytes (its memory controller's count), when the runner measures it.
        public var memoryBytes: Int?
        /// The machine it runs on, when the runner spreads dynos over several (a Swarm node's host name).
        public var node: String?
        /// Its own address, when it has a network of its own (the runner's `--dyno-network`): where it listens on
        /// `port`. Nil: the state's `host`.
        public var address: String?

        public init(
            dyno: String, type: String, state: String, port: Int, pid: Int32?, release: Int, startedAt: String?,
            uptime: Int?, restarts: Int, crashLoop: Bool, command: String, startTicks: UInt64?,
            memoryBytes: Int? = nil, node: String? = nil, address: String? = nil
        ) {
            self.address = address
            self.dyno = dyno
            self.type = type
            self.state = state
            self.port = port
            self.pid = pid
            self.release = release
            self.startedAt = startedAt
            self.uptime = uptime
            self.restarts = restarts
            self.crashLoop = crashLoop
            self.command = command
            self.startTicks = startTicks
            self.memoryBytes = memoryBytes
            self.node = node
        }

        enum CodingKeys: String, CodingKey {
            case dyno, type, state, port, pid, release, uptime, restarts, command, node, address
            case startedAt = "started_at"
            case crashLoop = "crash_loop"
            case startTicks = "start_ticks"
            case memoryBytes = "memory_bytes"
        }
    }

    /// The last deploy the runner attempted.
    public struct Deploy: Codable, Equatable, Sendable {
        public var version: Int
        public var entry: String
        /// `deploying`, `succeeded`, `failed` or `rejected`.
        public var status: String
        /// Why it failed, or what it replaced.
        public var message: String
        /// When the status was set (ISO 8601, UTC).
        public var at: String

        public init(version: Int, entry: String, status: String, message: String, at: String) {
            self.version = version
            self.entry = entry
            self.status = status
            self.message = message
            self.at = at
        }
    }

    /// The router's certificate for one of the app's host names (`certs`).
    public struct Certificate: Codable, Equatable, Sendable {
        public var host: String
        /// `issued` (from the ACME CA), `installed` (the app's own, `certs:add`, or the operator's wildcard),
        /// `pending` (ordered, not there yet), `failing` (the CA refused; ``reason`` says why), `none` (no
        /// certificate: automatic certificates are off, or the name cannot have one, such as `*.localhost`).
        public var state: String
        public var issuer: String?
        /// When it expires (ISO 8601, UTC).
        public var expires: String?
        /// Why the last order failed.
        public var reason: String?

        public init(host: String, state: String, issuer: String? = nil, expires: String? = nil, reason: String? = nil) {
            self.host = host
            self.state = state
            self.issuer = issuer
            self.expires = expires
            self.reason = reason
        }
    }

    /// What the runner lets one app have (`slugrunner watch --max-dynos-per-app`, `--max-detached-runs`), so that
    /// the door can refuse at once what the runner would refuse.
    public struct Limits: Codable, Equatable, Sendable {
        /// The most dynos of the formation, all process types together.
        public var maxDynos: Int
        /// The most detached one-off dynos (`run --detach`) at once.
        public var maxDetachedRuns: Int

        public init(maxDynos: Int, maxDetachedRuns: Int) {
            self.maxDynos = maxDynos
            self.maxDetachedRuns = maxDetachedRuns
        }

        enum CodingKeys: String, CodingKey {
            case maxDynos = "max_dynos"
            case maxDetachedRuns = "max_detached_runs"
        }
    }

    public var app: String
    /// Whether a watcher runs for the root; filled in by `slugrunner ps`.
    public var watcher: Bool?
    /// The watcher's pid when it wrote the file.
    public var watcherPid: Int32
    /// When the file was written.
    public var updatedAt: String
    /// The address the processes' ports are on (the watcher's `--host`).
    public var host: String?
    public var release: Release?
    /// Process type → count.
    public var formation: [String: Int]
    public var processes: [Process]
    public var lastDeploy: Deploy?
    /// The router's base domain (`slugrunner watch --base-domain`): the app answers at `<app>.<baseDomain>`. Nil
    /// when the runner routes nothing.
    public var baseDomain: String?
    /// What the runner lets the app have; nil from a runner that sets no limits.
    public var limits: Limits?
    /// Why the runner keeps a formation other than the one `dynos.json` asks for (past ``Limits/maxDynos``), for
    /// `ps`; nil when it runs what was asked.
    public var formationRefused: String?
    /// The certificates of the app's host names, when the router serves HTTPS; nil otherwise.
    public var certificates: [Certificate]?

    public init(
        app: String, watcher: Bool?, watcherPid: Int32, updatedAt: String, host: String?, release: Release?,
        formation: [String: Int], processes: [Process], lastDeploy: Deploy?, baseDomain: String? = nil,
        limits: Limits? = nil, formationRefused: String? = nil, certificates: [Certificate]? = nil
    ) {
        self.certificates = certificates
        self.limits = limits
        self.formationRefused = formationRefused
        self.app = app
        self.watcher = watcher
        self.watcherPid = watcherPid
        self.updatedAt = updatedAt
        self.host = host
        self.release = release
        self.formation = formation
        self.processes = processes
        self.lastDeploy = lastDeploy
        self.baseDomain = baseDomain
    }

    enum CodingKeys: String, CodingKey {
        case app, watcher, release, formation, processes, host
        case watcherPid = "watcher_pid"
        case updatedAt = "updated_at"
        case lastDeploy = "last_deploy"
        case baseDomain = "base_domain"
        case limits
        case formationRefused = "formation_refused"
        case certificates
    }

    /// Parses a state file's bytes; nil when they are not one.
    public static func decode(_ data: Data) -> RunnerState? {
        try? JSONDecoder().decode(RunnerState.self, from: data)
    }

    /// An ISO 8601 UTC time with seconds: `2026-01-02T03:04:05Z`.
    public static func isoTime(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// Parses ``isoTime(_:)``.
    public static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
