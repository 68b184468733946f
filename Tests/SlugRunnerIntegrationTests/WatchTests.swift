import Foundation
import SlipwaySpool
import SlipwayTestSupport
import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `slugrunner watch` against a real spool, real slugs built by `slugc`, and real web processes.
@Suite(.serialized) struct WatchTests {
    @Test func anEntryIsClaimedCheckedAndServedWithItsLogs() throws {
        let h = try RunnerHarness()
        let out = try h.buildSlug()
        let entry = try h.publish(out, version: 1, config: ["PAGE": "page of v1"])
        let watcher = try h.startWatch()
        let status = try #require(h.waitForRelease(1), "v1 never came up: \(h.watchOutput)")
        let web = try #require(status.processes.first { $0.dyno == "web.1" })
        #expect(try h.get(web) == "page of v1\n")
        #expect(status.release?.entry == entry)
        #expect(status.watcher == true)
        #expect(web.pid != nil && web.uptime != nil)
        #expect(try h.spool.pending().isEmpty && h.spool.claimed() == [entry], "claimed into cur/")

        #expect(
            waitUntil(seconds: 60) { h.log().contains("app[web.1]: web web.1 starting on \(web.port)") }, "\(h.log())")
        let lines = h.log().split(separator: "\n")
        let format = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 (app|slugrunner)\[[a-z0-9.]+\]: .*$/
        #expect(lines.allSatisfy { $0.wholeMatch(of: format) != nil }, "\(lines)")
        #expect(h.log().contains("slugrunner[deploy]: Deployed v1"))
        #expect(!h.log().contains("page of v1"), "config var values are not logged")

        let logs = try h.slugrunner(["logs", "myapp", "-n", "1"])
        #expect(logs.status == 0 && logs.stdout.split(separator: "\n").count == 1)
        // The last line then: the one read above, or one the app wrote since (it logs a request after answering it).
        let after = h.log().split(separator: "\n")
        let shown = logs.stdout.split(separator: "\n").first ?? ""
        let position = after.lastIndex(of: shown)
        #expect(position != nil && position! >= lines.count - 1, "\(logs.stdout) in \(after)")
        let text = try h.slugrunner(["ps", "myapp"])
        #expect(text.stdout.contains("=== myapp v1: Deploy v1 (web=1)"), "\(text.output)")
        #expect(text.stdout.contains("web.1: up "))
        #expect(text.stdout.contains("port \(web.port), http://\(web.address ?? "127.0.0.1"):\(web.port)/"))
        let json = try h.slugrunner(["ps", "myapp", "--json"])
        #expect(json.stdout.contains("\"port\": \(web.port)"))

        #expect(h.stopWatch(watcher) == 0)
        #expect(!processGroupExists(try #require(web.pid)))
    }

    @Test func aNewReleaseRunsItsReleasePhaseThenReplacesTheOldOneWholeGroupIncluded() throws {
        let h = try RunnerHarness()
        let out = try h.buildSlug()
        try h.publish(out, version: 1, config: ["PAGE": "v1"])
        let watcher = try h.startWatch()
        let first = try #require(h.waitForRelease(1), "\(h.watchOutput)")
        let oldGroup = try #require(first.processes.first { $0.dyno == "web.1" }?.pid)
        #expect(processGroupExists(oldGroup))

        // Each dyno has its own copy of the release (what the release phase writes is not kept, as on Heroku):
        // the order of the log lines shows that the release phase ran before the new web process started.
        try h.publish(out, version: 2, processTypes: ["release": "echo migrating"], config: ["PAGE": "v2"])
        let second = try #require(h.waitForRelease(2), "\(h.watchOutput)")
        let web = try #require(second.processes.first { $0.dyno == "web.1" })
        #expect(try h.get(web) == "v2\n")
        #expect(
            waitUntil(seconds: 60) { h.log().contains("app[web.1]: web web.1 starting on \(web.port)") }, "\(h.log())")
        let migrated = try #require(h.log().range(of: "app[release.1]: migrating"))
        let started = try #require(h.log().range(of: "app[web.1]: web web.1 starting on \(web.port)"))
        #expect(migrated.lowerBound < started.lowerBound)
        #expect(web.port != first.processes.first?.port, "each release's web gets its own port")
        #expect(
            waitUntil(seconds: 60) { !processGroupExists(oldGroup) }, "v1's process group (web and its child) is gone")
        #expect(h.log().contains("app[release.1]: migrating"))
        #expect(h.log().contains("slugrunner[deploy]: Deployed v2, stopping v1"))
        #expect(
            waitUntil(seconds: 60) { (try? h.spool.claimed()) == [second.release?.entry ?? ""] },
            "v1's entry is dropped")
        #expect(h.stopWatch(watcher) == 0)
    }

    @Test func aTamperedSlugIsRefusedLoggedAndNeverRun() throws {
        let h = try RunnerHarness()
        let out = try h.buildSlug()
        try h.publish(out, version: 1, config: ["PAGE": "good v1"])
        let tampered = try h.publish(out, version: 2, processTypes: ["web": "touch \(h.scratch.url("ran")); ./web.sh"])
        // Same size, one byte changed: only the SHA-256 can tell.
        let slug = "\(h.root)/spool/new/\(tampered)/slug.tgz"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: slug))
        bytes[bytes.count / 2] ^= 0xff
        unlink(slug)  // a hard link to the build's slug: replace it rather than write through it
        try bytes.write(to: URL(fileURLWithPath: slug))

        let watcher = try h.startWatch()
        let status = try #require(h.waitForRelease(1), "\(h.watchOutput)")
        #expect(try h.get(status.processes[0]) == "good v1\n")
        #expect(h.log().contains("slugrunner[deploy]: Refused \(tampered)"), "\(h.log())")
        #expect(h.log().contains("has SHA-256"))
        #expect(FileManager.default.fileExists(atPath: "\(h.root)/spool/rejected/\(tampered)/release.json"))
        #expect(!h.scratch.exists("ran"), "the tampered release never ran")
        #expect(status.lastDeploy?.status == "succeeded")
        #expect(h.stopWatch(watcher) == 0)
    }

    @Test func aReleaseWhoseWebNeverListensFailsAndThePreviousKeepsServing() throws {
        let h = try RunnerHarness()
        let out = try h.buildSlug()
        try h.publish(out, version: 1, config: ["PAGE": "still v1"])
        let watcher = try h.startWatch(["--boot-timeout", "2"])
        let first = try #require(h.waitForRelease(1), "\(h.watchOutput)")
        let entry = try h.publish(out, version: 2, processTypes: ["web": "sleep 1000"])

        var deaf: pid_t?
        #expect(
            waitUntil(seconds: 60) {
                deaf = deaf ?? (try? h.ps())?.processes.first { $0.dyno == "web.1" && $0.release == 2 }?.pid
                return (try? h.ps())?.lastDeploy?.status == "failed"
            }, "\(h.watchOutput)")
        let status = try h.ps()
        #expect(status.release?.version == 1)
        // Each dyno has a network of its own here (root): it must listen on its own address, not only on loopback.
        #expect(
            status.lastDeploy?.message.contains(
                "did not accept connections on its own address within 2s of launch (Error R10, Boot timeout: the web "
                    + "process must bind to 0.0.0.0:$PORT, not 127.0.0.1)") == true,
            "\(status.lastDeploy?.message ?? "")")
        #expect(status.lastDeploy?.message.contains("v1 keeps running") == true)
        #expect(try h.get(first.processes[0]) == "still v1\n")
        #expect(h.log().contains("slugrunner[deploy]: v2 failed: web.1"))
        #expect(FileManager.default.fileExists(atPath: "\(h.root)/spool/failed/\(entry)"))
        let group = try #require(deaf, "v2's web.1 was seen running")
        #expect(waitUntil(seconds: 60) { !processGroupExists(group) }, "the failed release's processes are stopped")
        #expect(try h.slugrunner(["ps", "myapp"]).stdout.contains(" !     v2 failed at "))
        #expect(h.stopWatch(watcher) == 0)
    }

    /// On the host's network (`--dyno-network host`) any process may bind a dyno's `PORT` while the dyno does not: a
    /// connection that is accepted there is no proof that the dyno answers, and it must never be routed.
    @Test func aListenerThatIsNotTheDynosDoesNotBringItUp() throws {
        let h = try RunnerHarness()
        let out = try h.buildSlug()
        try h.publish(out, version: 1, processTypes: ["web": "sleep 1000"])
        let watcher = try h.startWatch(["--dyno-network", "host", "--boot-timeout", "5"])
        var port: UInt16 = 0
        #expect(
            waitUntil(seconds: 60) {
                port =
                    (try? h.ps())?.processes.first { $0.dyno == "web.1" && $0.pid != nil }.map { UInt16($0.port) } ?? 0
                return port != 0
            }, "\(h.watchOutput)")
        _ = try h.scratch.write("squat/page.txt", "squatter\n")
        let squatter = try TestProcess(
            ["/usr/bin/python3", "-m", "http.server", "\(port)", "--bind", "0.0.0.0"], directory: h.scratch.url("squat")
        )
        defer { squatter.terminate(grace: 5) }
        #expect(waitUntil(seconds: 30) { portAcceptsConnections(port, host: "127.0.0.1") })

        #expect(waitUntil(seconds: 60) { (try? h.ps())?.lastDeploy?.status == "failed" }, "\(h.watchOutput)")
        let message = try h.ps().lastDeploy?.message ?? ""
        #expect(message.contains("Error R10"), "\(message)")
        #expect(!h.log().contains("web.1]: State changed from starting to up"), "\(h.log())")
        #expect(h.stopWatch(watcher) == 0)
    }

    @Test func aFailingReleasePhaseKeepsThePreviousRelease() throws {
        let h = try RunnerHarness()
        let out = try h.buildSlug()
        try h.publish(out, version: 1, config: ["PAGE": "v1"])
        let watcher = try h.startWatch()
        let first = try #require(h.waitForRelease(1), "\(h.watchOutput)")
        try h.publish(
            out, version: 2,
            processTypes: [
                "release": "echo 'migration failed' >&2; exit 3", "web": "touch \(h.scratch.url("ran")); ./web.sh",
            ])
        #expect(waitUntil(seconds: 60) { (try? h.ps())?.lastDeploy?.status == "failed" }, "\(h.watchOutput)")
        #expect(try h.ps().lastDeploy?.message.contains("the release command failed (status 3)") == true)
        #expect(h.log().contains("app[release.1]: migration failed"))
        #expect(!h.scratch.exists("ran"), "no process of v2 started")
        #expect(try h.get(first.processes[0]) == "v1\n")
        #expect(h.stopWatch(watcher) == 0)
    }

    @Test func sigtermStopsEveryGroupAndARestartBringsTheAppBackWithWhatArrivedMeanwhile() throws {
        let h = try RunnerHarness()
        let out = try h.buildSlug(procfile: "web: ./web.sh\nworker: sleep 1000 & exec sleep 1000\n")
        try h.publish(out, version: 1, config: ["PAGE": "v1"])
        try h.slugrunner(["scale", "myapp", "worker=1"])
        let watcher = try h.startWatch()
        let before = try #require(h.waitForRelease(1), "\(h.watchOutput)")
        let groups = before.processes.compactMap(\.pid)
        #expect(before.processes.map(\.dyno).sorted() == ["web.1", "worker.1"])

        #expect(h.stopWatch(watcher) == 0, "SIGTERM: exit 0")
        for group in groups { #expect(!processGroupExists(group), "group \(group) is gone") }
        #expect(try h.ps().processes.isEmpty, "without a watcher nothing runs")
        #expect(try h.slugrunner(["ps", "myapp"]).stdout.contains("slugrunner watch is not running"))

        try h.publish(out, version: 2, config: ["PAGE": "v2 arrived while stopped"])
        let again = try h.startWatch()
        let after = try #require(h.waitForRelease(2), "\(h.watchOutput)")
        let web = try #require(after.processes.first { $0.dyno == "web.1" })
        #expect(try h.get(web) == "v2 arrived while stopped\n")
        #expect(h.watchOutput.contains("Restarting v1"))
        #expect(h.stopWatch(again) == 0)
        for process in after.processes { #expect(!processGroupExists(process.pid ?? 0)) }
    }

    @Test func scaleChangesTheRunningFormation() throws {
        let h = try RunnerHarness()
        let out = try h.buildSlug(procfile: "web: ./web.sh\nworker: exec sleep 1000\n")
        try h.publish(out, version: 1, config: ["PAGE": "scaled"])
        let watcher = try h.startWatch()
        _ = try #require(h.waitForRelease(1), "\(h.watchOutput)")

        let scaled = try h.slugrunner(["scale", "myapp", "web=2", "worker=1"])
        #expect(scaled.status == 0 && scaled.stdout == "Scaled myapp to web=2 worker=1\n", "\(scaled.output)")
        var status = try h.ps()
        #expect(
            waitUntil(seconds: 60) {
                guard let now = try? h.ps() else { return false }
                status = now
                return status.processes.map(\.dyno).sorted() == ["web.1", "web.2", "worker.1"]
                    && status.processes.allSatisfy { $0.state == "up" }
            }, "\(h.watchOutput)")
        let webs = status.processes.filter { $0.type == "web" }
        #expect(Set(webs.map(\.port)).count == 2, "each web process has its own port")
        for web in webs { #expect(try h.get(web) == "scaled\n") }

        let web2 = try #require(webs.first { $0.dyno == "web.2" }?.pid)
        #expect(try h.slugrunner(["scale", "myapp", "web=1", "worker=0"]).status == 0)
        #expect(waitUntil(seconds: 60) { (try? h.ps())?.processes.map(\.dyno) == ["web.1"] }, "\(h.watchOutput)")
        #expect(waitUntil(seconds: 60) { !processGroupExists(web2) })
        #expect(try h.slugrunner(["scale", "myapp"]).stdout == "web=1\n")

        let bad = try h.slugrunner(["scale", "myapp", "web=lots"])
        #expect(bad.status == 1 && bad.stderr.contains("'web=lots' is not a valid scale"))
        #expect(h.stopWatch(watcher) == 0)
    }

    @Test func aCrashingProcessRestartsWithBackoffAndACrashLoopIsReported() throws {
        let h = try RunnerHarness()
        let out = try h.buildSlug(procfile: "web: ./web.sh\nworker: echo 'about to crash'; exit 1\n")
        try h.publish(out, version: 1, config: ["PAGE": "v1"])
        try h.slugrunner(["scale", "myapp", "worker=1"])
        let watcher = try h.startWatch(["--restart-delay", "0.05"])
        #expect(
            waitUntil(seconds: 60) { h.log().contains("slugrunner[worker.1]: Crash loop: exited 5 times in a row") },
            "\(h.log())")
        // state.json is written at the end of the pass that logged the line.
        #expect(
            waitUntil(seconds: 10) { (try? h.ps())?.processes.first { $0.dyno == "worker.1" }?.crashLoop == true },
            "\(h.log())")
        let worker = try #require(try h.ps().processes.first { $0.dyno == "worker.1" })
        #expect(worker.restarts >= 4 && worker.crashLoop)
        #expect(h.log().contains("app[worker.1]: about to crash"))
        #expect(h.log().contains("slugrunner[worker.1]: Restarting in 0.1s"), "the delay doubles: 0.05s, then 0.1s")
        let web = try #require(try h.ps().processes.first { $0.dyno == "web.1" })
        #expect(web.state == "up" && web.restarts == 0, "the other processes are not affected")
        #expect(h.stopWatch(watcher) == 0)
    }

    @Test func oneWatcherPerRoot() throws {
        let h = try RunnerHarness()
        let watcher = try h.startWatch()
        #expect(waitUntil(seconds: 60) { h.watchOutput.contains("Watching") })
        let second = try h.slugrunner(["watch", "--router", "none"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("another `slugrunner watch` (pid \(watcher.pid)) is running for \(h.root)"))
        #expect(h.stopWatch(watcher) == 0)
    }
}
