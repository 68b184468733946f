import Foundation
import SlipwayObjectStore
import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySwarm
import SlipwaySystem

/// The apps' Docker Swarm services, through the manager's Engine API: the swarm side of ``SwarmEngine``. Each process
/// type of an app is the service `<app>-<type>`, its formation count the replicas, and the release command a one-off
/// job. Swarm places the tasks on its nodes, restarts them, and rolls a service to a new release one task at a time,
/// each new task passing its health check before an old one stops (`start-first`), rolling back if one fails.
///
/// It only talks to the manager's Engine API and remembers nothing it cannot read back: the services carry labels
/// naming the app, process type and release, so a restarted runner finds them running and leaves them be.
final class SwarmServices {
    let docker: DockerClient
    let settings: SwarmSettings
    let bucket: BucketSource
    /// The stack image's ID (`sha256:…`), the same on every node that loaded the same `stack/build` output.
    let image: String
    let grace: Duration
    let bootTimeout: Duration
    /// How long a stopping web task keeps serving: a few of the runner's polls, for the router to leave it first, and
    /// long enough for a replacement to boot when a drained node held every web task.
    let drain: Duration

    /// What the swarm runs, as read by the last ``refresh()``: the app services, by ``ServicePlan/key`` (their labels,
    /// never their names).
    private(set) var services: [String: SwarmService] = [:]
    private(set) var tasks: [SwarmTask] = []
    private(set) var nodes: [String: SwarmNode] = [:]
    /// For each app whose web service is being rolled to a release: that release's entry.
    var rolling: [String: String] = [:]
    /// Each task's last state, so that a change is logged once.
    var taskStates: [String: String] = [:]
    /// Where each service's log was read up to.
    var logCursors: [String: LogCursor] = [:]
    /// The published port of each task seen running (Swarm forgets it once the task is to stop).
    var knownPorts: [String: Int] = [:]
    /// The names of the apps' networks that exist.
    private(set) var networks: Set<String> = []
    /// The uid of each app's own user (``AppUsers``): its tasks run as it.
    let appUID: (String) throws -> UInt32

    /// Connects to the manager and checks what the engine needs: an active swarm this node manages, and the stack
    /// image. Throws one line naming what is missing and how to get it.
    init(
        settings: SwarmSettings, bucket: BucketSource?, grace: Duration, bootTimeout: Duration, poll: Duration,
        appUID: @escaping (String) throws -> UInt32
    ) throws {
        guard let bucket else {
            throw RunnerError(
                .usage,
                "slugrunner: --engine swarm needs the spool in a bucket (--spool s3://…): each task fetches its slug "
                    + "from there")
        }
        self.docker = try DockerClient(host: settings.dockerHost)
        self.settings = settings
        self.bucket = bucket
        self.grace = grace
        self.bootTimeout = bootTimeout
        self.drain = max(.seconds(5), poll * 4)
        self.appUID = appUID
        let swarm = try docker.get("/info")["Swarm"]
        guard swarm?["LocalNodeState"]?.string == "active", swarm?["ControlAvailable"] == .bool(true) else {
            throw RunnerError(
                .usage,
                "slugrunner: the Docker engine at \(settings.dockerHost) is not a swarm manager: run `docker swarm "
                    + "init` there (or give the socket of a manager node)")
        }
        let found: JSONValue
        do {
            found = try docker.get("/images/\(settings.imageReference)/json")
        } catch let error as DockerError where error.code == .notFound {
            throw RunnerError(
                .notFound,
                "slugrunner: the swarm manager has no stack image \(settings.imageReference): build it and load it on "
                    + "every node with `stack/build --stack \(settings.stack) --load unix:///var/run/docker.sock`")
        }
        self.image = try Self.stackImageID(found, settings: settings)
    }

    /// The ID of the stack image `found` (the Engine API's `GET /images/<name>/json`): a Slipway stack image of the
    /// settings' stack, built by a `stack/build` whose tasks can run confined (``SwarmSettings/stackVersion``).
    /// Throws one line naming what is wrong and how to build the image.
    static func stackImageID(_ found: JSONValue, settings: SwarmSettings) throws -> String {
        let labelled = found["Config"]?["Labels"]?[SwarmSettings.stackLabel]?.string
        guard let id = found["Id"]?.string, labelled == settings.stack else {
            throw RunnerError(
                .refused,
                "slugrunner: the image \(settings.imageReference) is not a Slipway stack image for \(settings.stack) "
                    + "(its \(SwarmSettings.stackLabel) label is '\(labelled ?? "")'): build it with `stack/build`")
        }
        let version = found["Config"]?["Labels"]?[SwarmSettings.stackVersionLabel]?.string.flatMap { Int($0) } ?? 1
        guard version >= SwarmSettings.stackVersion else {
            throw RunnerError(
                .refused,
                "slugrunner: the stack image \(settings.imageReference) was built by an older stack/build, whose "
                    + "tasks cannot run confined as their app's own user: build it again with `stack/build --stack "
                    + "\(settings.stack) --load unix:///var/run/docker.sock` on every node")
        }
        return id
    }

    /// Reads the app services, their tasks and the nodes.
    func refresh() throws {
        let filter = #"{"label":["\#(ServicePlan.appLabel)"]}"#
        let found = (try docker.get("/services", query: [("filters", filter)]).array ?? []).compactMap(
            SwarmService.init)
        services = Dictionary(
            found.compactMap { service in
                guard let app = service.app, let type = service.type else { return nil }
                return (ServicePlan.key(app: app, type: type), service)
            }
        ) { first, _ in first }
        let ids = Set(found.map(\.id))
        tasks = (try docker.get("/tasks").array ?? []).compactMap(SwarmTask.init).filter { ids.contains($0.serviceID) }
        var ports: [String: Int] = [:]
        for task in tasks where task.state == "running" {
            if let port = task.publishedPort ?? knownPorts[task.id] { ports[task.id] = port }
        }
        knownPorts = ports
        nodes = Dictionary(
            (try docker.get("/nodes").array ?? []).compactMap(SwarmNode.init).map { ($0.id, $0) }
        ) { first, _ in first }
        let networks = try docker.get("/networks", query: [("filters", filter)]).array ?? []
        self.networks = Set(networks.compactMap { $0["Name"]?.string })
    }

    /// Creates the app's network when it does not exist: an overlay network of the swarm that the app's tasks join,
    /// on every node, and no other app's. Tasks of two apps share no network, so neither reaches the other by
    /// address; each reaches the outside through its node's `docker_gwbridge`, where Docker lets no two containers
    /// talk.
    func ensureNetwork(_ app: String) throws {
        let name = ServicePlan.networkName(app: app)
        guard !networks.contains(name) else { return }
        do {
            try docker.post(
                "/networks/create",
                json: [
                    "Name": .string(name), "Driver": "overlay", "CheckDuplicate": true, "Attachable": false,
                    "Labels": [ServicePlan.appLabel: .string(app)],
                ])
        } catch let error as DockerError where error.description.contains("already exists") {
            // Made by another runner of the same swarm since the last look.
        }
        networks.insert(name)
    }

    // MARK: - Services

    /// What the service of `type` should run for `release`; its slug URL is signed only when it is sent
    /// (``signed(_:)``). Throws when the app's user cannot be given.
    func plan(
        app: String, release: UnpackedRelease, type: String, command: String, replicas: Int, wanted: DynoSettings
    ) throws -> ServicePlan {
        ServicePlan(
            app: app, type: type, release: release.version, entry: release.entry, command: command,
            configVars: release.manifest.configVars, slugURL: "", slugSHA256: release.manifest.slug.sha256,
            image: image, replicas: replicas, memoryMB: wanted.memoryMB(of: type),
            healthcheck: type == ProcessType.web ? wanted.healthcheck : nil, grace: grace, bootTimeout: bootTimeout,
            restarts: wanted.restarts[type] ?? 0, uid: try appUID(app), drain: drain)
    }

    /// `plan` with a fresh presigned URL of its slug in the bucket.
    func signed(_ plan: ServicePlan) -> ServicePlan {
        var signed = plan
        signed.slugURL = bucket.location.presignedURL(
            get: BucketLayout.slugKey(app: plan.app, sha256: plan.slugSHA256), credentials: bucket.credentials,
            expires: settings.urlLifetime)
        return signed
    }

    /// Creates the service, or updates it when what it runs changed or its slug URL is past half its life (a new
    /// URL alone is no reason to replace dynos before then). A change of the replicas alone keeps the running tasks
    /// (their template is sent back as it is). Returns whether it asked Swarm for anything.
    @discardableResult
    func apply(_ plan: ServicePlan) throws -> Bool {
        let now = Int(Date().timeIntervalSince1970)
        var template = plan
        template.replicas = 0
        let (fingerprint, templateFingerprint) = (plan.fingerprint, template.fingerprint)
        var signedAt = now
        var running: JSONValue?
        if let service = services[plan.key] {
            let previous = Int(service.labels[Self.signedLabel] ?? "") ?? 0
            let fresh = now - previous <= Int(settings.urlLifetime.components.seconds / 2)
            if service.labels[Self.fingerprintLabel] == fingerprint && fresh { return false }
            if service.labels[Self.templateLabel] == templateFingerprint && fresh {
                (running, signedAt) = (service.spec["TaskTemplate"], previous)
            }
        }
        var spec = running == nil ? signed(plan).spec : plan.spec
        if let running { spec.set("TaskTemplate", running) }
        spec.setLabels([
            Self.fingerprintLabel: fingerprint, Self.templateLabel: templateFingerprint,
            Self.signedLabel: "\(signedAt)",
        ])
        try ensureNetwork(plan.app)
        if let service = services[plan.key] {
            // Swarm renames no service: one made under another name keeps it.
            spec.set("Name", .string(service.name))
            try docker.post("/services/\(service.id)/update", query: [("version", "\(service.version)")], json: spec)
        } else {
            try docker.post("/services/create", json: spec)
        }
        return true
    }

    /// Removes the service of the ``ServicePlan/key`` `key`, if it exists.
    func remove(_ key: String) throws {
        guard let service = services[key] else { return }
        try docker.delete("/services/\(service.id)")
        services[key] = nil
    }

    /// The app's services, by process type.
    func services(of app: String) -> [String: SwarmService] {
        Dictionary(services.values.filter { $0.app == app }.compactMap { s in s.type.map { ($0, s) } }) { a, _ in a }
    }

    /// The tasks of the service of the ``ServicePlan/key`` `key`.
    func tasks(ofService key: String) -> [SwarmTask] {
        guard let id = services[key]?.id else { return [] }
        return tasks.filter { $0.serviceID == id }
    }

    /// A label of each service: what it runs, but for the slug URL (see ``apply(_:)``).
    static let fingerprintLabel = "io.slipway.fingerprint"
    /// The same, but for the replicas: what each task runs.
    static let templateLabel = "io.slipway.template"
    /// When its slug URL was signed (Unix seconds).
    static let signedLabel = "io.slipway.signed-at"
}

extension ServicePlan {
    /// A digest of everything the service runs but the slug URL, which changes at each signing.
    var fingerprint: String {
        var copy = self
        copy.slugURL = ""
        let text = (try? copy.spec.encoded()) ?? Data()
        // FNV-1a: change detection only, not security (the spec is the runner's own).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
