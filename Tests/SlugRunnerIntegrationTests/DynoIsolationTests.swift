import Foundation
import SlipwaySpool
import SlipwayTestSupport
import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Dynos run isolated and limited (needs root, bubblewrap and a memory controller, as this project's machines have).
@Suite(
    .serialized,
    .enabled(
        if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")
            && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        "needs root, bubblewrap and the cgroup v1 memory controller"))
struct DynoIsolationTests {
    /// `probe.sh`: says what a dyno can and cannot do, one `probe <dyno> <check> <answer>` line each; `$R` is the
    /// server's root, which the dyno must not see.
    static let probe = """
        #!/usr/bin/env bash
        check() {
            local name=$1; shift
            if "$@" >/dev/null 2>&1; then echo "probe $DYNO $name allowed"; else echo "probe $DYNO $name refused"; fi
        }
        if [ -e "/app/mark-$DYNO" ]; then echo "probe $DYNO leftover yes"; else echo "probe $DYNO leftover no"; fi
        echo "$DYNO" > "/app/mark-$DYNO"
        check read-config cat "$R/apps/other/config.json"
        check read-slug cat "$R/apps/other/slugs/0123.tgz"
        check read-repository cat "$R/apps/other/repo.git/HEAD"
        check read-host-key cat "$R/ssh_host_ed25519_key"
        check read-authorized-keys cat "$R/authorized_keys"
        check read-spool ls "$R/spool/cur"
        check write-etc touch "/etc/probe-$DYNO"
        check write-usr touch "/usr/probe-$DYNO"
        check write-root touch "/probe-$DYNO"
        check write-var touch "/var/probe-$DYNO"
        check write-app touch "/app/probe-$DYNO"
        check write-tmp touch "/tmp/probe-$DYNO"
        check list-host-interfaces test -n "$(ls /sys/class/net)"
        check read-firmware test -n "$(ls /sys/firmware)"
        echo "probe $DYNO uid $(id -u) home $HOME"
        other=web.2; [ "$DYNO" = web.2 ] && other=web.1
        processes=no; files=no
        for _ in $(seq 1 30); do
            grep -qsa "DYNO=$other" /proc/[0-9]*/environ && processes=yes
            [ -e "/app/mark-$other" ] && files=yes
            sleep 0.25
        done
        echo "probe $DYNO other-processes $processes"
        echo "probe $DYNO other-files $files"
        """

    @Test func aDynoSeesOnlyItsOwnCopyAndProcessesAsItsAppsUser() throws {
        let h = try RunnerHarness("isolation")
        for (path, text) in [
            "apps/other/config.json": "{\"DATABASE_URL\": \"secret\"}", "apps/other/slugs/0123.tgz": "slug",
            "apps/other/repo.git/HEAD": "ref: refs/heads/main", "ssh_host_ed25519_key": "key",
            "authorized_keys": "ssh-ed25519 AAAA",
        ] {
            _ = try h.scratch.write("root/\(path)", text)
        }
        let out = try h.buildSlug(
            files: ["probe.sh": Self.probe], procfile: "web: ./probe.sh & exec ./web.sh\n")
        try h.publish(out, version: 1, config: ["PAGE": "isolated", "R": h.root])
        try h.slugrunner(["scale", "myapp", "web=2"])
        let watcher = try h.startWatch()
        #expect(h.waitForRelease(1) != nil, "\(h.watchOutput)")
        #expect(
            waitUntil(seconds: 60) {
                h.log().contains("probe web.1 other-files") && h.log().contains("probe web.2 other-files")
            }, "\(h.log())")
        let log = h.log()
        for dyno in ["web.1", "web.2"] {
            for check in [
                "read-config", "read-slug", "read-repository", "read-host-key", "read-authorized-keys", "read-spool",
                "write-etc", "write-usr", "write-root", "write-var", "list-host-interfaces", "read-firmware",
            ] {
                #expect(log.contains("probe \(dyno) \(check) refused"), "\(dyno) \(check)")
            }
            #expect(log.contains("probe \(dyno) write-app allowed") && log.contains("probe \(dyno) write-tmp allowed"))
            #expect(log.contains("probe \(dyno) other-processes no"), "its own PID namespace")
            #expect(log.contains("probe \(dyno) other-files no"), "its own copy of the release")
        }
        let uid = try #require(Self.uid(in: log, of: "web.1"))
        #expect(uid != 0 && uid != getuid() && (600_000...699_999).contains(uid), "uid \(uid)")
        #expect(Self.uid(in: log, of: "web.2") == uid, "one user per app")
        #expect(log.contains("home /app"))
        let uids = try String(contentsOfFile: "\(h.root)/runner/uids.json", encoding: .utf8)
        #expect(uids.contains("\"myapp\" : \(uid)"), "\(uids)")

        // A restart gets a fresh copy: what web.1 wrote is gone.
        let web1 = try #require(try h.ps().processes.first { $0.dyno == "web.1" }?.pid)
        kill(-web1, SIGKILL)
        #expect(
            waitUntil(seconds: 60) { h.log().components(separatedBy: "probe web.1 leftover").count == 3 },
            "\(h.log())")
        #expect(!h.log().contains("leftover yes"))

        // So does `ps:restart` (the door raises the restart counter in dynos.json).
        let settings = RootLayout(h.root).dynoSettings("myapp")
        try FileManager.default.createDirectory(
            atPath: (settings as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try DynoSettings.load(from: settings).restarting(["web"]).save(to: settings)
        #expect(
            waitUntil(seconds: 60) { h.log().components(separatedBy: "probe web.1 leftover").count == 4 },
            "\(h.log())")
        #expect(h.log().contains("Restarting web.1, web.2 (restart asked for)"), "\(h.log())")
        #expect(!h.log().contains("leftover yes"))

        // Each dyno start's copy and control group share a name (`web.1-<id>`); other suites' "myapp" dynos may be
        // running under the same app group meanwhile, so only this watcher's are checked.
        let dynos = "\(h.root)/runner/dynos/myapp"
        let ours = Set((try? FileManager.default.contentsOfDirectory(atPath: dynos)) ?? [])
        #expect(!ours.isEmpty)
        #expect(h.stopWatch(watcher) == 0)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: dynos)) ?? []).isEmpty, "copies removed")
        let groups = Set((try? FileManager.default.contentsOfDirectory(atPath: Self.memoryGroups("myapp"))) ?? [])
        #expect(groups.isDisjoint(with: ours), "control groups removed: \(groups.intersection(ours))")
    }

    /// The path a user found shared (issue 29): web.1 starts with the deploy and writes into its `/app`; web.2,
    /// added later by a scale, must not see it.
    @Test func aDynoAddedByAScaleAfterTheDeployGetsItsOwnCopyToo() throws {
        let h = try RunnerHarness("isolation-scale")
        let out = try h.buildSlug(files: ["probe.sh": Self.probe], procfile: "web: ./probe.sh & exec ./web.sh\n")
        try h.publish(out, version: 1, config: ["PAGE": "isolated", "R": h.root])
        let watcher = try h.startWatch()
        #expect(h.waitForRelease(1) != nil, "\(h.watchOutput)")
        #expect(waitUntil(seconds: 60) { h.log().contains("probe web.1 uid") }, "web.1 wrote its mark: \(h.log())")
        try h.slugrunner(["scale", "myapp", "web=2"])
        #expect(
            waitUntil(seconds: 60) { h.log().contains("probe web.2 other-files") }, "\(h.log())")
        #expect(h.log().contains("probe web.2 leftover no"), "\(h.log())")
        #expect(h.log().contains("probe web.2 other-files no"), "web.2 sees web.1's mark: \(h.log())")
        #expect(h.stopWatch(watcher) == 0)
    }

    @Test func aDynoPastItsMemoryIsKilledAndRestartedAloneWithR15() throws {
        let h = try RunnerHarness("memory")
        let hog = """
            import time
            print("allocating", flush=True)
            chunks = []
            while True:
                chunks.append(b"x" * (4 << 20))
                time.sleep(0.02)
            """
        let out = try h.buildSlug(files: ["hog.py": hog], procfile: "web: ./web.sh\nhog: python3 -u hog.py\n")
        try h.publish(out, version: 1, config: ["PAGE": "still serving"])
        try h.slugrunner(["scale", "myapp", "web=1", "hog=1"])
        try FileManager.default.createDirectory(atPath: "\(h.root)/apps/myapp", withIntermediateDirectories: true)
        try DynoSettings(formation: ["hog": .init(quantity: 1, memoryMB: 64)]).save(
            to: "\(h.root)/apps/myapp/dynos.json")
        let watcher = try h.startWatch()
        let first = try #require(h.waitForRelease(1), "\(h.watchOutput)")
        let web = try #require(first.processes.first { $0.dyno == "web.1" })
        #expect(
            waitUntil(seconds: 60) {
                h.log().contains("slugrunner[hog.1]: Error R15 (Memory quota vastly exceeded)")
                    && ((try? h.ps())?.processes.first { $0.dyno == "hog.1" }?.restarts ?? 0) >= 1
            }, "\(h.log())")
        #expect(h.log().contains("slugrunner[hog.1]: Process running mem="))
        let now = try h.ps()
        #expect(now.processes.first { $0.dyno == "web.1" }?.pid == web.pid, "the other dyno kept running")
        #expect(try h.get(web) == "still serving\n")
        #expect(watcher.isRunning)
        #expect(h.stopWatch(watcher) == 0)
    }

    /// The memory controller's folder of `app`'s dynos below this process's group (the watcher's too).
    static func memoryGroups(_ app: String) -> String {
        let lines = ((try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)) ?? "").split(separator: "\n")
        let path = lines.first { $0.contains(":memory:") }.map { String($0.split(separator: ":")[2]) } ?? "/"
        return "/sys/fs/cgroup/memory\(path == "/" ? "" : path)/slipway/\(app)"
    }

    /// The uid `dyno` printed.
    static func uid(in log: String, of dyno: String) -> uid_t? {
        guard let line = log.split(separator: "\n").first(where: { $0.contains("probe \(dyno) uid ") }),
            let range = line.range(of: "probe \(dyno) uid ")
        else { return nil }
        return uid_t(line[range.upperBound...].prefix { $0.isNumber })
    }
}
