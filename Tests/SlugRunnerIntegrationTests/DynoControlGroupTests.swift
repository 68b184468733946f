import Foundation
import SlipwaySpool
import SlipwayTestSupport
import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a dyno sees of the host's control groups (issue 31): `/sys/fs/cgroup` listed every app's name, dyno ids and
/// memory. Now only its own group is there, where a container finds its own.
@Suite(
    .serialized,
    .enabled(
        if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")
            && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        "needs root, bubblewrap and the cgroup v1 memory controller"))
struct DynoControlGroupTests {
    /// `groups.sh`: whether the dyno finds the other dyno's group, or Slipway's folder of every app's groups, under
    /// `/sys/fs/cgroup` (looking for a while, as the other dyno may start later), and its own memory limit.
    static let probe = """
        #!/usr/bin/env bash
        other=web.2; [ "$DYNO" = web.2 ] && other=web.1
        seen=no
        for _ in $(seq 1 40); do
            ls -R /sys/fs/cgroup 2>/dev/null | grep -q -e "$other-" -e slipway && seen=yes
            sleep 0.25
        done
        echo "probe $DYNO other-groups $seen"
        echo "probe $DYNO memory-limit $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>&1)"
        if (echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes) 2>/dev/null; then w=allowed; else w=refused; fi
        echo "probe $DYNO write-limit $w"
        """

    @Test func aDynoSeesItsOwnControlGroupOnly() throws {
        let h = try RunnerHarness("cgroups")
        let out = try h.buildSlug(files: ["groups.sh": Self.probe], procfile: "web: ./groups.sh & exec ./web.sh\n")
        try h.publish(out, version: 1, config: ["PAGE": "groups"])
        try h.slugrunner(["scale", "myapp", "web=2"])
        let watcher = try h.startWatch()
        #expect(h.waitForRelease(1) != nil, "\(h.watchOutput)")
        #expect(
            waitUntil(seconds: 60) {
                h.log().contains("probe web.1 write-limit") && h.log().contains("probe web.2 write-limit")
            }, "\(h.log())")
        let log = h.log()
        for dyno in ["web.1", "web.2"] {
            #expect(log.contains("probe \(dyno) other-groups no"), "\(dyno): \(log)")
            #expect(log.contains("probe \(dyno) memory-limit \(512 << 20)"), "\(dyno): its own limit, \(log)")
            #expect(log.contains("probe \(dyno) write-limit refused"), "\(dyno): \(log)")
        }
        #expect(h.stopWatch(watcher) == 0)
    }
}
