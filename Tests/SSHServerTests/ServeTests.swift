import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `receive-pack serve`, driven by the real OpenSSH client and git on a free loopback port.
@Suite(.serialized) struct ServeTests {
    @Test func pushPublishesAReleaseAndAFailedBuildRejectsThePush() throws {
        let h = try ServerHarness()
        let good = try h.buildpack("good")
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(good)\n"])
        let first = try h.push(repo, app: "myapp")
        #expect(first.status == 0, "\(first.output)\n\(h.log)")
        #expect(first.output.contains("remote: -----> Building myapp ("))
        #expect(first.output.contains("remote: -----> Launching... done, v1"))
        #expect(!first.output.contains("/tmp/"), "the pusher learns no server path: \(first.output)")
        let entries = try h.spoolEntries()
        #expect(entries.map(\.manifest.version) == [1])
        #expect(entries.first?.manifest.user == "alice")
        let published = try h.serverRef("myapp")
        #expect(published != nil)

        let bad = try h.buildpack("bad", compile: "echo 'ERROR: no such module'; exit 3")
        try h.commit(repo, ".buildpacks", "\(bad)\n")
        let rejected = try h.push(repo, app: "myapp")
        #expect(rejected.status != 0)
        #expect(
            rejected.output.contains("remote:  !     Push rejected, failed to compile Spy app."), "\(rejected.output)")
        #expect(rejected.output.contains("pre-receive hook declined"))
        #expect(try h.serverRef("myapp") == published, "the ref did not move")
        #expect(try h.spoolEntries().count == 1, "nothing new in the spool")
        #expect(h.log.contains("request=git-receive-pack myapp status=0 user=alice"), "one log line per push: \(h.log)")
    }

    @Test func refusalsNameTheirReason() throws {
        let h = try ServerHarness(users: ["alice", "bob"])
        let bp = try h.buildpack()
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        #expect(try h.push(repo, app: "myapp").status == 0)
        let alice = h.keys["alice"]!

        // A key nobody added.
        let stranger = try h.ssh("git-upload-pack 'myapp'", key: try h.strangerKey())
        #expect(stranger.status == 255)
        #expect(stranger.output.contains("Permission denied (publickey)"))

        // A user without access to the app, and a missing app: the same line, exit code 1.
        let denied = try h.push(repo, app: "myapp", as: "bob")
        #expect(denied.status != 0)
        #expect(denied.output.contains("slipway: bob has no access to myapp"), "\(denied.output)")
        let missing = try h.ssh("git-upload-pack 'nosuchapp'", key: h.keys["bob"]!)
        #expect(missing.status == 1)
        #expect(missing.output.contains("slipway: bob has no access to nosuchapp"))

        // A non-git command, an interactive login, a subsystem: the forced command's own refusal, exit code 1.
        for (command, options, message) in [
            ("ls -la /", [String](), "slipway: unknown command 'ls'"),
            (nil, [], "slipway: hi alice, there is no shell here"),
            ("sftp", ["-s"], "slipway: unknown command 'sftp'"),
            ("git-upload-pack '../etc'", [], "slipway: only git push and git clone are served here"),
        ] {
            let refused = try h.ssh(command, key: alice, options: options)
            #expect(refused.status == 1, "\(command ?? "login"): \(refused.output)")
            #expect(refused.output.contains(message), "\(refused.output)")
        }
        // A terminal, and port forwarding, are refused.
        let tty = try h.ssh("git-upload-pack 'myapp'", key: alice, options: ["-tt"])
        #expect(tty.output.contains("PTY allocation request failed"), "\(tty.output)")
        let forward = try h.ssh(nil, key: alice, options: ["-W", "127.0.0.1:\(h.port)"])
        #expect(forward.status != 0)
        #expect(
            forward.output.contains("forwarding failed") || forward.output.contains("open failed"), "\(forward.output)")

        // An RSA key: `keys add` says it works through OpenSSH only; the server refuses it and its log says why.
        let added = try h.addUser("carol", type: "rsa")
        #expect(added.output.contains("work through OpenSSH only"), "\(added.output)")
        let rsa = try h.ssh("git-upload-pack 'myapp'", key: h.keys["carol"]!)
        #expect(rsa.status == 255)
        usleep(300_000)
        #expect(h.log.contains("no key the built-in server can verify was offered"), "\(h.log)")
        #expect(h.log.contains("is not in authorized_keys"), "the stranger's refusal is logged: \(h.log)")
        #expect(!h.log.contains("AAAA"), "no key material in the log")
    }

    @Test func buildLinesArriveWhileTheBuildRuns() throws {
        let h = try ServerHarness()
        let bp = try h.buildpack(
            compile: """
                echo "-----> before the wait"
                for _ in $(seq 1 600); do [ -e "$2/gate" ] && break; sleep 0.1; done
                echo "-----> after the wait"
                """)
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        let push = try h.startPush(repo, app: "myapp")
        #expect(push.waitFor("remote: -----> before the wait", timeout: 60), "\(push.text)")
        #expect(!push.text.contains("after the wait"))
        try h.openGate("myapp")
        #expect(push.wait() == 0, "\(push.text)")
        #expect(push.text.contains("remote: -----> after the wait"))
    }

    @Test func concurrentPushesToDifferentAppsBothSucceed() throws {
        let h = try ServerHarness()
        let bp = try h.buildpack(compile: "sleep 1; echo '-----> built'")
        let repos = try ["one", "two"].map {
            try h.makeApp($0, files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n", "name": $0])
        }
        let pushes = try zip(repos, ["app-one", "app-two"]).map { try h.startPush($0, app: $1) }
        let statuses = pushes.map { $0.wait() }
        #expect(statuses == [0, 0], "\(pushes.map(\.text))")
        #expect(Set(try h.spoolEntries().map(\.manifest.app)) == ["app-one", "app-two"])
    }

    @Test func maxBuildsMakesALaterPushWait() throws {
        let h = try ServerHarness(arguments: ["--max-builds", "1"])
        let slow = try h.buildpack(
            "slow", compile: "for _ in $(seq 1 600); do [ -e \"$2/gate\" ] && break; sleep 0.1; done; echo slow done")
        let quick = try h.buildpack("quick")
        let first = try h.startPush(
            try h.makeApp("one", files: ["Procfile": "web: x\n", ".buildpacks": "\(slow)\n"]), app: "app-one")
        #expect(first.waitFor("-----> Spy app detected", timeout: 60) || first.waitFor("Building", timeout: 1))
        let second = try h.startPush(
            try h.makeApp("two", files: ["Procfile": "web: x\n", ".buildpacks": "\(quick)\n"]), app: "app-two")
        #expect(second.waitFor("Waiting for a free build slot", timeout: 60), "\(second.text)")
        try h.openGate("app-one")
        #expect(first.wait() == 0, "\(first.text)")
        #expect(second.wait() == 0, "\(second.text)")
        #expect(try h.spoolEntries().count == 2)
    }

    /// SIGTERM: running pushes may finish within the grace period; past it they are cancelled, and nothing of
    /// them is published. The server exits 0 either way.
    @Test func sigtermLetsPushesFinishThenCancelsTheRest() throws {
        // Within the grace period: the push completes.
        do {
            let h = try ServerHarness(arguments: ["--grace-period", "60"])
            let bp = try h.buildpack(
                compile: "echo '-----> waiting'; for _ in $(seq 1 600); do [ -e \"$2/gate\" ] && break; sleep 0.1; done"
            )
            let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
            let push = try h.startPush(repo, app: "myapp")
            #expect(push.waitFor("-----> waiting", timeout: 60), "\(push.text)")
            h.server.signal(SIGTERM)
            #expect(waitUntil { h.output.contains("no new connections") }, "\(h.output)")
            #expect(waitUntil { !loopbackPortAcceptsConnections(h.port) }, "no new connections")
            try h.openGate("myapp")
            #expect(push.wait() == 0, "\(push.text)")
            #expect(h.server.wait(timeout: 60) == 0, "\(h.output)\n\(h.log)")
            #expect(try h.spoolEntries().count == 1)
        }
        // Past the grace period: cancelled, nothing half-published, no build left running.
        do {
            let h = try ServerHarness(arguments: ["--grace-period", "1"])
            let marker = uniqueSleep()
            let bp = try h.buildpack(compile: "echo '-----> waiting'; sleep \(marker)")
            let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
            let push = try h.startPush(repo, app: "myapp")
            #expect(push.waitFor("-----> waiting", timeout: 60), "\(push.text)")
            #expect(h.stop(SIGTERM, timeout: 60) == 0, "\(h.output)\n\(h.log)")
            #expect(h.output.contains("cancelled"))
            #expect(push.wait(timeout: 60) != 0)
            #expect(waitUntil { processes(matching: marker).isEmpty }, "the build was stopped")
            #expect(try h.spoolEntries().isEmpty)
            #expect(h.spoolTemporaries().isEmpty)
            #expect(try h.serverRef("myapp") == nil)
            #expect(
                waitUntil { ((try? FileManager.default.contentsOfDirectory(atPath: "\(h.root)/tmp")) ?? ["?"]).isEmpty }
            )
        }
    }

    /// A session that crashes (its `receive-pack shell` killed) ends that push only: the server goes on serving.
    @Test func aCrashedSessionDoesNotTakeTheServerDown() throws {
        let h = try ServerHarness()
        let marker = uniqueSleep()
        let slow = try h.buildpack("slow", compile: "echo '-----> waiting'; sleep \(marker)")
        let push = try h.startPush(
            try h.makeApp("one", files: ["Procfile": "web: x\n", ".buildpacks": "\(slow)\n"]), app: "app-one")
        #expect(push.waitFor("-----> waiting", timeout: 60), "\(push.text)")
        let sessions = processes(matching: "receive-pack shell --root \(h.root) ")
        #expect(!sessions.isEmpty)
        for pid in sessions { kill(pid, SIGKILL) }
        #expect(push.wait(timeout: 60) != 0)
        #expect(waitUntil { processes(matching: marker).isEmpty }, "the crashed session's build was stopped")
        #expect(h.server.isRunning)
        let quick = try h.buildpack("quick")
        let next = try h.push(
            try h.makeApp("two", files: ["Procfile": "web: x\n", ".buildpacks": "\(quick)\n"]), app: "app-two")
        #expect(next.status == 0, "\(next.output)\n\(h.log)")
        #expect(try h.spoolEntries().map(\.manifest.app) == ["app-two"])
    }

    @Test func hostKeyIsCreatedOnceAndReused() throws {
        let h = try ServerHarness()
        let keyPath = "\(h.root)/ssh_host_ed25519_key"
        var st = stat()
        #expect(stat(keyPath, &st) == 0 && st.st_mode & 0o777 == 0o600)
        // OpenSSH reads the key file, and its public half is the .pub beside it.
        let derived = try runTool(["/usr/bin/ssh-keygen", "-y", "-f", keyPath])
        #expect(derived.status == 0, "\(derived.output)")
        let pub = try String(contentsOfFile: "\(keyPath).pub", encoding: .utf8)
        #expect(pub.hasPrefix(derived.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let fingerprint = try runTool(["/usr/bin/ssh-keygen", "-l", "-f", "\(keyPath).pub"]).stdout
        let printed = h.output.split(separator: "\n").first { $0.hasPrefix("Host key") }.map(String.init) ?? ""
        #expect(printed.contains("created"))
        #expect(
            fingerprint.split(separator: " ").count > 1
                && printed.contains(String(fingerprint.split(separator: " ")[1])))

        // A client that trusts the first key still connects after a restart.
        let knownHosts = h.scratch.url("known_hosts")
        let strict = ["-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=\(knownHosts)"]
        #expect(try h.ssh("ls", key: h.keys["alice"]!, options: strict).status == 1)
        #expect(h.stop() == 0)
        try h.restart()
        #expect(h.output.contains("loaded"))
        let again = try h.ssh("ls", key: h.keys["alice"]!, options: strict)
        #expect(again.status == 1 && again.output.contains("unknown command 'ls'"), "\(again.output)")
    }

    @Test func connectionLimits() throws {
        let h = try ServerHarness(arguments: [
            "--max-connections", "2", "--login-grace-time", "2", "--max-auth-failures", "2",
        ])
        // Two idle connections fill the server; a third is closed at once.
        let idle = try (0..<2).map { _ in try RawConnection(port: h.port) }
        #expect(idle.allSatisfy { $0.readsBanner() })
        let third = try h.ssh("ls", key: h.keys["alice"]!, timeout: 30)
        #expect(third.status == 255, "\(third.output)")
        #expect(h.log.contains("connections are open (--max-connections)"))
        // The login grace time closes the idle ones, and the server answers again.
        #expect(idle.allSatisfy { $0.closedWithin(seconds: 10) })
        #expect(waitUntil { (try? h.ssh("ls", key: h.keys["alice"]!).status) == 1 })
        // A client offering three unknown keys is cut off after two failures.
        let keys = try (1...3).map { try SSHClientKey(in: try h.scratch.makeDirectory("many"), name: "k\($0)") }
        var arguments = [which("ssh")!, "-F", "none", "-p", "\(h.port)", "-o", "StrictHostKeyChecking=no"]
        arguments += ["-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"]
        for key in keys { arguments += ["-i", key.privateKeyPath] }
        let many = try runTool(arguments + ["git@127.0.0.1", "ls"], mergeOutput: true, timeout: 60)
        #expect(many.status == 255)
        #expect(waitUntil { h.log.contains("failures=2") }, "\(h.log)")
    }

    /// One connection multiplexing sessions (OpenSSH's ControlMaster) gets 10 at once, as from OpenSSH's sshd; the
    /// 11th is refused while they run, and accepted once one ends.
    @Test func aConnectionHasAtMostTenSessionsAtOnce() throws {
        let h = try ServerHarness()
        let bp = try h.buildpack()
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        #expect(try h.push(repo, app: "myapp").status == 0)
        let control = h.scratch.url("control")
        let base = sshArguments(key: h.keys["alice"]!, port: h.port) + ["-S", control]
        let master = try TestProcess(base + ["-M", "-N", "git@127.0.0.1"])
        defer { master.terminate(grace: 5) }
        #expect(waitUntil(seconds: 30) { FileManager.default.fileExists(atPath: control) })
        let tails = try (1...10).map { _ in try TestProcess(base + ["git@127.0.0.1", "logs myapp --tail"]) }
        defer { for tail in tails { tail.terminate(grace: 5) } }
        // The 11th is refused on this connection (the OpenSSH client then opens a connection of its own for it).
        let refusal = "session refused: 10 are open on this connection"
        #expect(
            waitUntil(seconds: 30) {
                _ = try? runTool(base + ["git@127.0.0.1", "ls"], mergeOutput: true, timeout: 30)
                return h.log.contains(refusal)
            }, "\(h.log)")
        tails[0].terminate(grace: 5)
        #expect(
            waitUntil(seconds: 30) {
                let refusals = h.log.components(separatedBy: refusal).count
                let ls = try? runTool(base + ["git@127.0.0.1", "ls"], mergeOutput: true, timeout: 30)
                return ls?.status == 1 && h.log.components(separatedBy: refusal).count == refusals
            }, "a session ended, so another may start on the connection: \(h.log)")
    }

    /// 20 clients connect in a loop (a third of them with a key nobody added): the server keeps answering, its
    /// memory stays flat, and it leaks no file descriptor. `SLIPWAY_LOAD_SECONDS` sets the duration (default 15).
    @Test func boundedLoad() throws {
        let h = try ServerHarness()
        let alice = h.keys["alice"]!
        let stranger = try h.strangerKey()
        let seconds = Double(ProcessInfo.processInfo.environment["SLIPWAY_LOAD_SECONDS"] ?? "") ?? 15
        // Warm up, then take the baseline.
        for _ in 0..<5 { _ = try h.ssh("ls", key: alice) }
        usleep(500_000)
        let descriptorsBefore = h.openDescriptors
        let memoryBefore = h.residentKiB

        let tally = Tally()
        let deadline = Date().addingTimeInterval(seconds)
        let port = h.port
        DispatchQueue.concurrentPerform(iterations: 20) { client in
            let key = client % 3 == 0 ? stranger : alice
            while Date() < deadline {
                let result = try? runTool(sshArguments(key: key, port: port) + ["git@127.0.0.1", "ls"], timeout: 60)
                tally.add(expected: client % 3 == 0 ? 255 : 1, got: result?.status)
            }
        }
        let (total, unexpected) = tally.counts
        #expect(total > 40, "the clients got through: \(total)")
        print("load: \(total) connections in \(seconds)s; descriptors \(descriptorsBefore); memory \(memoryBefore) KiB")
        #expect(unexpected == 0, "every answer was the expected refusal: \(unexpected) of \(total) were not")
        #expect(try h.ssh("ls", key: alice).status == 1, "the server still answers")
        #expect(
            waitUntil { h.openDescriptors <= descriptorsBefore },
            "descriptors: \(descriptorsBefore) -> \(h.openDescriptors)")
        let growth = h.residentKiB - memoryBefore
        #expect(
            growth < 32 * 1024,
            "memory stays flat: \(memoryBefore) KiB -> \(h.residentKiB) KiB after \(total) connections")
    }
}

/// Counts the load test's answers from many threads.
private final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    private var unexpected = 0

    func add(expected: Int32, got: Int32?) {
        lock.withLock {
            total += 1
            if got != expected { unexpected += 1 }
        }
    }

    var counts: (Int, Int) { lock.withLock { (total, unexpected) } }
}
