import Foundation
import SlipwaySpool

/// What one Swarm service of an app runs: a process type of a release (or its release command, as a one-off job),
/// as a plain value that ``spec`` turns into the Engine API's `ServiceSpec`.
///
/// Each task of the service runs the stack image, whose entrypoint (`slug-run`, from `stack/`) fetches the slug by
/// `slugURL`, checks its SHA-256, unpacks it into `/app` and runs `command` with `.profile.d` sourced.
public struct ServicePlan: Equatable, Sendable {
    public var app: String
    /// `web`, `worker`, or `release` for the release command's job.
    public var type: String
    public var release: Int
    /// The spool entry of the release (a label, so that the runner sees what a service runs).
    public var entry: String
    public var command: String
    public var configVars: [String: String]
    /// A presigned URL of the slug in the bucket, and the SHA-256 the task checks the download against.
    public var slugURL: String
    public var slugSHA256: String
    /// The stack image, by ID (`sha256:…`): a tag would make every task look for it on a registry first.
    public var image: String
    public var replicas: Int
    public var memoryMB: Int
    /// The path a web dyno must answer 2xx or 3xx at (`apps:set healthcheck=`); nil: accepting connections is enough.
    public var healthcheck: String?
    /// SIGTERM, then SIGKILL after this long.
    public var grace: Duration
    /// How long a new web task may take to pass its health check.
    public var bootTimeout: Duration
    /// Raised by `ps:restart`: a new value replaces every task (Swarm's `ForceUpdate`).
    public var restarts: Int
    /// How long a stopping web dyno keeps serving before its app gets SIGTERM: the runner learns of a stopping task
    /// by polling, and takes it out of the router's table meanwhile.
    public var drain: Duration
    /// The app's own user and group id (``AppUsers``, the same number the local engine gives the app): every task of
    /// the app runs as it, never as root nor as another app's user.
    public var uid: UInt32
    /// The app's own network (``networkName(app:)``), which every task of the app joins, and no other app's.
    public var network: String { Self.networkName(app: app) }

    public init(
        app: String, type: String, release: Int, entry: String, command: String, configVars: [String: String],
        slugURL: String, slugSHA256: String, image: String, replicas: Int, memoryMB: Int, healthcheck: String?,
        grace: Duration, bootTimeout: Duration, restarts: Int, uid: UInt32, drain: Duration = .seconds(5)
    ) {
        self.app = app
        self.type = type
        self.release = release
        self.entry = entry
        self.command = command
        self.configVars = configVars
        self.slugURL = slugURL
        self.slugSHA256 = slugSHA256
        self.image = image
        self.replicas = replicas
        self.memoryMB = memoryMB
        self.healthcheck = healthcheck
        self.grace = grace
        self.bootTimeout = bootTimeout
        self.restarts = restarts
        self.drain = drain
        self.uid = uid
    }

    /// The port every dyno listens on inside its container; the node publishes it on a port of its own choosing.
    public static let containerPort = 5000

    /// `myapp-web-c9fba124`: the service's name.
    public var serviceName: String { Self.serviceName(app: app, type: type) }

    /// The service's name: the app, its process type as Docker allows in a name (lowercase letters, digits and
    /// dashes), and 8 hex digits of a hash of both, so that no other app can form it (`my` with type `app-web` and
    /// `my-app` with `web` would both be `my-app-web`). At most 63 characters, Docker's limit. The runner finds its
    /// services by their labels (``key``), never by this name.
    public static func serviceName(app: String, type: String) -> String {
        var hash: UInt32 = 0x811c_9dc5
        for byte in Array(app.utf8) + [0] + Array(type.utf8) { hash = (hash ^ UInt32(byte)) &* 0x0100_0193 }
        let readable = String(
            type.lowercased().unicodeScalars.map { scalar in
                ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "-"
            }
        ).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        let room = max(0, 63 - app.utf8.count - 10)
        let part = String(readable.prefix(room)).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        let digits = String(hash, radix: 16)
        return [app, part, String(repeating: "0", count: 8 - digits.count) + digits].filter { !$0.isEmpty }
            .joined(separator: "-")
    }

    /// The app and process type, as the runner finds a service: from its labels.
    public var key: String { Self.key(app: app, type: type) }

    /// `myapp/web`: unambiguous, since app names have no `/`.
    public static func key(app: String, type: String) -> String { "\(app)/\(type)" }

    /// `slipway-myapp`: the overlay network of the app's tasks.
    public static func networkName(app: String) -> String { "slipway-\(app)" }

    /// The CPU a task may use, in billionths of a CPU: one CPU per 512 MB of its size, a quarter at the least.
    public static func nanoCPUs(memoryMB: Int) -> Int { max(250_000_000, memoryMB * 1_000_000_000 / 512) }

    /// The labels every service and task of the app carries: how the runner finds them again.
    public static let appLabel = "io.slipway.app"
    public static let typeLabel = "io.slipway.type"
    public static let releaseLabel = "io.slipway.release"
    public static let entryLabel = "io.slipway.entry"

    public var isWeb: Bool { type == ProcessType.web }
    public var isReleasePhase: Bool { type == ProcessType.release }

    /// The environment of each task: the config vars (but those the platform sets), then `PORT`, `DYNO` and what
    /// `slug-run` needs.
    public var environment: [String] {
        let platform: Set = [
            "PORT", "DYNO", "SLUG_URL", "SLUG_SHA256", "SLUG_COMMAND", "SLIPWAY_HEALTHCHECK", "SLIPWAY_DRAIN",
        ]
        var lines = configVars.filter { !platform.contains($0.key) }.sorted { $0.key < $1.key }
            .map { "\($0.key)=\(Self.literal($0.value))" }
        // Swarm expands Go templates in the environment: `{{.Task.Slot}}` is the dyno's number.
        lines += [
            "PORT=\(Self.containerPort)", isReleasePhase ? "DYNO=release.1" : "DYNO=\(type).{{.Task.Slot}}",
            "SLUG_URL=\(Self.literal(slugURL))", "SLUG_SHA256=\(slugSHA256)", "SLUG_COMMAND=\(Self.literal(command))",
        ]
        if let healthcheck, isWeb { lines.append("SLIPWAY_HEALTHCHECK=\(Self.literal(healthcheck))") }
        if isWeb { lines.append("SLIPWAY_DRAIN=\(max(1, drain.components.seconds))") }
        return lines
    }

    /// `text` as literal text of a Go template: only `{{` starts an action, so it is written as one that prints it.
    public static func literal(_ text: String) -> String {
        text.replacingOccurrences(of: "{{", with: Self.openingAction)
    }

    /// `text` again, from ``literal(_:)``.
    public static func text(ofLiteral literal: String) -> String {
        literal.replacingOccurrences(of: Self.openingAction, with: "{{")
    }

    private static let openingAction = "{{\"{{\"}}"

    /// The `ServiceSpec` to create or update the service with.
    public var spec: JSONValue {
        var container: [String: JSONValue] = [
            "Image": .string(image),
            "Env": .array(environment.map { .string($0) }),
            "Labels": labels,
            "Init": true,
            "StopSignal": "SIGTERM",
            "StopGracePeriod": .nanoseconds(isWeb ? grace + drain : grace),
            "Ulimits": [["Name": "nofile", "Soft": 10000, "Hard": 10000], ["Name": "core", "Soft": 0, "Hard": 0]],
        ]
        for (key, value) in confinement { container[key] = value }
        if isWeb {
            container["Healthcheck"] = [
                "Test": ["CMD", "/usr/local/bin/slug-run", "--health"],
                "Interval": .nanoseconds(.seconds(1)), "Timeout": .nanoseconds(.seconds(3)), "Retries": 3,
                "StartPeriod": .nanoseconds(bootTimeout),
            ]
        }
        var spec: [String: JSONValue] = [
            "Name": .string(serviceName),
            "Labels": labels,
            "TaskTemplate": [
                "ContainerSpec": .object(container),
                "Resources": [
                    "Limits": [
                        "MemoryBytes": .number(Double(memoryMB) * 1_048_576),
                        "Pids": .number(Double(ProcessType.processLimit(memoryMB: memoryMB))),
                        // Swarm has no CPU shares: a cap by size instead (one CPU per 512 MB, as the local engine's
                        // shares are 1024 per 512 MB), so that no task takes every core of its node.
                        "NanoCPUs": .number(Double(Self.nanoCPUs(memoryMB: memoryMB))),
                    ]
                ],
                // What a task prints is kept by its node's Docker in files of bounded size (the runner reads it
                // from there into the app's log), so a task that prints without end cannot fill the node's disk.
                "LogDriver": ["Name": "json-file", "Options": ["max-size": "10m", "max-file": "2"]],
                "RestartPolicy": isReleasePhase
                    ? ["Condition": "none"] : ["Condition": "any", "Delay": .nanoseconds(.seconds(2))],
                "ForceUpdate": .number(Double(restarts)),
                // Only the app's own network: not Docker's default bridge, where any container of the node is
                // reached; the node's bridge for the outside (docker_gwbridge) lets no two tasks talk.
                "Networks": [["Target": .string(network)]],
            ],
        ]
        if isReleasePhase {
            spec["Mode"] = ["ReplicatedJob": ["MaxConcurrent": 1, "TotalCompletions": 1]]
            return .object(spec)
        }
        spec["Mode"] = ["Replicated": ["Replicas": .number(Double(replicas))]]
        // The new tasks start, pass their health check and run for `Monitor` before the old ones are stopped; a task
        // that fails in that time rolls the service back to what ran before. All of a service's new tasks start in
        // one batch: the scheduler then spreads them over the nodes, where one task at a time, placed while the old
        // ones still run, can end with every task on one node (and a drain of that node with no dyno up).
        spec["UpdateConfig"] = [
            "Parallelism": 0, "Order": "start-first", "FailureAction": "rollback",
            "Monitor": .nanoseconds(.seconds(3)), "MaxFailureRatio": 0,
        ]
        spec["RollbackConfig"] = [
            "Parallelism": 0, "Order": "start-first", "FailureAction": "pause", "Monitor": .nanoseconds(.seconds(3)),
        ]
        if isWeb {
            // Host mode: each task's port is published on its own node (the routing mesh needs IPVS); the node
            // picks a free port, which the router reads from the task.
            spec["EndpointSpec"] = [
                "Ports": [
                    ["Protocol": "tcp", "TargetPort": .number(Double(Self.containerPort)), "PublishMode": "host"]
                ]
            ]
        }
        return .object(spec)
    }

    /// What confines each task beyond its resources (docs/swarm.md): the app's own user and group, no capability
    /// (not even in the bounding set), no way to gain privileges (`NoNewPrivileges`, which Docker 20.10's API does not
    /// know yet: `slug-run` sets it itself before anything runs), and a read-only root file system with `/app` and
    /// `/tmp` on volumes of the task's own (made from the image's empty folders, mode 1777, and removed with it).
    public var confinement: [String: JSONValue] {
        [
            "User": .string("\(uid):\(uid)"),
            "CapabilityDrop": ["ALL"],
            "Privileges": ["NoNewPrivileges": true],
            "ReadOnly": true,
            "Mounts": .array(
                Self.writableFolders.map { ["Type": "volume", "Target": .string($0), "ReadOnly": false] }),
        ]
    }

    /// The folders a task may write to, each a volume of its own.
    public static let writableFolders = ["/app", "/tmp"]

    private var labels: JSONValue {
        [
            Self.appLabel: .string(app), Self.typeLabel: .string(type), Self.releaseLabel: .string("\(release)"),
            Self.entryLabel: .string(entry),
        ]
    }
}
