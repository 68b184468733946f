import Foundation
import SlugRunner
import Testing

@testable import SlipwayRunnerKit
@testable import SlipwaySwarm
@testable import SlugRunner

/// The Swarm objects the runner asks for and reads back, without a swarm: service specs, tasks, log streams.
@Suite struct SwarmSpecTests {
    static func plan(type: String = "web", configVars: [String: String] = ["GREETING": "hi"]) -> ServicePlan {
        ServicePlan(
            app: "myapp", type: type, release: 7, entry: "1700000000000.myapp.v7", command: "python3 server.py",
            configVars: configVars, slugURL: "http://10.0.0.1:8333/spool/slugs/myapp/abc.tgz?X-Amz-Signature=s",
            slugSHA256: "abc", image: "sha256:1234", replicas: 2, memoryMB: 256, healthcheck: "/up",
            grace: .seconds(10), bootTimeout: .seconds(60), restarts: 3, uid: 600_007)
    }

    /// Every task, web, worker or release command: the app's own uid, no capability, no new privileges, a read-only
    /// root with `/app` and `/tmp` its own (issue 31: tasks ran as uid 1000 for every app, with Docker's default
    /// capabilities and Debian's setuid programs).
    @Test func everyTaskRunsAsItsAppsUserWithoutCapabilitiesOnAReadOnlyRoot() throws {
        for type in ["web", "worker", "release"] {
            let container = try #require(Self.plan(type: type).spec["TaskTemplate"]?["ContainerSpec"])
            #expect(container["User"] == "600007:600007", "\(type)")
            #expect(container["CapabilityDrop"] == ["ALL"], "\(type)")
            #expect(container["CapabilityAdd"] == nil, "\(type)")
            #expect(container["Privileges"]?["NoNewPrivileges"] == true, "\(type)")
            #expect(container["ReadOnly"] == true, "\(type)")
            let mounts = container["Mounts"]?.array ?? []
            #expect(mounts.compactMap { $0["Target"]?.string } == ["/app", "/tmp"], "\(type)")
            #expect(mounts.allSatisfy { $0["Type"] == "volume" && $0["Source"] == nil }, "a volume of the task's own")
        }
        var other = Self.plan()
        other.app = "aaa"
        other.uid = 600_008
        #expect(other.spec["TaskTemplate"]?["ContainerSpec"]?["User"] == "600008:600008")
        #expect(other.fingerprint != Self.plan().fingerprint, "a new uid replaces the tasks")
    }

    @Test func aWebServiceRollsStartFirstAndPublishesItsPortOnItsNode() throws {
        let spec = Self.plan().spec
        #expect(spec["Name"] == .string(ServicePlan.serviceName(app: "myapp", type: "web")))
        #expect(spec["Mode"]?["Replicated"]?["Replicas"]?.int == 2)
        #expect(spec["UpdateConfig"]?["Order"] == "start-first")
        #expect(spec["UpdateConfig"]?["FailureAction"] == "rollback")
        #expect(spec["EndpointSpec"]?["Ports"]?.array?.first?["PublishMode"] == "host")
        #expect(spec["EndpointSpec"]?["Ports"]?.array?.first?["TargetPort"]?.int == 5000)
        let task = try #require(spec["TaskTemplate"])
        #expect(task["ContainerSpec"]?["Image"] == "sha256:1234")
        #expect(task["ContainerSpec"]?["Healthcheck"]?["Test"] == ["CMD", "/usr/local/bin/slug-run", "--health"])
        #expect(task["Resources"]?["Limits"]?["MemoryBytes"]?.int == 256 * 1_048_576)
        // Swarm has no CPU shares: a cap by size (a CPU per 512 MB); and the node keeps the task's output in files of
        // bounded size.
        #expect(task["Resources"]?["Limits"]?["NanoCPUs"]?.int == 500_000_000)
        #expect(task["LogDriver"]?["Name"]?.string == "json-file")
        #expect(task["LogDriver"]?["Options"]?["max-size"]?.string == "10m")
        #expect(task["ForceUpdate"]?.int == 3)
        #expect(task["RestartPolicy"]?["Condition"] == "any")
        let env = task["ContainerSpec"]?["Env"]?.array?.compactMap(\.string) ?? []
        #expect(env.contains("GREETING=hi"))
        #expect(env.contains("PORT=5000"))
        #expect(env.contains("DYNO=web.{{.Task.Slot}}"))
        #expect(env.contains("SLUG_SHA256=abc"))
        #expect(env.contains("SLUG_COMMAND=python3 server.py"))
        #expect(env.contains("SLIPWAY_HEALTHCHECK=/up"))
    }

    /// No app can form another app's service name (issue 31: `my` with type `app-web` against `my-app`'s `web`),
    /// and every name is one Docker takes: lowercase letters, digits and dashes, at most 63 characters.
    /// An image from a `stack/build` before confined tasks (`/app` the uid 1000's, setuid programs, no
    /// no-new-privileges in `slug-run`) is refused in one line with the fix; the runner's own is taken.
    @Test func aStackImageFromBeforeConfinedTasksIsRefused() throws {
        let settings = SwarmSettings(dockerHost: "unix:///var/run/docker.sock", stack: "slipway-1")
        let current: JSONValue = [
            "Id": "sha256:0e85",
            "Config": ["Labels": ["io.slipway.stack": "slipway-1", "io.slipway.stack-version": "2"]],
        ]
        #expect(try SwarmServices.stackImageID(current, settings: settings) == "sha256:0e85")
        let older: JSONValue = ["Id": "sha256:2afa", "Config": ["Labels": ["io.slipway.stack": "slipway-1"]]]
        let error = #expect(throws: RunnerError.self) { try SwarmServices.stackImageID(older, settings: settings) }
        let line = error?.description ?? ""
        #expect(line.contains("was built by an older stack/build"), "\(line)")
        #expect(line.contains("stack/build --stack slipway-1 --load"), "\(line)")
        let foreign: JSONValue = ["Id": "sha256:2afa", "Config": ["Labels": ["io.slipway.stack": "heroku-24"]]]
        #expect(throws: RunnerError.self) { try SwarmServices.stackImageID(foreign, settings: settings) }
    }

    @Test func serviceNamesAreUnambiguousAndValidForDocker() {
        let pairs = [
            ("my", "app-web"), ("my-app", "web"), ("myapp", "web"), ("myapp", "Web"), ("myapp", "my_worker"),
            ("myapp", "my-worker"), ("a" + String(repeating: "b", count: 29), String(repeating: "Type_", count: 12)),
            ("myapp", "release"),
        ]
        let names = pairs.map { ServicePlan.serviceName(app: $0.0, type: $0.1) }
        #expect(Set(names).count == pairs.count, "\(names)")
        for name in names {
            #expect(name.utf8.count <= 63 && name.wholeMatch(of: /[a-z0-9](?:[a-z0-9-]*[a-z0-9])?/) != nil, "\(name)")
        }
        #expect(names[2] == "myapp-web-c9fba124", "readable, and the same on every runner: \(names[2])")
        #expect(ServicePlan.key(app: "my", type: "app-web") != ServicePlan.key(app: "my-app", type: "web"))
    }

    @Test func theReleaseCommandIsAOneOffJobThatIsNeverRestarted() {
        let spec = Self.plan(type: "release").spec
        #expect(spec["Mode"]?["ReplicatedJob"]?["TotalCompletions"]?.int == 1)
        #expect(spec["TaskTemplate"]?["RestartPolicy"]?["Condition"] == "none")
        #expect(spec["EndpointSpec"] == nil)
        #expect(spec["TaskTemplate"]?["ContainerSpec"]?["Healthcheck"] == nil)
        let env = spec["TaskTemplate"]?["ContainerSpec"]?["Env"]?.array?.compactMap(\.string) ?? []
        #expect(env.contains("DYNO=release.1"))
    }

    /// Config vars are the app's: they cannot override what the platform sets, and Swarm's templates in them stay
    /// text.
    @Test func configVarsNeitherOverrideThePlatformNorRunAsTemplates() {
        let spec = Self.plan(configVars: ["PORT": "80", "SLUG_URL": "http://evil/", "X": "{{.Node.Hostname}}"]).spec
        let env = spec["TaskTemplate"]?["ContainerSpec"]?["Env"]?.array?.compactMap(\.string) ?? []
        #expect(!env.contains("PORT=80"))
        #expect(!env.contains("SLUG_URL=http://evil/"))
        #expect(env.contains(#"X={{"{{"}}.Node.Hostname}}"#))
    }

    /// `ps` shows the command as the Procfile has it, not as escaped for Swarm.
    @Test func aServiceReadsBackItsCommandAsWritten() throws {
        var plan = Self.plan()
        plan.command = "echo '{{not a template}}' && python3 server.py"
        let service = try #require(SwarmService(["ID": "s1", "Version": ["Index": 4], "Spec": plan.spec]))
        #expect(service.command == plan.command)
        #expect(service.app == "myapp" && service.type == "web" && service.version == 4)
    }

    /// A new slug URL alone does not change the fingerprint (no needless rolling restart); anything else does.
    @Test func theFingerprintIgnoresOnlyTheSlugURL() {
        var other = Self.plan()
        other.slugURL = "http://10.0.0.1:8333/spool/slugs/myapp/abc.tgz?X-Amz-Signature=t"
        #expect(other.fingerprint == Self.plan().fingerprint)
        other.replicas = 3
        #expect(other.fingerprint != Self.plan().fingerprint)
    }

    @Test func aTaskReadsBackWithItsNodePortAndDyno() throws {
        let json = """
            {"ID":"t1","ServiceID":"s1","NodeID":"n1","Slot":2,"DesiredState":"running",
             "Spec":{"ContainerSpec":{"Labels":{"io.slipway.type":"web","io.slipway.release":"7",
               "io.slipway.entry":"e7"}}},
             "Status":{"Timestamp":"2026-11-30T04:05:20.588134198Z","State":"running","Message":"started",
               "PortStatus":{"Ports":[{"Protocol":"tcp","TargetPort":5000,"PublishedPort":30001,"PublishMode":"host"}]}}}
            """
        let task = try #require(SwarmTask(try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))))
        #expect(task.dyno == "web.2")
        #expect(task.publishedPort == 30001)
        #expect(task.release == 7)
        #expect(task.isRunning)
        #expect(task.since.map { Int($0.timeIntervalSince1970 * 1000) } == 1_796_011_520_588)
    }

    @Test func aServiceLogStreamSplitsIntoLinesWithTheirTask() throws {
        func frame(_ text: String) -> [UInt8] {
            let bytes = Array(text.utf8)
            let n = UInt32(bytes.count)
            return [1, 0, 0, 0, UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
                + bytes
        }
        let details = "com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1"
        let data = Data(
            frame("2026-11-30T04:05:20.5Z \(details) hello there\n") + frame("2026-11-30T04:05:21Z \(details) bye\n"))
        let lines = DockerLogStream.lines(data)
        #expect(lines.count == 2)
        let entry = try #require(DockerLogStream.Entry(lines[0]))
        #expect(entry.task == "t1")
        #expect(entry.text == "hello there")
        var cursor = LogCursor()
        let first = cursor.isNew(entry)
        let again = cursor.isNew(entry)
        #expect(first && !again)
    }

    @Test func onlyAUnixSocketIsAcceptedAsTheDockerHost() {
        #expect(throws: DockerError.self) { try DockerClient(host: "tcp://10.0.0.1:2375") }
        #expect((try? DockerClient(host: "unix:///var/run/docker.sock")) != nil)
    }
}
