public import Foundation
public import SlipwaySpool

/// How the runner reaches a swarm (`slugrunner watch --engine swarm`).
public struct SwarmSettings: Sendable {
    /// The Engine API of a manager node (`unix:///var/run/docker.sock`).
    public var dockerHost: String
    /// The stack the swarm's image provides; releases built for another are refused.
    public var stack: String
    /// How long the slug URLs given to tasks stay valid; services are given new ones before half of it has passed.
    public var urlLifetime: Duration = .seconds(7 * 86_400)

    public init(dockerHost: String, stack: String = ReleaseManifest.defaultStack) {
        self.dockerHost = dockerHost
        self.stack = stack
    }

    /// `slipway/stack:slipway-1`: the image `stack/build` makes and loads on each node.
    public var imageReference: String { Self.imageReference(stack: stack) }

    public static func imageReference(stack: String) -> String { "slipway/stack:\(stack)" }

    /// The label of the stack image that names its stack.
    public static let stackLabel = "io.slipway.stack"
    /// The label of the stack image that says what its tasks can be asked for: from 2, a task may run as any uid
    /// (`/app` mode 1777), `slug-run` sets no-new-privileges on itself, and no program is setuid or setgid.
    public static let stackVersionLabel = "io.slipway.stack-version"
    /// The version this runner needs.
    public static let stackVersion = 2
}

/// A node of the swarm, as `ps` and the router need it.
public struct SwarmNode: Equatable, Sendable {
    public var id: String
    public var hostname: String
    /// The address other nodes (and the router) reach it at.
    public var address: String

    public init?(_ json: JSONValue) {
        guard let id = json["ID"]?.string else { return nil }
        self.id = id
        hostname = json["Description"]?["Hostname"]?.string ?? id
        address = json["Status"]?["Addr"]?.string ?? ""
    }
}

/// A service of an app, as the runner reads it back.
public struct SwarmService: Sendable {
    public var id: String
    public var name: String
    /// The object version, which an update must name.
    public var version: Int
    public var labels: [String: String]
    public var spec: JSONValue
    /// `updating`, `paused`, `completed`, `rollback_started`, `rollback_paused`, `rollback_completed`; nil before the
    /// first update.
    public var updateState: String?
    public var updateMessage: String?
    /// Whether Swarm keeps what the service ran before its last update (what a rollback goes back to).
    public var hasPreviousSpec: Bool

    public init?(_ json: JSONValue) {
        guard let id = json["ID"]?.string, let spec = json["Spec"], let name = spec["Name"]?.string else { return nil }
        self.id = id
        self.name = name
        self.spec = spec
        version = json["Version"]?["Index"]?.int ?? 0
        labels = Self.strings(spec["Labels"])
        updateState = json["UpdateStatus"]?["State"]?.string
        updateMessage = json["UpdateStatus"]?["Message"]?.string
        hasPreviousSpec = (json["PreviousSpec"] ?? .null) != .null
    }

    public var app: String? { labels[ServicePlan.appLabel] }
    public var type: String? { labels[ServicePlan.typeLabel] }

    /// The command its tasks run (`SLUG_COMMAND`, as the runner wrote it before escaping it for Swarm's templates).
    public var command: String {
        let variable = spec["TaskTemplate"]?["ContainerSpec"]?["Env"]?.array?.compactMap(\.string)
            .first { $0.hasPrefix("SLUG_COMMAND=") }
        return ServicePlan.text(ofLiteral: String(variable?.dropFirst("SLUG_COMMAND=".count) ?? ""))
    }

    public static func strings(_ json: JSONValue?) -> [String: String] {
        guard case .object(let members)? = json else { return [:] }
        return members.compactMapValues(\.string)
    }
}

/// A task: one dyno's container on a node, or its attempt.
public struct SwarmTask: Sendable {
    public var id: String
    public var serviceID: String
    public var nodeID: String
    /// The dyno's number (`web.2` is slot 2).
    public var slot: Int
    /// `new` … `running`, `complete`, `failed`, `shutdown`, `rejected`, `orphaned`, `remove`.
    public var state: String
    /// What Swarm wants of it: `running`, `shutdown`, `complete`.
    public var desiredState: String
    public var message: String
    public var error: String?
    public var exitCode: Int?
    /// The port its node publishes for the dyno's `PORT`.
    public var publishedPort: Int?
    /// When it last changed state.
    public var since: Date?
    /// The labels of its container: the release and process type it runs.
    public var labels: [String: String]

    public init?(_ json: JSONValue) {
        guard let id = json["ID"]?.string, let service = json["ServiceID"]?.string else { return nil }
        self.id = id
        serviceID = service
        nodeID = json["NodeID"]?.string ?? ""
        slot = json["Slot"]?.int ?? 1
        let status = json["Status"]
        state = status?["State"]?.string ?? "new"
        desiredState = json["DesiredState"]?.string ?? ""
        message = status?["Message"]?.string ?? ""
        error = status?["Err"]?.string
        exitCode = status?["ContainerStatus"]?["ExitCode"]?.int
        publishedPort = status?["PortStatus"]?["Ports"]?.array?.first?["PublishedPort"]?.int
        since = status?["Timestamp"]?.string.flatMap(Self.date)
        labels = SwarmService.strings(json["Spec"]?["ContainerSpec"]?["Labels"])
    }

    public var type: String { labels[ServicePlan.typeLabel] ?? "" }
    public var entry: String { labels[ServicePlan.entryLabel] ?? "" }
    public var release: Int { Int(labels[ServicePlan.releaseLabel] ?? "") ?? 0 }
    /// `web.2`.
    public var dyno: String { type == "release" ? "release.1" : "\(type).\(slot)" }
    public var isRunning: Bool { state == "running" && desiredState == "running" }
    /// It ended in failure, or no node could run it.
    public var hasFailed: Bool { state == "failed" || state == "rejected" }

    /// Orders tasks by when they last changed state, oldest first.
    public static func earlier(_ a: SwarmTask, _ b: SwarmTask) -> Bool {
        (a.since ?? .distantPast) < (b.since ?? .distantPast)
    }

    /// Docker's RFC 3339 times, with their nanoseconds (read to the microsecond).
    public static func date(_ text: String) -> Date? { try? Date(text, strategy: .iso8601) }
}
