import Foundation
import SlipwayHTTP
import SlipwayObjectStore
import SlipwaySpool
import SlipwaySwarm
import SlipwayTestSupport
import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `slugrunner watch --engine swarm` on a real two-node swarm (``PrivateSwarm``: two `dockerd` in network namespaces
/// of their own), releases in a real bucket (SeaweedFS, on the bridge so that tasks on both nodes reach it), and the
/// router in front (docs/swarm.md), over HTTPS too. One test, in order, as an operator would live it: the swarm and its stack image
/// take a while to set up.
@Suite(.serialized) struct SwarmTests {
    @Test func anAppRunsAcrossTwoNodesAndRollsWithoutLosingARequest() throws {
        let scratch = try ScratchDirectory("swarm")
        let swarm = try PrivateSwarm(directory: try scratch.makeDirectory("nodes"))
        defer { swarm.stop() }
        let b = try BucketHarness("swarm-push", weedAddress: swarm.hostAddress)
        let h = b.push
        let router = try freeLoopbackPort()
        let https = try freeLoopbackPort()
        let pebble = try PrivatePebble(folder: h.scratch.url("pebble"), httpPort: router, tlsPort: https)
        defer { pebble.stop() }
        let log = h.scratch.url("watch.log")
        let watcher = try b.startSwarmRunner(
            swarm, router: router, log: log,
            extra: [
                "--router-tls", "127.0.0.1:\(https)", "--acme-ca", pebble.directory, "--acme-ca-root",
                pebble.listenerRoot,
            ])
        defer { watcher.terminate(grace: 30) }
        let details = {
            "\(PushToRunnerTests.read(log))\n--- app log:\n\(PushToRunnerTests.read("\(h.root)/logs/myapp.log"))"
        }

        // A push runs on the swarm and answers through the router; web=2 puts a dyno on each node.
        let repo = try h.makeApp(files: [
            "Procfile": "web: BIND_ADDRESS=0.0.0.0 python3 server.py\nrelease: test \"${FAIL_RELEASE:-0}\" = 0\n",
            "server.py": try String(
                contentsOfFile: "\(TestPaths.repositoryRoot)/scripts/lib/versioned-server.py", encoding: .utf8),
            "version.txt": "version-0\n",
        ])
        let first = try h.push(repo)
        #expect(first.status == 0, "\(first.output)")
        try #require(ZeroDowntimeTests.serves("version-0 -", router: router), "\(details())")
        // HTTPS on the swarm engine: the router gets shop.test's certificate from the CA and serves the tasks with it.
        #expect(try h.ssh("domains:add myapp shop.test").status == 0)
        #expect(
            HTTPSDeployTests.serves("version-0 -", https: https, root: try pebble.issuingRoot(), seconds: 60),
            "HTTPS through the router to the swarm's tasks: \(details())")
        let scale = try h.ssh("ps:scale myapp web=2")
        #expect(scale.status == 0, "\(scale.output)")
        let spread = waitUntil(seconds: 120) { Set(Self.webNodes(root: h.root, up: true)) == ["node1", "node2"] }
        try #require(spread, "web.1 and web.2 run on node1 and node2: \(Self.ps(h.root))\n\(details())")
        let ps = try h.ssh("ps myapp")
        #expect(ps.output.contains(" on node1") && ps.output.contains(" on node2"), "\(ps.output)")

        // Another app's task reaches none of myapp's tasks by any of their addresses, on its node or the other.
        let targets = try swarm.containerAddresses(service: ServicePlan.serviceName(app: "myapp", type: "web"))
        try #require(!targets.isEmpty, "myapp's tasks have addresses: \(targets)")
        let bucket = try #require(URL(string: b.endpoint).flatMap { url in url.host.map { "\($0):\(url.port ?? 80)" } })
        let lines = targets.map { "\($0):5000 \($0):5000" } + ["outside \(bucket)"]
        let probe = try h.makeApp(
            "probe",
            files: [
                "Procfile": "web: bash probe.sh; BIND_ADDRESS=0.0.0.0 exec python3 server.py\n"
                    + "flood: yes flood | head -n 300000; exec sleep infinity\n",
                "probe.sh": Self.probe, "targets.txt": lines.joined(separator: "\n") + "\n",
                "server.py": try String(
                    contentsOfFile: "\(TestPaths.repositoryRoot)/scripts/lib/versioned-server.py", encoding: .utf8),
                "version.txt": "probe\n",
            ])
        let pushed = try h.push(probe, app: "probe")
        #expect(pushed.status == 0, "\(pushed.output)")
        let probeLog = { PushToRunnerTests.read("\(h.root)/logs/probe.log") }
        #expect(waitUntil(seconds: 120) { probeLog().contains("net done") }, "\(probeLog())\n\(details())")
        for address in targets {
            #expect(
                probeLog().contains("net \(address):5000 refused"), "\(address) must be out of reach: \(probeLog())")
        }
        #expect(probeLog().contains("net outside reached"), "the bucket, on the host: \(probeLog())")

        // The probe's task is confined (issue 31): its app's own uid, not myapp's nor 1000; no capability, not even
        // in the bounding set; no new privileges; no setuid or setgid program in the image; a read-only root.
        #expect(waitUntil(seconds: 60) { probeLog().contains("priv done") }, "\(probeLog())")
        let uids = try Self.appUIDs(root: h.root)
        let (probeUID, myappUID) = (try #require(uids["probe"]), try #require(uids["myapp"]))
        #expect(probeUID != myappUID && probeUID >= 600_000 && myappUID >= 600_000, "\(uids)")
        #expect(probeLog().contains("priv uid \(probeUID) gid \(probeUID)"), "\(probeLog())")
        for line in [
            "priv CapEff: 0000000000000000", "priv CapBnd: 0000000000000000", "priv NoNewPrivs: 1", "priv setuid 0",
            "priv root read-only", "priv app writable", "priv tmp writable",
        ] {
            #expect(probeLog().contains(line), "\(line): \(probeLog())")
        }
        // A task printing 300 000 lines at once: the app's log keeps what the budget allows and says so.
        let scaled = try h.ssh("ps:scale probe flood=1")
        #expect(scaled.status == 0, "\(scaled.output)")
        #expect(
            waitUntil(seconds: 90) { probeLog().contains("slugrunner[flood]: Error L11 (Tail buffer overflow)") },
            "\(probeLog().suffix(2000))")
        let floodLines = probeLog().components(separatedBy: "]: flood\n").count - 1
        #expect(floodLines > 0 && floodLines <= 20_000, "\(floodLines) lines of the flood were logged")
        let myappWeb = try DockerClient(host: swarm.manager.dockerHost).get(
            "/services/\(ServicePlan.serviceName(app: "myapp", type: "web"))")
        #expect(
            myappWeb["Spec"]?["TaskTemplate"]?["ContainerSpec"]?["User"]?.string == "\(myappUID):\(myappUID)",
            "myapp's tasks run as myapp's own user")

        // A config change and a rollback roll out task by task while a client sends requests without pause.
        let client = try LoadClient(router: router, scratch: h.scratch, name: "deploys")
        let set = try h.ssh("config:set myapp MARK=a")
        #expect(set.status == 0, "\(set.output)")
        try #require(ZeroDowntimeTests.serves("version-0 a", router: router), "\(details())")
        // Served by the first new task; the roll is done once every task runs v2.
        try #require(waitUntil(seconds: 120) { BucketHarness.runningVersion(root: h.root) == 2 }, "\(details())")
        let rollback = try h.ssh("rollback myapp v1")
        #expect(rollback.status == 0, "\(rollback.output)")
        try #require(ZeroDowntimeTests.serves("version-0 -", router: router), "\(details())")
        try #require(waitUntil(seconds: 120) { BucketHarness.runningVersion(root: h.root) == 3 }, "\(details())")
        let deploys = try client.finish()
        #expect(deploys.requests > 50 && deploys.failed == 0, "no request failed during the deploys: \(deploys)")

        // Draining a node that runs a web dyno moves it to the other one; the app keeps answering.
        let busy = try #require(Self.webNodes(root: h.root, up: true).first, "\(Self.ps(h.root))")
        let other = busy == "node1" ? "node2" : "node1"
        let drain = try LoadClient(router: router, scratch: h.scratch, name: "drain")
        try swarm.setAvailability(busy, "drain")
        let moved = waitUntil(seconds: 120) {
            let nodes = Self.webNodes(root: h.root, up: true)
            return nodes.count == 2 && nodes.allSatisfy { $0 == other }
        }
        #expect(moved, "both web dynos run on \(other): \(Self.ps(h.root))\n\(details())")
        let drained = try drain.finish()
        #expect(
            drained.requests > 20 && drained.failed == 0, "no request failed during the drain: \(drained)\n\(details())"
        )
        try swarm.setAvailability(busy, "active")

        // A release whose release command fails (a one-off job on the swarm) never reaches the services.
        let failing = try h.ssh("config:set myapp FAIL_RELEASE=1")
        #expect(failing.status == 0, "\(failing.output)")
        let failed = waitUntil(seconds: 120) {
            PushToRunnerTests.read(log).contains("v4 failed: the release command failed")
        }
        #expect(failed, "v4's release command failed: \(details())")
        #expect(ZeroDowntimeTests.serves("version-0 -", router: router), "v3 keeps serving: \(details())")
        #expect(BucketHarness.runningVersion(root: h.root) == 3, "\(Self.ps(h.root))")

        // A release built for another stack is refused; the running one keeps serving.
        let foreign = try Self.publishForeignStackRelease(b, version: 5)
        let refused = waitUntil(seconds: 60) {
            PushToRunnerTests.read(log).contains(
                "was built for the stack heroku-24, but this runner provides slipway-1")
        }
        #expect(refused, "the runner refuses v\(foreign): \(details())")
        #expect(ZeroDowntimeTests.serves("version-0 -", router: router))

        // A slug changed in the bucket is refused by the task that fetches it; the running tasks keep serving.
        let slugs = try b.keys("slugs/myapp/")
        try #require(slugs.count == 1, "one build, one slug: \(slugs)")
        try Blocking.withClient(b.location, b.credentials) { client in
            try await client.put(slugs[0], Data("not the slug".utf8))
        }
        let restart = try h.ssh("ps:restart myapp web")
        #expect(restart.status == 0, "\(restart.output)")
        let caught = waitUntil(seconds: 120) {
            PushToRunnerTests.read("\(h.root)/logs/myapp.log").contains("slug-run: refusing the slug")
        }
        #expect(caught, "the task refused the slug: \(details())")
        #expect(ZeroDowntimeTests.serves("version-0 -", router: router), "\(details())")
        #expect(Self.webNodes(root: h.root, up: true).count >= 2, "\(Self.ps(h.root))")
    }

    /// `probe.sh`: a TCP connection to each `<name> <address:port>` line of `targets.txt`, one line each.
    static let probe = """
        #!/usr/bin/env bash
        while read -r name target; do
            if timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${target%:*}" "${target##*:}" 2>/dev/null; then
                echo "net $name reached"
            else
                echo "net $name refused"
            fi
        done < targets.txt
        echo "net done"
        echo "priv uid $(id -u) gid $(id -g)"
        grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status | tr -s '\t' ' ' | sed 's/^/priv /'
        echo "priv setuid $(find / -xdev -type f -perm /6000 2>/dev/null | wc -l)"
        for folder in /usr /app /tmp; do
            if (: >"$folder/probe-write") 2>/dev/null; then state=writable; else state=read-only; fi
            name="${folder#/}"
            echo "priv ${name/usr/root} $state"
        done
        echo "priv done"
        """

    /// The uid of each app's own user, as the runner remembers them (`<root>/runner/uids.json`).
    static func appUIDs(root: String) throws -> [String: Int] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(root)/runner/uids.json"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["apps"] as? [String: Int] ?? [:]
    }

    /// The node of each web dyno in `slugrunner ps` (those up, with `up`).
    static func webNodes(root: String, up: Bool) -> [String] {
        guard let data = Self.ps(root).data(using: .utf8),
            let status = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let processes = status["processes"] as? [[String: Any]]
        else { return [] }
        return processes.filter { $0["type"] as? String == "web" && (!up || $0["state"] as? String == "up") }
            .compactMap { $0["node"] as? String }
    }

    static func ps(_ root: String) -> String {
        (try? runTool([TestPaths.product("slugrunner"), "ps", "myapp", "--json", "--root", root]))?.stdout ?? ""
    }

    /// Publishes the latest release again as `version`, but built for the stack `heroku-24`, as another build host
    /// would: its manifest, create-only, beside the others.
    static func publishForeignStackRelease(_ b: BucketHarness, version: Int) throws -> Int {
        let manifests = try b.keys("releases/myapp/").sorted()
        let latest = try #require(manifests.last)
        let data = try #require(try b.object(latest))
        // Signed by the door's own key, as the door would publish it: only the stack is wrong.
        var manifest = try openRelease(data, root: b.push.root)
        manifest.stack = "heroku-24"
        manifest.version = version
        let door = try #require(try DoorReleaseKey.load(RootLayout(b.push.root)))
        let body = try SignedRelease.seal(manifest, with: door)
        let key = String(format: "releases/myapp/%010d.json", version)
        try Blocking.withClient(b.location, b.credentials) { client in
            try await client.put(key, body, createOnly: true, contentType: "application/json")
        }
        return version
    }
}

/// `scripts/load-client` sending requests to myapp through the router until ``finish()``.
struct LoadClient {
    let process: TestProcess
    let results: String

    init(router: UInt16, scratch: ScratchDirectory, name: String) throws {
        results = scratch.url("load-\(name).json")
        process = try TestProcess(
            [
                "/usr/bin/python3", "\(TestPaths.repositoryRoot)/scripts/load-client", "--router",
                "127.0.0.1:\(router)",
                "--host", "myapp.localhost",
            ], stdout: .file(results), stderr: .file(scratch.url("load-\(name).err")))
    }

    /// Stops the client and reads its report.
    func finish() throws -> (requests: Int, failed: Int, report: String) {
        process.signal(SIGTERM)
        _ = process.wait(timeout: 60)
        let text = PushToRunnerTests.read(results)
        let report = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
        return (report["requests"] as? Int ?? 0, report["failed"] as? Int ?? -1, text)
    }
}
